// Description: coroutine frames are recycled: no global allocation per task in steady state.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "alloc_counter.hpp"
#include "kio/kio.hpp"

namespace {

kio::Task<int> leaf(int v) {
  co_return v;
}
kio::Task<int> mid(int v) {
  co_return co_await leaf(v) + 1;
}
kio::Task<void> child(long& sum) {
  sum += co_await mid(1);
}

kio::Task<long> cycles(int n) {
  long sum = 0;
  for (int i = 0; i < n; ++i) {
    sum += co_await mid(i);
    kio::spawn(child(sum));  // detached root + task frames
    co_await kio::yield();
  }
  co_return sum;
}

// The instrument itself: the replaced global operator new counts (else the zero below means
// nothing).
TEST(FramePool, AllocationCounterCounts) {
  const long before = g_news.load();
  int* volatile p = new int(7);
  delete p;
  EXPECT_EQ(g_news.load() - before, 1);
}

TEST(FramePool, SteadyStateTasksDoNotAllocate) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  rt.block_on(cycles(10'000));  // warm-up: pool, ready queue and timer heap reach their sizes
  struct Probe {
    long before, after;
  };
  auto measure = []() -> kio::Task<Probe> {
    Probe p{};
    p.before = g_news.load();
    co_await cycles(100'000);
    p.after = g_news.load();
    co_return p;
  };
  Probe p = rt.block_on(measure());
  EXPECT_EQ(p.after - p.before, 0) << "operator new calls during 100,000 task cycles";
}

TEST(FramePool, RecyclesBlocksOfEachSizeClass) {
  kio::detail::FramePool pool;
  void* a = pool.allocate(100);
  pool.deallocate(a, 100);
  void* b = pool.allocate(120);  // same 128-byte class
  EXPECT_EQ(a, b);
  void* c = pool.allocate(200);  // different class
  EXPECT_NE(b, c);
  pool.deallocate(b, 120);
  pool.deallocate(c, 200);
  EXPECT_EQ(pool.fresh_allocations(), 2u);
  void* big = pool.allocate(1 << 20);  // beyond pooling: straight to the global allocator
  pool.deallocate(big, 1 << 20);
  pool.trim();
}

}  // namespace
