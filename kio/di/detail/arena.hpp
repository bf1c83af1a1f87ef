// Arena — bump allocation for objects that live as long as their owner (a Registry's
// registrations): no per-object allocator overhead, freed all at once (blocks.hpp).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "kio/di/detail/blocks.hpp"

namespace kio::di::detail {

class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() {
    for (auto [p, n] : blocks_)
      free_block(p, n);
  }

  void* allocate(std::size_t n, std::size_t align) {
    std::size_t at = (used_ + align - 1) / align * align;
    if (blocks_.empty() || at + n > cap_) {
      std::size_t size = blocks_.empty() ? first_block : next_block(cap_);
      while (size < n)
        size *= 2;
      blocks_.emplace_back(allocate_block(size), size);
      cap_ = size;
      at = 0;
    }
    used_ = at + n;
    return static_cast<std::byte*>(blocks_.back().first) + at;
  }

 private:
  std::vector<std::pair<void*, std::size_t>> blocks_;
  std::size_t used_ = 0;
  std::size_t cap_ = 0;
};

}  // namespace kio::di::detail
