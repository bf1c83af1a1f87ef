// Description: kio::Mutex — exclusion across suspension points, FIFO hand-off, MutexLock RAII,
// try_lock, cancellation while waiting (with_cancel, timeout).
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "co_assert.hpp"
#include "kio/kio.hpp"
#include "kio/sync/mutex.hpp"
#include "one_worker.hpp"

using namespace std::chrono_literals;

namespace {

using kio_test::rt;

// Increments `inside` while holding the lock and yields in the middle of the critical section.
kio::Task<void> worker(kio::Mutex& m, int id, int& inside, int& max_inside,
                       std::vector<int>& order) {
  auto lock = co_await m.lock();
  if (!lock) co_return;
  order.push_back(id);
  ++inside;
  if (inside > max_inside) max_inside = inside;
  co_await kio::yield();
  co_await kio::yield();
  --inside;
}

TEST(Mutex, ExcludesAcrossSuspensionPointsInFifoOrder) {
  auto body = []() -> kio::Task<void> {
    kio::Mutex m;
    int inside = 0, max_inside = 0;
    std::vector<int> order;
    {
      auto held = co_await m.lock();  // hold it so all workers queue up in spawn order
      CO_ASSERT_TRUE(held);
      for (int i = 0; i < 6; ++i)
        kio::spawn(worker(m, i, inside, max_inside, order));
      co_await kio::yield();
      EXPECT_EQ(m.waiters(), 6u);
    }
    EXPECT_TRUE(m.locked()) << "unlock hands ownership straight to the first waiter";
    while (order.size() < 6 || inside > 0 || m.locked())
      co_await kio::yield();
    EXPECT_EQ(max_inside, 1);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  };
  rt().block_on(body());
}

TEST(Mutex, TryLockAndExplicitUnlock) {
  auto body = []() -> kio::Task<void> {
    kio::Mutex m;
    auto a = m.try_lock();
    CO_ASSERT_TRUE(a.has_value());
    EXPECT_TRUE(m.locked());
    EXPECT_FALSE(m.try_lock().has_value());
    a->unlock();
    EXPECT_FALSE(a->owns_lock());
    EXPECT_FALSE(m.locked());
    kio::MutexLock moved;
    {
      auto b = co_await m.lock();
      CO_ASSERT_TRUE(b);
      moved = std::move(*b);
    }
    EXPECT_TRUE(m.locked()) << "the moved-to lock still owns the mutex";
    moved = kio::MutexLock();
    EXPECT_FALSE(m.locked());
  };
  rt().block_on(body());
}

TEST(Mutex, CancelledWaiterLeavesQueue) {
  auto body = []() -> kio::Task<void> {
    kio::Mutex m;
    auto held = co_await m.lock();
    CO_ASSERT_TRUE(held);
    kio::CancelSource src;
    auto r = co_await kio::timeout(5ms, m.lock());
    CO_ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), std::errc::timed_out);
    EXPECT_EQ(m.waiters(), 0u);

    std::error_code seen;
    bool done = false;
    auto waiter = [](kio::CancelToken t, kio::Mutex& mu, std::error_code& out,
                     bool& d) -> kio::Task<void> {
      auto l = co_await kio::with_cancel(t, mu.lock());
      out = l.error();
      d = true;
    };
    kio::spawn(waiter(src.token(), m, seen, done));
    co_await kio::yield();
    EXPECT_EQ(m.waiters(), 1u);
    src.request_cancel();
    EXPECT_EQ(m.waiters(), 0u);
    co_await kio::yield();
    EXPECT_TRUE(done);
    EXPECT_EQ(seen, std::errc::operation_canceled);
    held->unlock();
    EXPECT_FALSE(m.locked()) << "nobody left to hand the mutex to";
  };
  rt().block_on(body());
}

}  // namespace
