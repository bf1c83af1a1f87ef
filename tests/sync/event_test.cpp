// Description: kio::Event — manual/auto reset, FIFO wake-up via the ready queue, cancellation
// while waiting (with_cancel, timeout), destruction with waiters, no allocation per wait.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <vector>

#include "alloc_counter.hpp"
#include "co_assert.hpp"
#include "kio/kio.hpp"
#include "kio/sync/event.hpp"
#include "one_worker.hpp"

using namespace std::chrono_literals;

namespace {

using kio_test::rt;

kio::Task<void> waiter(kio::Event& ev, int id, std::vector<int>& order,
                       std::vector<std::error_code>& errors) {
  auto r = co_await ev.wait();
  order.push_back(id);
  errors.push_back(r.error());
}

TEST(Event, ManualResetWakesAllAndStaysSet) {
  auto body = []() -> kio::Task<void> {
    kio::Event ev;
    std::vector<int> order;
    std::vector<std::error_code> errors;
    for (int i = 0; i < 3; ++i)
      kio::spawn(waiter(ev, i, order, errors));
    co_await kio::yield();  // let them block
    EXPECT_EQ(ev.waiters(), 3u);
    EXPECT_TRUE(order.empty());
    ev.set();
    EXPECT_TRUE(order.empty()) << "set() must not resume waiters inline";
    EXPECT_EQ(ev.waiters(), 0u);
    co_await kio::yield();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
    for (auto e : errors)
      EXPECT_FALSE(e);
    EXPECT_TRUE(ev.is_set());
    EXPECT_TRUE(co_await ev.wait());  // set: completes at once
    EXPECT_TRUE(ev.is_set());
    ev.reset();
    EXPECT_FALSE(ev.is_set());
  };
  rt().block_on(body());
}

TEST(Event, AutoResetWakesOneAtATimeInFifoOrder) {
  auto body = []() -> kio::Task<void> {
    kio::Event ev(kio::EventMode::auto_reset);
    std::vector<int> order;
    std::vector<std::error_code> errors;
    for (int i = 0; i < 4; ++i)
      kio::spawn(waiter(ev, i, order, errors));
    co_await kio::yield();
    EXPECT_EQ(ev.waiters(), 4u);
    for (int round = 0; round < 4; ++round) {
      ev.set();
      EXPECT_FALSE(ev.is_set()) << "handed to a waiter, not left set";
      co_await kio::yield();
      EXPECT_EQ(order.size(), static_cast<std::size_t>(round + 1));
    }
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
    // No waiter: set() is remembered once, consumed by the next wait.
    ev.set();
    ev.set();
    EXPECT_TRUE(ev.is_set());
    EXPECT_TRUE(co_await ev.wait());
    EXPECT_FALSE(ev.is_set());
  };
  rt().block_on(body());
}

TEST(Event, InitiallySet) {
  auto body = []() -> kio::Task<void> {
    kio::Event ev(kio::EventMode::auto_reset, true);
    EXPECT_TRUE(co_await ev.wait());
    EXPECT_FALSE(ev.is_set());
  };
  rt().block_on(body());
}

TEST(Event, CancelWhileWaitingWithCancel) {
  auto body = []() -> kio::Task<void> {
    kio::Event ev(kio::EventMode::auto_reset);
    kio::CancelSource src;
    std::vector<int> order;
    std::vector<std::error_code> errors;
    auto wrapped = [](kio::CancelToken t, kio::Event& e, std::vector<int>& o,
                      std::vector<std::error_code>& er) -> kio::Task<void> {
      co_await kio::with_cancel(t, waiter(e, 7, o, er));
    };
    kio::spawn(wrapped(src.token(), ev, order, errors));
    co_await kio::yield();
    EXPECT_EQ(ev.waiters(), 1u);
    src.request_cancel();
    EXPECT_EQ(ev.waiters(), 0u) << "a cancelled waiter leaves the queue at once";
    co_await kio::yield();
    CO_ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0], std::errc::operation_canceled);
    // The cancelled waiter did not consume the next set().
    ev.set();
    EXPECT_TRUE(ev.is_set());
  };
  rt().block_on(body());
}

