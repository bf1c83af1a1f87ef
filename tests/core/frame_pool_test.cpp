// Description: coroutine frames are recycled: no global allocation per task in steady state.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

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

std::atomic<long> g_ticks{0};
kio::Task<void> tick() {
  g_ticks.fetch_add(1, std::memory_order_relaxed);
  co_return;
}

// Spawns `n` tasks from core 0 onto core 1, in rounds of 256, waiting for each round to run.
kio::Task<void> spawn_stream(long n) {
  long sent = 0;
  while (sent < n) {
    for (int i = 0; i < 256; ++i, ++sent)
      (void)co_await kio::spawn_on(1, tick());
    while (g_ticks.load(std::memory_order_relaxed) < sent)
      co_await kio::yield();
  }
}

// spawn_on creates frames on the sender and ends them on the receiver: the frames must go home
// (in batches) so that neither pool runs dry. This used to cost a malloc per task.
TEST(FramePool, SpawnOnStreamDoesNotAllocateInSteadyState) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true});
  g_ticks.store(0);
  rt.block_on(spawn_stream(256 * 100));  // warm-up
  g_ticks.store(0);
  const long before = g_news.load();
  rt.block_on(spawn_stream(256 * 400));
  const long news = g_news.load() - before;
  EXPECT_EQ(g_ticks.load(), 256 * 400);
  // block_on's own frame may come from the calling thread's allocator; task frames must not.
  EXPECT_LT(news, 10) << "operator new calls during 102,400 spawn_on";
}

// A local declared alignas(64) lives in the frame: frames must start on 64-byte boundaries,
// whether the block is fresh, recycled on its core, or came home from another core. (Frames used
// to start 16 bytes into the block: UBSan flagged a CrossChannel in a coroutine.)
struct alignas(64) Padded {
  char bytes[64];
};
std::atomic<long> g_misaligned{0};
kio::Task<void> aligned_local(int depth) {
  Padded p{};
  if (reinterpret_cast<std::uintptr_t>(&p) % 64 != 0) g_misaligned.fetch_add(1);
  p.bytes[0] = static_cast<char>(depth);
  if (depth > 0) co_await aligned_local(depth - 1);
  co_await kio::yield();
}
kio::Task<void> aligned_stream(long n) {
  for (long i = 0; i < n; ++i) {
    co_await aligned_local(3);
    (void)co_await kio::spawn_on(1, aligned_local(2));
  }
  co_await kio::yield();
}
TEST(FramePool, FramesAreAlignedTo64Bytes) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true});
  g_misaligned.store(0);
  rt.block_on(aligned_stream(2000));
  rt.block_on(aligned_stream(2000));  // recycled and homecoming blocks
  EXPECT_EQ(g_misaligned.load(), 0);
  kio::detail::FramePool pool;
  for (std::size_t n : {1u, 40u, 48u, 100u, 4000u, 10000u}) {
    void* p = pool.allocate(n);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 64, 0u) << n;
    pool.deallocate(p, n);
  }
  pool.trim();
}

TEST(FramePool, RecyclesBlocksOfEachSizeClass) {
  kio::detail::FramePool pool;
  // A frame of n bytes takes n rounded up to 16, plus 16 (its trailer), rounded up to 64.
  void* a = pool.allocate(100);
  pool.deallocate(a, 100);
  void* b = pool.allocate(110);  // same 128-byte class
  EXPECT_EQ(a, b);
  void* c = pool.allocate(200);  // different class
  EXPECT_NE(b, c);
  pool.deallocate(b, 110);
  pool.deallocate(c, 200);
  EXPECT_EQ(pool.fresh_allocations(), 2u);
  void* big = pool.allocate(1 << 20);  // beyond pooling: straight to the global allocator
  pool.deallocate(big, 1 << 20);
  pool.trim();
}

// Frames of ~4 KB (a class no other test uses, so the blocks come from slabs this pool carves).
constexpr std::size_t big_frame = 4000;
constexpr std::size_t slab = kio::detail::FramePool::slab_bytes;

