// SmallString<N>: an append-only byte string that stays inline up to N bytes (no allocation for
// the few header lines a typical response carries) and moves to the heap beyond that.
// Threading: plain value.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace kio::http::detail {

template <std::size_t N>
  requires(N > 0)
class SmallString {
 public:
  SmallString() noexcept {}  // inline_ stays uninitialised: only its first size_ bytes are read
  // Copies and moves take only the bytes in use (the implicit ones copied all N, uninitialised
  // ones included, which g++ -O2 reports as -Wmaybe-uninitialized in users' code).
  SmallString(const SmallString& o) : size_(o.size_), on_heap_(o.on_heap_), heap_(o.heap_) {
    if (!on_heap_ && size_ != 0) std::memcpy(inline_, o.inline_, size_);
  }
  SmallString(SmallString&& o) noexcept
      : size_(o.size_), on_heap_(o.on_heap_), heap_(std::move(o.heap_)) {
    if (!on_heap_ && size_ != 0) std::memcpy(inline_, o.inline_, size_);
  }
  SmallString& operator=(const SmallString& o) {
    if (this != &o) *this = SmallString(o);
    return *this;
  }
  SmallString& operator=(SmallString&& o) noexcept {
    if (this == &o) return *this;
    size_ = o.size_;
    on_heap_ = o.on_heap_;
    heap_ = std::move(o.heap_);
    if (!on_heap_ && size_ != 0) std::memcpy(inline_, o.inline_, size_);
    return *this;
  }
  ~SmallString() = default;

  void append(std::string_view s) {
    if (!on_heap_) {
      if (s.size() <= N - size_) {  // size_ <= N while inline (this form cannot wrap around)
        if (!s.empty()) std::memcpy(inline_ + size_, s.data(), s.size());
        size_ += s.size();
        return;
      }
      heap_.reserve(2 * (size_ + s.size()));
      heap_.assign(inline_, size_);
      on_heap_ = true;
    }
    heap_.append(s);
  }
  std::string_view view() const noexcept {
    return on_heap_ ? std::string_view(heap_) : std::string_view(inline_, size_);
  }
  std::size_t size() const noexcept { return on_heap_ ? heap_.size() : size_; }
  void clear() noexcept {
    size_ = 0;
    on_heap_ = false;
    heap_.clear();
  }

 private:
  char inline_[N];
  std::size_t size_ = 0;
  bool on_heap_ = false;
  std::string heap_;
};

}  // namespace kio::http::detail