TEST(Event, AlreadyCancelledTokenFailsAWaitThatWouldSuspend) {
  auto body = []() -> kio::Task<void> {
    kio::Event ev;
    kio::CancelSource src;
    src.request_cancel();
    auto r = co_await kio::with_cancel(src.token(), ev.wait());
    EXPECT_EQ(r.error(), std::errc::operation_canceled);
    EXPECT_EQ(ev.waiters(), 0u);
    ev.set();  // a set event needs no wait: succeeds even under a cancelled token
    EXPECT_TRUE(co_await kio::with_cancel(src.token(), ev.wait()));
  };
  rt().block_on(body());
}

TEST(Event, TimeoutWhileWaiting) {
  auto body = []() -> kio::Task<void> {
    kio::Event ev;
    kio::Result<void> r = co_await kio::timeout(5ms, ev.wait());
    CO_ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), std::errc::timed_out);
    EXPECT_EQ(ev.waiters(), 0u);
    ev.set();
    EXPECT_TRUE(co_await kio::timeout(10s, ev.wait()));
  };
  rt().block_on(body());
}

TEST(Event, SetBeforeCancelKeepsSuccess) {
  auto body = []() -> kio::Task<void> {
    kio::Event ev;
    kio::CancelSource src;
    std::vector<int> order;
    std::vector<std::error_code> errors;
    auto wrapped = [](kio::CancelToken t, kio::Event& e, std::vector<int>& o,
                      std::vector<std::error_code>& er) -> kio::Task<void> {
      co_await kio::with_cancel(t, waiter(e, 1, o, er));
    };
    kio::spawn(wrapped(src.token(), ev, order, errors));
    co_await kio::yield();
    ev.set();              // woken (queued) ...
    src.request_cancel();  // ... then cancelled before it ran: the wake-up wins
    co_await kio::yield();
    CO_ASSERT_EQ(errors.size(), 1u);
    EXPECT_FALSE(errors[0]);
  };
  rt().block_on(body());
}

TEST(Event, DestroyedWithWaitersWakesThemWithBrokenPipe) {
  auto body = []() -> kio::Task<void> {
    std::vector<int> order;
    std::vector<std::error_code> errors;
    {
      kio::Event ev;
      kio::spawn(waiter(ev, 1, order, errors));
      kio::spawn(waiter(ev, 2, order, errors));
      co_await kio::yield();
      EXPECT_EQ(ev.waiters(), 2u);
    }
    co_await kio::yield();
    CO_ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0], std::errc::broken_pipe);
    EXPECT_EQ(errors[1], std::errc::broken_pipe);
  };
  rt().block_on(body());
}

// Ichor-style ping-pong: two tasks alternate through two auto-reset events.
kio::Task<void> pinger(kio::Event& ping, kio::Event& pong, int n, long& count) {
  for (int i = 0; i < n; ++i) {
    ping.set();
    if (!co_await pong.wait()) co_return;
    ++count;
  }
}
kio::Task<void> ponger(kio::Event& ping, kio::Event& pong, int n, long& count) {
  for (int i = 0; i < n; ++i) {
    if (!co_await ping.wait()) co_return;
    ++count;
    pong.set();
  }
}

kio::Task<long> ping_pong(int n) {
  kio::Event ping(kio::EventMode::auto_reset), pong(kio::EventMode::auto_reset);
  long a = 0, b = 0;
  kio::Event done;
  auto run = [](kio::Task<void> t, kio::Event& d) -> kio::Task<void> {
    co_await std::move(t);
    d.set();
  };
  kio::spawn(run(ponger(ping, pong, n, b), done));
  co_await pinger(ping, pong, n, a);
  co_await done.wait();
  co_return a + b;
}

TEST(Event, PingPongDoesNotAllocatePerWait) {
  EXPECT_EQ(rt().block_on(ping_pong(1000)), 2000);  // warm-up: pools and queues sized
  auto measure = []() -> kio::Task<long> {
    long before = g_news.load();
    long total = co_await ping_pong(100'000);
    long after = g_news.load();
    EXPECT_EQ(total, 200'000);
    co_return after - before;
  };
  EXPECT_EQ(rt().block_on(measure()), 0) << "global allocations during 200,000 waits";
}

}  // namespace
