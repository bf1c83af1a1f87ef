// Description: sleep_for/sleep_until ordering, loose accuracy bounds and cancellation.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "co_assert.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/kio.hpp"
#include "one_worker.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

using kio_test::rt;

kio::Task<void> sleeper(std::chrono::milliseconds d, std::vector<int>& order, int id, int& done) {
  co_await kio::sleep_for(d);
  order.push_back(id);
  ++done;
}

kio::Task<void> sleeper_until(Clock::time_point t, std::vector<int>& order, int id, int& done) {
  co_await kio::sleep_until(t);
  order.push_back(id);
  ++done;
}

kio::Task<void> wait_until_done(int& done, int expected) {
  while (done < expected)
    co_await kio::sleep_for(1ms);
}

TEST(Sleep, WakesInDeadlineOrder) {
  auto body = []() -> kio::Task<std::vector<int>> {
    std::vector<int> order;
    int done = 0;
    kio::spawn(sleeper(60ms, order, 3, done));
    kio::spawn(sleeper(20ms, order, 1, done));
    kio::spawn(sleeper(40ms, order, 2, done));
    co_await wait_until_done(done, 3);
    co_return order;
  };
  EXPECT_EQ(rt().block_on(body()), (std::vector<int>{1, 2, 3}));
}

TEST(Sleep, ManyTimersFireSorted) {
  auto body = []() -> kio::Task<bool> {
    std::mt19937 rng(42);
    std::vector<int> order;
    int done = 0;
    constexpr int n = 2000;
    // Every timer is registered long before the first deadline, so they must fire sorted.
    const auto base = Clock::now() + 300ms;
    for (int i = 0; i < n; ++i) {
      const int delay = static_cast<int>(rng() % 50);
      kio::spawn(sleeper_until(base + std::chrono::milliseconds(delay), order, delay, done));
    }
    co_await wait_until_done(done, n);
    co_return std::is_sorted(order.begin(), order.end()) && order.size() == n;
  };
  EXPECT_TRUE(rt().block_on(body()));
}

TEST(Sleep, NeverWakesEarlyAndNotFarLate) {
  auto body = []() -> kio::Task<Clock::duration> {
    auto t0 = Clock::now();
    auto r = co_await kio::sleep_for(30ms);
    EXPECT_TRUE(r);
    co_return Clock::now() - t0;
  };
  auto elapsed = rt().block_on(body());
  EXPECT_GE(elapsed, 30ms);
  EXPECT_LT(elapsed, 30ms + 2s);  // loose: CI machines can be slow, never flaky
}

// Executor::turn_time: one clock reading per loop turn, read again after the loop waited.
TEST(Sleep, TurnTimeIsReadOncePerTurnAndAfterEveryWait) {
  auto body = []() -> kio::Task<void> {
    kio::detail::Executor& ex = kio::detail::this_executor("test");
    const auto before = Clock::now();
    const auto t1 = ex.turn_time();
    std::this_thread::sleep_for(2ms);  // (blocks the worker: time passes within the turn)
    EXPECT_EQ(ex.turn_time(), t1);     // the same turn: the same reading, however long it runs
    EXPECT_LE(t1, Clock::now());
    // The loop sleeps in the kernel, with no timer due, until a thread writes to a pipe.
    int fds[2];
    CO_ASSERT(::pipe(fds) == 0);
    std::thread writer([w = fds[1]] {
      std::this_thread::sleep_for(20ms);
      EXPECT_EQ(::write(w, "x", 1), 1);
    });
    std::byte got[1];
    auto n = co_await kio::read(fds[0], got);
    writer.join();
    ::close(fds[0]);
    ::close(fds[1]);
    EXPECT_TRUE(n && *n == 1);
    const auto t2 = ex.turn_time();
    EXPECT_GE(t2 - before, 20ms);  // a fresh reading, not the one from before the wait
    EXPECT_LE(t2, Clock::now());
  };
  rt().block_on(body());
}

TEST(Sleep, SleepUntilPastDeadlineStillYields) {
  auto body = []() -> kio::Task<int> {
    int other = 0;
    auto bump = [](int& x) -> kio::Task<void> {
      ++x;
      co_return;
    };
    kio::spawn(bump(other));
    auto r = co_await kio::sleep_until(Clock::now() - 1s);
    EXPECT_TRUE(r);
    co_return other;  // the spawned task ran while we were suspended
  };
  EXPECT_EQ(rt().block_on(body()), 1);
}

TEST(Sleep, CancelledSleepEndsEarlyWithOperationCanceled) {
  auto body = []() -> kio::Task<bool> {
    kio::CancelSource src;
    auto canceller = [](kio::CancelSource& s) -> kio::Task<void> {
      co_await kio::sleep_for(10ms);
      s.request_cancel();
    };
    kio::spawn(canceller(src));
    auto t0 = Clock::now();
    auto r = co_await kio::with_cancel(src.token(), kio::sleep_for(30s));
    EXPECT_LT(Clock::now() - t0, 10s);
    co_return !r && r.error() == std::errc::operation_canceled;
  };
  EXPECT_TRUE(rt().block_on(body()));
}

TEST(Sleep, AlreadyCancelledTokenDoesNotSleep) {
  auto body = []() -> kio::Task<bool> {
    kio::CancelSource src;
    src.request_cancel();
    auto r = co_await kio::with_cancel(src.token(), kio::sleep_for(30s));
    co_return !r && r.error() == std::errc::operation_canceled;
  };
  EXPECT_TRUE(rt().block_on(body()));
}

}  // namespace
