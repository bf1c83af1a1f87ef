// Memory blocks for the registry's arenas (registrations, instance nodes): sizes grow from
// 64 KiB to 2 MiB as a registry grows; 2 MiB blocks are mapped 2 MiB-aligned and offered to
// transparent huge pages (madvise), so a registry of 100,000 services takes one page fault and
// one TLB entry per 2 MiB instead of 512. Small registries keep small blocks.
#pragma once

#include <cstddef>

namespace kio::di::detail {

inline constexpr std::size_t first_block = std::size_t{64} * 1024;
inline constexpr std::size_t huge_block = std::size_t{2} * 1024 * 1024;

/// A block of at least `size` bytes, 64-byte aligned. Throws std::bad_alloc.
void* allocate_block(std::size_t size);
void free_block(void* p, std::size_t size) noexcept;
/// Bytes in blocks currently allocated by every registry of the process (for tests/benchmarks
/// that account memory: the big blocks are mapped directly, malloc statistics miss them).
std::size_t block_bytes() noexcept;
/// The size of the next block after one of `size` bytes.
inline std::size_t next_block(std::size_t size) noexcept {
  return size >= huge_block ? huge_block : size * 2;
}

}  // namespace kio::di::detail
