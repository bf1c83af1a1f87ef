// kio::http::Request — one parsed HTTP/1.x request, as a handler sees it.
//
//   kio::http::Response handle(kio::http::Request& req) {
//     std::string_view id = req.param("id");               // from a route "/users/:id"
//     std::string_view ua = req.header("user-agent");      // "" when absent
//     return kio::http::Response::text(req.body);           // copies the body
//   }
//
// Zero-copy: every string_view (method, target, path, query, headers, body, params) points into
// the connection's receive buffer. They are valid until the handler's Response (or its Task) is
// returned to the server; copy what must live longer. A chunked body has been decoded in place, so
// `body` is always one contiguous view. Trailer fields of a chunked body are validated and dropped.
// Threading: owned by one connection on one core.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kio/http/headers.hpp"
#include "kio/http/method.hpp"

namespace kio::http {

/// Path parameters captured by the router (`:name` and `*name` segments), at most `capacity`.
class PathParams {
 public:
  static constexpr std::size_t capacity = 8;
  std::size_t size() const noexcept { return size_; }
  const Header* begin() const noexcept { return items_.data(); }
  const Header* end() const noexcept { return items_.data() + size_; }
  /// The value captured for `name`, or "" if there is none.
  std::string_view get(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < size_; ++i)
      if (items_[i].name == name) return items_[i].value;
    return {};
  }
  bool push(std::string_view name, std::string_view value) noexcept {
    if (size_ == capacity) return false;
    items_[size_++] = Header{name, value};
    return true;
  }
  void resize(std::size_t n) noexcept { size_ = n; }  // router backtracking
  void clear() noexcept { size_ = 0; }

 private:
  std::size_t size_ = 0;
  std::array<Header, capacity> items_{};
};

// Member order: what every request touches comes first, the header array (2 KiB) last, so a
// typical request touches a few adjacent cache lines of its connection's parser.
struct Request {
  Method method = Method::other;
  std::uint8_t version_minor = 1;  // HTTP/1.<minor>; 1.2+ is treated as 1.1
  bool keep_alive = true;          // the connection may carry another request after this one
  bool expect_continue = false;    // "Expect: 100-continue" (HTTP/1.1 only)
  bool chunked = false;            // the body arrived with Transfer-Encoding: chunked
  std::string_view method_name;    // the exact token
  std::string_view target;         // the request-target as sent
  std::string_view path;           // target without query ("/" for asterisk/authority forms: "")
  std::string_view query;          // after '?', without it; "" when absent
  std::string_view body;
  std::uint64_t content_length = 0;  // declared length (0 without Content-Length)
  PathParams params;
  HeaderList headers;

  /// The value of the first header named `name` (case-insensitive), or "".
  std::string_view header(std::string_view name) const noexcept {
    auto v = headers.get(name);
    return v ? *v : std::string_view{};
  }
  /// The router capture named `name`, or "".
  std::string_view param(std::string_view name) const noexcept { return params.get(name); }
};

}  // namespace kio::http
