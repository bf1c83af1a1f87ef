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
// * Pooled blocks are carved from 64 KiB slabs (one aligned allocation each), not allocated one
//   by one: an aligned `operator new` per block cost glibc 100-150 bytes of overhead on top of the
//   block, about a fifth of an idle HTTP connection. A freed block stays cached (so memory is
//   bounded by the peak number of live frames), and when a thread exits its cached blocks go to a
//   process-wide depot that other pools draw from before carving. A slab goes back to the global
//   allocator only through `release_free_slabs()`, when every block of it is cached by the calling
//   pool or the depot (a worker calls it once it has been idle for `RuntimeOptions::idle_trim`).
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
// * Under AddressSanitizer a cached block is poisoned (all but its free-list link), so a frame
//   used after it ended is reported even though its memory is recycled.
//
// Threading: each thread has its own pool; no synchronisation on the hot path (the depot has a
// mutex, taken only when a pool's list of a class is empty or when a thread exits). Batches are
// handed over through the executors' mail rings.
// Lifetime: cached blocks move to the depot when the thread exits; batches still in flight when a
// runtime stops are taken by the thread that tears it down.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define KIO_FRAME_POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KIO_FRAME_POOL_ASAN 1
#endif
#endif
#ifdef KIO_FRAME_POOL_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace kio::detail {

class Executor;
struct Message;

class FramePool {
 public:
  static constexpr std::size_t granule = 64;
  static constexpr std::size_t max_pooled = 4096;
  static constexpr std::size_t classes = max_pooled / granule;
  /// Bytes per slab that pooled blocks are carved from.
  static constexpr std::size_t slab_bytes = std::size_t{64} * 1024;
  /// Blocks a pool takes from the depot at once.
  static constexpr std::uint32_t depot_batch = 32;
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
      if (FreeBlock* b = free_[c]) [[likely]] {
        free_[c] = b->next;
        --count_[c];
        block = b;
        unpoison(b, (c + 1) * granule);
      } else {
        block = refill(c);
      }
    } else {
      block = allocate_big(need);
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
    deallocate_big(p, need);
  }

  /// Hands every cached block to the process-wide depot (at thread exit; tests).
  void trim() noexcept;

  /// Gives back to the global allocator every slab all of whose blocks are cached, by this pool or
  /// in the depot (taking them off those lists); the slab this pool carves from stays. Returns the bytes released.
  /// O(cached blocks + slabs log slabs); allocates a little scratch memory. Call it when the
  /// thread is idle, not on a hot path.
  std::size_t release_free_slabs() noexcept;
  /// Bytes in this pool's free lists.
  std::size_t cached_bytes() const noexcept;

  /// Bytes of every slab held now, all threads (carved and not yet released).
  static std::size_t slab_bytes_total() noexcept;

  /// Number of blocks this pool obtained other than from its own free lists: carved from a slab
  /// or taken from the depot (for tests and benchmarks).
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
  /// A block of class `c` when its free list is empty: from the depot, else carved.
  void* refill(std::size_t c);
  static void* allocate_big(std::size_t n);
  static void deallocate_big(void* p, std::size_t n) noexcept;
  static void poison(void* block, std::size_t bytes) noexcept {
#ifdef KIO_FRAME_POOL_ASAN
    // The first word is the free-list link, read when the block is taken.
    ASAN_POISON_MEMORY_REGION(static_cast<char*>(block) + sizeof(FreeBlock),
                              bytes - sizeof(FreeBlock));
#else
    (void)block;
    (void)bytes;
#endif
  }
  static void unpoison(void* block, std::size_t bytes) noexcept {
#ifdef KIO_FRAME_POOL_ASAN
    ASAN_UNPOISON_MEMORY_REGION(block, bytes);
#else
    (void)block;
    (void)bytes;
#endif
  }
  void note_cached() noexcept;
  static Header* header_of(void* block, std::size_t n) noexcept {
    return reinterpret_cast<Header*>(static_cast<char*>(block) + trailer_offset(n));
  }
  void keep(void* block, std::size_t c) noexcept {
    auto* b = static_cast<FreeBlock*>(block);
    b->next = free_[c];
    free_[c] = b;
    poison(b, (c + 1) * granule);
    if (++count_[c] == 1) note_cached();
  }
  void send_home(void* block, unsigned home_core, std::uint32_t c) noexcept;
  void send_batch(unsigned dst) noexcept;
  void flush_home_slow() noexcept;
  static void on_batch(Message* m, Executor& here, bool stopped) noexcept;
  static void on_discard(Message* m) noexcept;
  static void keep_batch(Message* m) noexcept;

  FreeBlock* free_[classes] = {};
  std::uint32_t count_[classes] = {};
  std::uint64_t fresh_ = 0;
  char* slab_next_ = nullptr;  // the uncarved rest of the current slab
  char* slab_end_ = nullptr;
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
