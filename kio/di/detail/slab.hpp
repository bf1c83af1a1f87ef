// Slab — a partition's instance nodes: bump allocation in growing blocks (blocks.hpp), a free
// list per node size for nodes removed at run time. One core only. Saves a malloc/free and its
// header per instance (instances of one service all have the same size), and keeps a core's
// instances together in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "kio/di/detail/blocks.hpp"

namespace kio::di::detail {

class Slab {
 public:
  static constexpr std::size_t block_align = 64;

  Slab() = default;
  Slab(const Slab&) = delete;
  Slab& operator=(const Slab&) = delete;
  ~Slab() {
    for (auto [p, n] : blocks_)
      free_block(p, n);
  }

  void* allocate(std::size_t size, std::size_t align) {
    size = round(size);
    for (auto& [sz, head] : free_)
      if (sz == size && head && aligned(head, align)) return pop(head);
    if (align > block_align || size > first_block) {  // odd sizes: straight from the allocator
      return ::operator new(size, std::align_val_t(align < block_align ? block_align : align));
    }
    std::size_t at = (used_ + align - 1) / align * align;
    if (!cur_ || at + size > cap_) {
      cap_ = cur_ ? next_block(cap_) : first_block;
      cur_ = static_cast<std::byte*>(allocate_block(cap_));
      blocks_.emplace_back(cur_, cap_);
      at = 0;
    }
    used_ = at + size;
    return cur_ + at;
  }

  void deallocate(void* p, std::size_t size, std::size_t align) noexcept {
    size = round(size);
    if (align > block_align || size > first_block) {
      ::operator delete(p, std::align_val_t(align < block_align ? block_align : align));
      return;
    }
    for (auto& [sz, head] : free_)
      if (sz == size) {
        push(head, p);
        return;
      }
    try {
      free_.emplace_back(size, nullptr);
      push(free_.back().second, p);
    } catch (...) {  // keep the bytes in the slab; they go when it does
    }
  }

 private:
  struct Free {
    Free* next;
  };
  static std::size_t round(std::size_t n) noexcept { return (n + 15) / 16 * 16; }
  static bool aligned(const void* p, std::size_t a) noexcept {
    return reinterpret_cast<std::uintptr_t>(p) % a == 0;
  }
  static void* pop(Free*& head) noexcept { return std::exchange(head, head->next); }
  static void push(Free*& head, void* p) noexcept {
    auto* f = static_cast<Free*>(p);
    f->next = head;
    head = f;
  }

  std::vector<std::pair<void*, std::size_t>> blocks_;
  std::byte* cur_ = nullptr;
  std::size_t used_ = 0;
  std::size_t cap_ = 0;
  std::vector<std::pair<std::size_t, Free*>> free_;
};

}  // namespace kio::di::detail
