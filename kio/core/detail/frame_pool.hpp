// Per-thread recycling allocator for coroutine frames; frames freed on another core go home.
//
// Every kio promise type routes `operator new/delete` here. Frames are rounded up to a 64-byte size
// class and kept on a per-thread free list when released, so a steady stream of tasks of the same
// shapes allocates nothing after warm-up. Frames larger than `max_pooled` go straight to the global
// allocator.
//
// Design note
// -----------
// * Every block starts on a 64-byte boundary (`frame_align`) and the frame starts at the block's
//   start, so locals declared `alignas(64)` (kio's cache-line-padded types) are aligned: C++20
//   allocates frames with `operator new(size)` and compilers do not align frames beyond what it
//   returns. Coroutine locals aligned beyond 64 bytes are not supported.
// * Each frame carries a 16-byte trailer after the frame (at `trailer_offset(n)`; the frame size
//   is passed to both allocate and deallocate): the pool it came from, and the worker core and
//   runtime of that pool (0 when it was allocated outside a worker). The trailer is only compared
//   and copied, never used to reach the other thread's pool (that thread may have exited).
// * A frame freed on the core it came from goes back on the free list. One freed on another core
//   of the same runtime (spawn_on: created by the sender, ended by the receiver) joins a batch
//   for its home core; a batch travels home as one cross-core message (the message lives in the
//   first block of the batch, so sending allocates nothing) when it is full or at the end of the
//   loop iteration, and the home core puts the blocks back on its free lists. A one-way stream of
//   spawn_on therefore allocates nothing in steady state on either side.
// * Outside a worker, while a worker tears down, or for frames from outside any worker, a frame
//   stays with the thread that frees it (its block migrates to that thread's pool).
//
// Threading: each thread has its own pool; no synchronisation. Batches are handed over through
// the executors' mail rings.
// Lifetime: cached blocks are returned to the global allocator when the thread exits; batches
// still in flight when a runtime stops are freed by its teardown.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kio::detail {

class Executor;
struct Message;

class FramePool {
 public:
  static constexpr std::size_t granule = 64;
  static constexpr std::size_t max_pooled = 4096;
  static constexpr std::size_t classes = max_pooled / granule;
  /// Upper bound of cached blocks per size class; beyond it frees go to the global allocator.
  static constexpr std::uint32_t max_cached_per_class = 4096;
  /// Blocks per homeward batch.
  static constexpr std::uint32_t batch_size = 64;

  /// Alignment of every frame (and of every block, pooled or not).
  static constexpr std::size_t frame_align = 64;

  struct alignas(16) Header {
    FramePool* home;
    std::uint32_t core;     // home worker core + 1; 0: not allocated on a worker
    std::uint32_t runtime;  // the home worker's runtime tag
  };
  static_assert(sizeof(Header) == 16);

  /// Where a frame of `n` bytes keeps its header (right after the frame, 16-byte aligned).
  static constexpr std::size_t trailer_offset(std::size_t n) noexcept {
    return (n + 15) & ~std::size_t{15};
  }

  void* allocate(std::size_t n) {
    const std::size_t need = trailer_offset(n) + sizeof(Header);
    void* block;
    if (need <= max_pooled) {
      const std::size_t c = (need - 1) / granule;
      if (FreeBlock* b = free_[c]) {
        free_[c] = b->next;
        --count_[c];
        block = b;
      } else {
        block = allocate_slow((c + 1) * granule);
      }
    } else {
      block = allocate_slow(need);
    }
    Header* h = header_of(block, n);
    h->home = this;
    h->core = core_;
    h->runtime = runtime_;
    return block;
  }

  void deallocate(void* p, std::size_t n) noexcept {
    const std::size_t need = trailer_offset(n) + sizeof(Header);
    if (need <= max_pooled) {
      const std::size_t c = (need - 1) / granule;
      const Header* h = header_of(p, n);
      if (h->home != this && h->core != 0 && h->runtime == runtime_ && executor_) [[unlikely]] {
        send_home(p, h->core - 1, static_cast<std::uint32_t>(c));
        return;
      }
      keep(p, c);
      return;
    }
    deallocate_slow(p, need);
  }

  /// Returns every cached block to the global allocator.
  void trim() noexcept;

  /// Number of blocks this thread obtained from the global allocator so far (for tests/benches).
  std::uint64_t fresh_allocations() const noexcept { return fresh_; }

  // ---- the worker loop
  /// Makes this (the calling worker thread's) pool core `core` of the runtime tagged `runtime`.
  void attach(Executor& ex, unsigned core, std::uint32_t runtime, unsigned cores);
  /// Stops sending frames home (the worker tears down); pending batches are sent first.
  void detach() noexcept;
  /// Sends the batches collected since the last call (once per loop iteration).
  void flush_home() noexcept {
    if (dirty_) flush_home_slow();
  }

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  struct Pending {
    void* head = nullptr;
    std::uint32_t count = 0;
  };
  void* allocate_slow(std::size_t rounded);
  static void deallocate_slow(void* p, std::size_t n) noexcept;
  void note_cached() noexcept;
  static Header* header_of(void* block, std::size_t n) noexcept {
    return reinterpret_cast<Header*>(static_cast<char*>(block) + trailer_offset(n));
  }
  void keep(void* block, std::size_t c) noexcept {
    if (count_[c] < max_cached_per_class) {
      auto* b = static_cast<FreeBlock*>(block);
      b->next = free_[c];
      free_[c] = b;
      if (++count_[c] == 1) note_cached();
      return;
    }
    deallocate_slow(block, (c + 1) * granule);
  }
  void send_home(void* block, unsigned home_core, std::uint32_t c) noexcept;
  void send_batch(unsigned dst) noexcept;
  void flush_home_slow() noexcept;
  static void on_batch(Message* m, Executor& here, bool stopped) noexcept;
  static void on_discard(Message* m) noexcept;

  FreeBlock* free_[classes] = {};
  std::uint32_t count_[classes] = {};
  std::uint64_t fresh_ = 0;
  bool exit_hook_ = false;
  // worker identity (set by attach)
  std::uint32_t core_ = 0;
  std::uint32_t runtime_ = 0;
  Executor* executor_ = nullptr;
  bool dirty_ = false;
  std::vector<Pending>* pending_ = nullptr;  // per destination core; owned, freed by detach
};

// Trivially constructible and destructible, so access needs no guard check.
inline constinit thread_local FramePool tls_frame_pool;

inline void* frame_alloc(std::size_t n) {
  return tls_frame_pool.allocate(n);
}
inline void frame_free(void* p, std::size_t n) noexcept {
  tls_frame_pool.deallocate(p, n);
}

}  // namespace kio::detail
