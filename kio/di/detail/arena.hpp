// Arena — bump allocation in 64 KiB blocks for objects that live as long as their owner (a
// Registry's registrations): no per-object allocator overhead, freed all at once.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <vector>

namespace kio::di::detail {

class Arena {
 public:
  static constexpr std::size_t block = 64 * 1024;

  void* allocate(std::size_t n, std::size_t align) {
    std::size_t at = (used_ + align - 1) / align * align;
    if (blocks_.empty() || at + n > cap_) {
      cap_ = n > block ? n : block;
      blocks_.push_back(std::unique_ptr<std::byte[]>(new std::byte[cap_]));
      at = 0;
    }
    used_ = at + n;
    return blocks_.back().get() + at;
  }

 private:
  std::vector<std::unique_ptr<std::byte[]>> blocks_;
  std::size_t used_ = 0;
  std::size_t cap_ = 0;
};

}  // namespace kio::di::detail
