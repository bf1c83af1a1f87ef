// Per-thread recycling allocator for coroutine frames.
//
// Every kio promise type routes `operator new/delete` here. Frames are rounded up to a 64-byte size
// class and kept on a per-thread free list when released, so a steady stream of tasks of the same
// shapes allocates nothing after warm-up. Frames larger than `max_pooled` go straight to the global
// allocator.
//
// Threading: each thread has its own pool; no synchronisation. A frame may be freed on a different
// thread than the one that allocated it (a block simply migrates to the freeing thread's pool).
// Lifetime: cached blocks are returned to the global allocator when the thread exits.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kio::detail {

class FramePool {
 public:
  static constexpr std::size_t granule = 64;
  static constexpr std::size_t max_pooled = 4096;
  static constexpr std::size_t classes = max_pooled / granule;
  /// Upper bound of cached blocks per size class; beyond it frees go to the global allocator.
  static constexpr std::uint32_t max_cached_per_class = 4096;

  void* allocate(std::size_t n) {
    if (n <= max_pooled) {
      const std::size_t c = (n - 1) / granule;
      if (FreeBlock* b = free_[c]) {
        free_[c] = b->next;
        --count_[c];
        return b;
      }
      return allocate_slow((c + 1) * granule);
    }
    return allocate_slow(n);
  }

  void deallocate(void* p, std::size_t n) noexcept {
    if (n <= max_pooled) {
      const std::size_t c = (n - 1) / granule;
      if (count_[c] < max_cached_per_class) {
        auto* b = static_cast<FreeBlock*>(p);
        b->next = free_[c];
        free_[c] = b;
        if (++count_[c] == 1) note_cached();
        return;
      }
      n = (c + 1) * granule;
    }
    deallocate_slow(p, n);
  }

  /// Returns every cached block to the global allocator.
  void trim() noexcept;

  /// Number of blocks this thread obtained from the global allocator so far (for tests/benches).
  std::uint64_t fresh_allocations() const noexcept { return fresh_; }

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  void* allocate_slow(std::size_t rounded);
  static void deallocate_slow(void* p, std::size_t n) noexcept;
  void note_cached() noexcept;

  FreeBlock* free_[classes] = {};
  std::uint32_t count_[classes] = {};
  std::uint64_t fresh_ = 0;
  bool exit_hook_ = false;
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
