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
  // The inline bytes past size_ are never initialised (a response would otherwise pay for
  // clearing them): copies and moves take only the bytes in use, so no uninitialised byte is
  // ever read (which is also what keeps -Wmaybe-uninitialized quiet in users' code).
  SmallString() noexcept {}
  SmallString(const SmallString& o) : size_(o.size_), on_heap_(o.on_heap_), heap_(o.heap_) {
    copy_inline(o);
  }
  SmallString(SmallString&& o) noexcept
      : size_(o.size_), on_heap_(o.on_heap_), heap_(std::move(o.heap_)) {
    copy_inline(o);
    o.size_ = 0;
    o.on_heap_ = false;
  }
  SmallString& operator=(const SmallString& o) {
    if (this != &o) {
      size_ = o.size_;
      on_heap_ = o.on_heap_;
      heap_ = o.heap_;
      copy_inline(o);
    }
    return *this;
  }
  SmallString& operator=(SmallString&& o) noexcept {
    if (this != &o) {
      size_ = o.size_;
      on_heap_ = o.on_heap_;
      heap_ = std::move(o.heap_);
      copy_inline(o);
      o.size_ = 0;
      o.on_heap_ = false;
    }
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
  /// Appends "name: value\r\n" with one capacity check.
  void append_field(std::string_view name, std::string_view value) {
    const std::size_t n = name.size() + 2 + value.size() + 2;
    if (!on_heap_ && size_ + n <= N) {
      char* p = inline_ + size_;
      std::memcpy(p, name.data(), name.size());
      p += name.size();
      p[0] = ':';
      p[1] = ' ';
      p += 2;
      if (!value.empty()) std::memcpy(p, value.data(), value.size());
      p += value.size();
      p[0] = '\r';
      p[1] = '\n';
      size_ += n;
      return;
    }
    append(name);
    append(": ");
    append(value);
    append("\r\n");
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
  void copy_inline(const SmallString& o) noexcept {
    if (!o.on_heap_ && o.size_ != 0) std::memcpy(inline_, o.inline_, o.size_);
  }

  char inline_[N];
  std::size_t size_ = 0;
  bool on_heap_ = false;
  std::string heap_;
};

}  // namespace kio::http::detail
