// Description: kio::Semaphore — counting, strict FIFO hand-off, try_acquire, cancellation while
// waiting (with_cancel, timeout), destruction with waiters.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "co_assert.hpp"
#include "kio/kio.hpp"
#include "kio/sync/semaphore.hpp"
#include "one_worker.hpp"

using namespace std::chrono_literals;

namespace {

using kio_test::rt;

kio::Task<void> acquirer(kio::Semaphore& s, int id, std::vector<int>& order,
                         std::vector<std::error_code>& errors) {
  auto r = co_await s.acquire();
  order.push_back(id);
  errors.push_back(r.error());
}

TEST(Semaphore, CountsUnits) {
  auto body = []() -> kio::Task<void> {
    kio::Semaphore s(2);
    EXPECT_TRUE(co_await s.acquire());
    EXPECT_TRUE(s.try_acquire());
    EXPECT_EQ(s.available(), 0u);
    EXPECT_FALSE(s.try_acquire());
    s.release(2);
    EXPECT_EQ(s.available(), 2u);
  };
  rt().block_on(body());
}

TEST(Semaphore, FifoHandOff) {
  auto body = []() -> kio::Task<void> {
    kio::Semaphore s(0);
    std::vector<int> order;
    std::vector<std::error_code> errors;
    for (int i = 0; i < 5; ++i)
      kio::spawn(acquirer(s, i, order, errors));
    co_await kio::yield();
    EXPECT_EQ(s.waiters(), 5u);
    s.release();
    EXPECT_EQ(s.available(), 0u) << "the unit goes to the oldest waiter, not the count";
    EXPECT_FALSE(s.try_acquire()) << "try_acquire must not barge ahead of waiters";
    EXPECT_TRUE(order.empty()) << "release() must not resume inline";
    co_await kio::yield();
    EXPECT_EQ(order, (std::vector<int>{0}));
    s.release(3);  // 1, 2, 3
    co_await kio::yield();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
    s.release(2);  // 4, and one unit left over
    co_await kio::yield();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_EQ(s.available(), 1u);
    for (auto e : errors)
      EXPECT_FALSE(e);
  };
  rt().block_on(body());
}

TEST(Semaphore, LateArrivalQueuesBehindWokenWaiters) {
  auto body = []() -> kio::Task<void> {
    kio::Semaphore s(0);
    std::vector<int> order;
    std::vector<std::error_code> errors;
    kio::spawn(acquirer(s, 1, order, errors));
    kio::spawn(acquirer(s, 2, order, errors));
    co_await kio::yield();
    s.release();
    kio::spawn(acquirer(s, 3, order, errors));  // arrives after the hand-off to 1
    s.release();
    co_await kio::yield();
    co_await kio::yield();
    EXPECT_EQ(order, (std::vector<int>{1, 2}));
    EXPECT_EQ(s.waiters(), 1u);
    s.release();
    co_await kio::yield();
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  };
  rt().block_on(body());
}

TEST(Semaphore, CancelledWaiterLeavesQueueAndTakesNoUnit) {
  auto body = []() -> kio::Task<void> {
    kio::Semaphore s(0);
    kio::CancelSource src;
    std::vector<int> order;
    std::vector<std::error_code> errors;
    auto wrapped = [](kio::CancelToken t, kio::Semaphore& sem, std::vector<int>& o,
                      std::vector<std::error_code>& e) -> kio::Task<void> {
      co_await kio::with_cancel(t, acquirer(sem, 1, o, e));
    };
    kio::spawn(wrapped(src.token(), s, order, errors));
    kio::spawn(acquirer(s, 2, order, errors));
    co_await kio::yield();
    EXPECT_EQ(s.waiters(), 2u);
    src.request_cancel();
    EXPECT_EQ(s.waiters(), 1u);
    s.release();  // must go to 2, not to the cancelled 1
    co_await kio::yield();
    CO_ASSERT_EQ(order.size(), 2u);
    EXPECT_EQ(order[0], 1);
    EXPECT_EQ(errors[0], std::errc::operation_canceled);
    EXPECT_EQ(order[1], 2);
    EXPECT_FALSE(errors[1]);
    EXPECT_EQ(s.available(), 0u);
  };
  rt().block_on(body());
}

TEST(Semaphore, TimeoutWhileWaiting) {
  auto body = []() -> kio::Task<void> {
    kio::Semaphore s(0);
    auto r = co_await kio::timeout(5ms, s.acquire());
    CO_ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), std::errc::timed_out);
    EXPECT_EQ(s.waiters(), 0u);
    s.release();
    EXPECT_EQ(s.available(), 1u) << "the timed-out waiter must not have taken the unit";
  };
  rt().block_on(body());
}

TEST(Semaphore, DestroyedWithWaitersWakesThemWithBrokenPipe) {
  auto body = []() -> kio::Task<void> {
    std::vector<int> order;
    std::vector<std::error_code> errors;
    {
      kio::Semaphore s(0);
      kio::spawn(acquirer(s, 1, order, errors));
      co_await kio::yield();
    }
    co_await kio::yield();
    CO_ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0], std::errc::broken_pipe);
  };
  rt().block_on(body());
}

}  // namespace