// Allocates until the process holds `slabs` more slabs than before; returns the blocks and sets
// `first_carved` to the first one that came from a new slab (earlier ones may come from blocks
// other tests' threads left in the depot).
std::vector<void*> carve(kio::detail::FramePool& pool, std::size_t slabs,
                         void** first_carved = nullptr) {
  const std::size_t before = kio::detail::FramePool::slab_bytes_total();
  std::vector<void*> blocks;
  while (kio::detail::FramePool::slab_bytes_total() < before + slabs * slab &&
         blocks.size() < 10000) {
    const std::size_t held = kio::detail::FramePool::slab_bytes_total();
    blocks.push_back(pool.allocate(big_frame));
    if (first_carved && *first_carved == nullptr &&
        kio::detail::FramePool::slab_bytes_total() > held)
      *first_carved = blocks.back();
  }
  return blocks;
}

TEST(FramePool, ReleasesSlabsWhoseBlocksAreAllCached) {
  kio::detail::FramePool pool;
  (void)pool.release_free_slabs();  // whatever earlier tests' threads left wholly in the depot
  std::vector<void*> blocks = carve(pool, 4);
  const std::size_t held = kio::detail::FramePool::slab_bytes_total();
  EXPECT_EQ(pool.release_free_slabs(), 0u) << "nothing is cached yet";
  for (void* b : blocks)
    pool.deallocate(b, big_frame);
  const std::size_t cached = pool.cached_bytes();
  const std::size_t released = pool.release_free_slabs();
  // Every slab carved here except the one the pool still carves from is wholly cached.
  EXPECT_GE(released, 3 * slab);
  EXPECT_EQ(kio::detail::FramePool::slab_bytes_total(), held - released);
  EXPECT_EQ(pool.cached_bytes(), cached - released);
  EXPECT_EQ(pool.release_free_slabs(), 0u) << "released twice";
  // The pool still works: blocks come from what is cached or from new slabs.
  for (void*& b : blocks)
    b = pool.allocate(big_frame);
  for (void* b : blocks)
    pool.deallocate(b, big_frame);
  pool.trim();
}

TEST(FramePool, KeepsASlabWhileOneOfItsFramesIsAlive) {
  kio::detail::FramePool pool;
  void* alive = nullptr;
  std::vector<void*> blocks = carve(pool, 4, &alive);
  ASSERT_NE(alive, nullptr);
  // The first block of the first new slab lives on: that slab must stay.
  const std::size_t before = kio::detail::FramePool::slab_bytes_total();
  for (void* b : blocks)
    if (b != alive) pool.deallocate(b, big_frame);
  const std::size_t released = pool.release_free_slabs();
  EXPECT_GE(released, 2 * slab);
  EXPECT_LE(released, before - 2 * slab) << "the live frame's slab and the current one stay";
  std::memset(alive, 0x5a, big_frame);  // still ours (ASan reports it if the slab went)
  pool.deallocate(alive, big_frame);
  EXPECT_GE(pool.release_free_slabs(), slab) << "its slab once the frame ended";
  pool.trim();
}

kio::Task<void> wait_for(kio::Event& go) {
  volatile char pad[1500];  // lives across the wait: a frame size no other test here uses, so
  pad[0] = 1;               // these frames come from new slabs, not from the depot
  (void)co_await go.wait();
  pad[1] = pad[0];
}
kio::Task<void> burst(int n) {
  kio::Event go;
  for (int i = 0; i < n; ++i)
    kio::spawn(wait_for(go));
  co_await kio::yield();  // every one of them suspended in wait()
  go.set();
  co_await kio::yield();
  co_await kio::yield();
}

kio::Task<void> pause(std::chrono::milliseconds d) {
  co_await kio::sleep_for(d);
}

// After a peak of live frames, a core that runs nothing for idle_trim gives the wholly free slabs
// back (and keeps them with idle_trim = 0).
TEST(FramePool, IdleCoreReleasesFreeSlabs) {
  using namespace std::chrono_literals;
  for (auto trim : {0ms, 50ms}) {
    kio::Runtime rt(kio::RuntimeOptions{.workers = 1, .idle_trim = trim});
    rt.block_on(burst(5'000));  // ~1.6 KB each: 7.6 MiB of frames alive at once, then none
    const std::size_t peak = kio::detail::FramePool::slab_bytes_total();
    ASSERT_GT(peak, 120 * slab);  // carved now or earlier (then drawn from the depot)
    rt.block_on(pause(400ms));    // nothing runs on the core meanwhile
    const std::size_t after = kio::detail::FramePool::slab_bytes_total();
    if (trim.count() == 0) {
      EXPECT_EQ(after, peak) << "trimming is off";
    } else {
      EXPECT_LT(after + 100 * slab, peak)
          << "slab bytes at the peak " << peak << ", after the idle time " << after;
    }
  }
}

}  // namespace
