// kio::http::HeaderList — the header fields of a parsed request, in arrival order.
//
//   if (auto ct = req.headers.get("content-type")) use(*ct);   // names match case-insensitively
//   for (const kio::http::Header& h : req.headers) ...
//
// Names and values are views into the connection's receive buffer (values without surrounding
// whitespace); they stay valid while the request is being handled (see request.hpp). Fixed
// capacity, no allocation: the parser answers 431 when a request has more fields than
// Limits::max_headers (at most `capacity`).
// Threading: plain value; owned by one connection.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

#include "kio/http/detail/chars.hpp"

namespace kio::http {

struct Header {
  std::string_view name;
  std::string_view value;
};

/// ASCII case-insensitive comparison, as used for field names.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  return detail::iequals(a, b);
}

class HeaderList {
 public:
  static constexpr std::size_t capacity = 64;

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const Header* begin() const noexcept { return items_.data(); }
  const Header* end() const noexcept { return items_.data() + size_; }
  const Header& operator[](std::size_t i) const noexcept { return items_[i]; }

  /// The first field named `name` (case-insensitive), or nullptr.
  const Header* find(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < size_; ++i)
      if (iequals(items_[i].name, name)) return &items_[i];
    return nullptr;
  }
  /// The value of the first field named `name`, if any.
  std::optional<std::string_view> get(std::string_view name) const noexcept {
    if (const Header* h = find(name)) return h->value;
    return std::nullopt;
  }

  /// Appends a field; false when full.
  bool push(std::string_view name, std::string_view value) noexcept {
    if (size_ == capacity) return false;
    items_[size_++] = Header{name, value};
    return true;
  }
  void clear() noexcept { size_ = 0; }

  /// Internals: lets the parser re-point views after the buffer moved.
  Header* mutable_begin() noexcept { return items_.data(); }

 private:
  std::size_t size_ = 0;  // first: shares a cache line with the first fields
  std::array<Header, capacity> items_{};
};

}  // namespace kio::http
