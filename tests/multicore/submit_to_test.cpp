// Description: submit_to between cores: round trips of values, exceptions, tasks and void, the
// same-core fast path, and a burst through tiny rings (backpressure, nothing lost).
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>

#include "kio/kio.hpp"
#include "sanitizers.hpp"

namespace {

// TSan makes every cross-core round trip an order of magnitude slower: fewer of them there.
constexpr int scale = kio_test::under_tsan ? 10 : 1;

// Idle workers sleep in the kernel and are woken by MSG_RING (the default), or busy-poll their
// mail for a while first (idle_spin). Both paths are exercised below.
kio::RuntimeOptions two_cores(unsigned mailbox = 256,
                              std::chrono::microseconds spin = std::chrono::microseconds(0)) {
  return kio::RuntimeOptions{
      .workers = 2, .oversubscribe = true, .mailbox_capacity = mailbox, .idle_spin = spin};
}

TEST(SubmitTo, HundredThousandRoundTripsPolling) {
  kio::Runtime rt(two_cores(256, std::chrono::microseconds(100)));
  auto body = []() -> kio::Task<long> {
    long sum = 0;
    for (int i = 0; i < 100'000 / scale; ++i)
      sum += co_await kio::submit_to(1, [i] { return kio::this_core() == 1 ? i : -1'000'000; });
    co_return sum;
  };
  constexpr long n = 100'000 / scale;
  EXPECT_EQ(rt.block_on(body()), n * (n - 1) / 2);
}

// The default: an idle core sleeps in io_uring_enter and each request has to wake it.
TEST(SubmitTo, WakesASleepingCore) {
  kio::Runtime rt(two_cores());
  auto body = []() -> kio::Task<long> {
    long sum = 0;
    for (int i = 0; i < 2'000 / scale; ++i) {
      sum += co_await kio::submit_to(1, [] { return 1; });
      sum += co_await kio::submit_to(1, []() -> kio::Task<int> {
        co_await kio::sleep_for(std::chrono::microseconds(10));  // core 1 sleeps on a timer
        co_return 1;
      });
    }
    co_return sum;
  };
  EXPECT_EQ(rt.block_on(body()), 2 * (2'000 / scale));
}

TEST(SubmitTo, ExceptionsComeBack) {
  kio::Runtime rt(two_cores(256, std::chrono::microseconds(100)));
  auto body = []() -> kio::Task<int> {
    int caught = 0;
    for (int i = 0; i < 10'000 / scale; ++i) {
      try {
        co_await kio::submit_to(1, [i]() -> int {
          if (i % 2) throw std::runtime_error("odd " + std::to_string(i));
          return i;
        });
      } catch (const std::runtime_error& e) {
        if (std::string(e.what()).rfind("odd ", 0) == 0) ++caught;
      }
    }
    co_return caught;
  };
  EXPECT_EQ(rt.block_on(body()), 5'000 / scale);
}

TEST(SubmitTo, TaskRunsOnTargetAndMayAwait) {
  kio::Runtime rt(two_cores());
  auto body = []() -> kio::Task<std::string> {
    co_return co_await kio::submit_to(1, []() -> kio::Task<std::string> {
      co_await kio::sleep_for(std::chrono::milliseconds(1));
      co_return "ran on " + std::to_string(kio::this_core());
    });
  };
  EXPECT_EQ(rt.block_on(body()), "ran on 1");
}

TEST(SubmitTo, TaskExceptionComesBack) {
  kio::Runtime rt(two_cores());
  auto body = []() -> kio::Task<void> {
    co_await kio::submit_to(1, []() -> kio::Task<void> {
      co_await kio::yield();
      throw std::logic_error("from core 1");
    });
  };
  EXPECT_THROW(rt.block_on(body()), std::logic_error);
}

TEST(SubmitTo, VoidFunction) {
  kio::Runtime rt(two_cores());
  auto body = []() -> kio::Task<int> {
    int where = -1;
    co_await kio::submit_to(1, [&where] { where = static_cast<int>(kio::this_core()); });
    co_return where;
  };
  EXPECT_EQ(rt.block_on(body()), 1);
}

TEST(SubmitTo, SameCoreRunsInPlace) {
  kio::Runtime rt(two_cores());
  auto body = []() -> kio::Task<int> {
    int a = co_await kio::submit_to(0, [] { return 7; });
    int b = co_await kio::submit_to(0, []() -> kio::Task<int> { co_return 8; });
    co_return a + b;
  };
  EXPECT_EQ(rt.block_on(body()), 15);
}

TEST(SubmitTo, NoSuchCoreThrows) {
  kio::Runtime rt(two_cores());
  auto body = []() -> kio::Task<void> { (void)co_await kio::submit_to(9, [] { return 1; }); };
  EXPECT_THROW(rt.block_on(body()), std::out_of_range);
}

// 1,000 concurrent tasks on core 0, each doing 100 round trips to core 1, through rings of 2
// slots: requests and replies queue behind full rings; every one must come back.
TEST(SubmitTo, BurstThroughTinyRingsLosesNothing) {
  kio::Runtime rt(two_cores(2, std::chrono::microseconds(100)));
  auto body = []() -> kio::Task<long> {
    long sum = 0;
    int done = 0;
    auto client = [](long& sum, int& done) -> kio::Task<void> {
      for (int i = 0; i < 100 / scale; ++i)
        sum += co_await kio::submit_to(1, [] { return 1; });
      ++done;
    };
    for (int i = 0; i < 1'000; ++i)
      kio::spawn(client(sum, done));
    while (done < 1'000)
      co_await kio::sleep_for(std::chrono::milliseconds(1));
    co_return sum;
  };
  EXPECT_EQ(rt.block_on(body()), 100'000 / scale);
}

// Both cores call each other at the same time (a reply must never wait behind a request).
TEST(SubmitTo, CrossingTrafficDoesNotDeadlock) {
  kio::Runtime rt(two_cores(2));
  auto body = []() -> kio::Task<long> {
    std::atomic<long> total{0};
    std::atomic<int> done{0};
    auto client = [](unsigned peer, std::atomic<long>& total,
                     std::atomic<int>& done) -> kio::Task<void> {
      for (int i = 0; i < 500 / scale; ++i)
        total += co_await kio::submit_to(peer, [] { return 1L; });
      ++done;
    };
    for (int i = 0; i < 20; ++i) {
      kio::spawn(client(1, total, done));
      co_await kio::spawn_on(1, client(0, total, done));
    }
    while (done.load() < 40)
      co_await kio::sleep_for(std::chrono::milliseconds(1));
    co_return total.load();
  };
  EXPECT_EQ(rt.block_on(body()), 40L * (500 / scale));
}

}  // namespace
