// OutBuffer — a connection's output bytes (response heads and small bodies): a growable byte
// buffer that, unlike std::string, does not zero what it is about to overwrite, and can give its
// memory back (shrink) when the connection goes idle.
// Threading: plain value; owned by one connection (one core).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

namespace kio::http::detail {

class OutBuffer {
 public:
  OutBuffer() noexcept = default;
  OutBuffer(const OutBuffer&) = delete;
  OutBuffer& operator=(const OutBuffer&) = delete;
  OutBuffer(OutBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        cap_(std::exchange(o.cap_, 0)) {}
  ~OutBuffer() { std::free(data_); }

  char* data() noexcept { return data_; }
  const char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return cap_; }
  bool empty() const noexcept { return size_ == 0; }
  std::string_view view() const noexcept { return {data_, size_}; }

  /// Makes room for `n` more bytes and returns where they go; the caller writes all `n`.
  char* extend(std::size_t n) {
    if (cap_ - size_ < n) grow(n);
    char* p = data_ + size_;
    size_ += n;
    return p;
  }
  void append(std::string_view s) {
    if (!s.empty()) std::memcpy(extend(s.size()), s.data(), s.size());
  }
  void clear() noexcept { size_ = 0; }
  /// Empties the buffer and frees its memory if it holds more than `keep` bytes of capacity.
  void clear_and_shrink(std::size_t keep) noexcept {
    size_ = 0;
    if (cap_ > keep) {
      std::free(std::exchange(data_, nullptr));
      cap_ = 0;
    }
  }

 private:
  void grow(std::size_t n) {
    std::size_t cap = cap_ ? cap_ * 2 : 1024;
    while (cap - size_ < n)
      cap *= 2;
    void* p = std::realloc(data_, cap);
    if (!p) throw std::bad_alloc();
    data_ = static_cast<char*>(p);
    cap_ = cap;
  }

  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

}  // namespace kio::http::detail
