#include "kio/core/detail/frame_pool.hpp"

#include <new>

namespace kio::detail {

namespace {
// Registered the first time a thread caches a block; trims the pool when the thread exits.
struct ExitTrimmer {
  ~ExitTrimmer() { tls_frame_pool.trim(); }
};
}  // namespace

void* FramePool::allocate_slow(std::size_t rounded) {
  ++fresh_;
  return ::operator new(rounded);
}

void FramePool::deallocate_slow(void* p, std::size_t n) noexcept {
  ::operator delete(p, n);
}

void FramePool::note_cached() noexcept {
  if (exit_hook_) return;
  exit_hook_ = true;
  static thread_local ExitTrimmer trimmer;
  (void)trimmer;
}

void FramePool::trim() noexcept {
  for (std::size_t c = 0; c < classes; ++c) {
    while (FreeBlock* b = free_[c]) {
      free_[c] = b->next;
      ::operator delete(b, (c + 1) * granule);
    }
    count_[c] = 0;
  }
}

}  // namespace kio::detail
