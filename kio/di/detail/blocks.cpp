#include "kio/di/detail/blocks.hpp"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <new>

namespace kio::di::detail {

namespace {
std::atomic<std::size_t> g_block_bytes{0};
}

std::size_t block_bytes() noexcept {
  return g_block_bytes.load(std::memory_order_relaxed);
}

void* allocate_block(std::size_t size) {
  g_block_bytes.fetch_add(size, std::memory_order_relaxed);
  if (size < huge_block) return ::operator new(size, std::align_val_t(64));
  // Map twice the size and trim to a 2 MiB boundary so the whole block can be one huge page.
  const std::size_t span = size + huge_block;
  void* raw = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) {
    g_block_bytes.fetch_sub(size, std::memory_order_relaxed);
    throw std::bad_alloc();
  }
  const auto base = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (base + huge_block - 1) & ~(std::uintptr_t{huge_block} - 1);
  if (aligned > base) ::munmap(raw, aligned - base);
  const std::uintptr_t end = base + span, used_end = aligned + size;
  if (end > used_end) ::munmap(reinterpret_cast<void*>(used_end), end - used_end);
#ifdef MADV_HUGEPAGE
  (void)::madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);  // a hint only
#endif
  return reinterpret_cast<void*>(aligned);
}

void free_block(void* p, std::size_t size) noexcept {
  g_block_bytes.fetch_sub(size, std::memory_order_relaxed);
  if (size < huge_block)
    ::operator delete(p, std::align_val_t(64));
  else
    ::munmap(p, size);
}

}  // namespace kio::di::detail
