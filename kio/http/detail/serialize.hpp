// Writes a response head ("HTTP/1.1 200 OK\r\n" ... "\r\n") into a connection's output buffer.
// Threading: pure function over its arguments.
#pragma once

#include <string>
#include <string_view>

#include "kio/http/response.hpp"

namespace kio::http::detail {

struct HeadOptions {
  bool keep_alive = true;        // false: "Connection: close"
  bool http10 = false;           // HTTP/1.0 client kept alive: "Connection: keep-alive"
  std::string_view date_line;    // "Date: ...\r\n" (see date.hpp)
  std::string_view extra_lines;  // e.g. "Allow: GET\r\n" for a router 405
};

/// Appends the status line and header section of `r` for a body of `body_size` bytes.
void append_head(std::string& out, const Response& r, std::size_t body_size, const HeadOptions& o);

}  // namespace kio::http::detail
