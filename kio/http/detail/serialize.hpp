// Writes a response head ("HTTP/1.1 200 OK\r\n" ... "\r\n") into a connection's output buffer,
// and FixedResponse, a response whose head is serialised once (Router routes to a constant
// Response: Handler's fixed form) and copied per request.
// Threading: pure functions over their arguments; a FixedResponse is immutable once built (read
// from every core).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "kio/http/detail/out_buffer.hpp"
#include "kio/http/response.hpp"

namespace kio::http::detail {

struct HeadOptions {
  bool keep_alive = true;        // false: "Connection: close"
  bool http10 = false;           // HTTP/1.0 client kept alive: "Connection: keep-alive"
  std::string_view date_line;    // "Date: ...\r\n" (see date.hpp)
  std::string_view extra_lines;  // e.g. "Allow: GET\r\n" for a router 405
};

/// Appends the status line and header section of `r` for a body of `body_size` bytes.
void append_head(OutBuffer& out, const Response& r, std::size_t body_size, const HeadOptions& o);
/// The same into a std::string (tests, tools).
void append_head(std::string& out, const Response& r, std::size_t body_size, const HeadOptions& o);

/// A constant response, serialised once: `before_date` is the status line and Content-Length
/// line, `after_date` the handler's header lines, `body` the bytes sent after the empty line.
/// The common case — a kept-alive HTTP/1.1 request, not HEAD — is then four copies into the
/// output (before_date, the Date line, after_date + CRLF, body); every other case serialises
/// `response` as usual.
struct FixedResponse {
  explicit FixedResponse(Response r);
  Response response;
  std::string before_date;
  std::string after_date;  // header lines, then the empty line's CRLF
  std::string_view body;   // into response
  bool has_body = true;    // the status allows a body
};

}  // namespace kio::http::detail
