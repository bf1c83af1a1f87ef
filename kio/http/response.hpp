// kio::http::Response — what a handler returns: status, header fields and a body.
//
//   return kio::http::Response::text("Hello, World!");                 // 200, text/plain
//   return kio::http::Response(kio::http::Status::created)
//       .header("Location", "/users/7")
//       .json(R"({"id":7})");
//   return kio::http::Response().body_view(req.body);                  // echo, zero-copy
//
// The server adds Content-Length (from the body), Date (cached per core) and Connection; those
// names, and Transfer-Encoding, cannot be set by hand (header() throws std::invalid_argument, as
// it does for names that are not tokens and values with CR, LF or other control characters).
// Body: either owned (`body(std::string)`, `text`, `json`) or borrowed (`body_view`): a borrowed
// body must stay valid until the response has been sent — static text, or the request's own
// bytes (the server keeps the receive buffers until the send completes).
// HEAD requests and 1xx/204/304 statuses get no body on the wire (HEAD keeps the Content-Length).
// Header lines live inline up to ~200 bytes, so small responses allocate nothing beyond an owned
// body that outgrows std::string's inline storage.
// Threading: plain value; built and consumed on one core.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "kio/http/detail/small_string.hpp"
#include "kio/http/status.hpp"

namespace kio::http {

class Response {
 public:
  Response() = default;
  explicit Response(Status s) noexcept : status_(s) {}

  /// 200 (or `s`) with Content-Type: text/plain and `body` (owned).
  static Response text(std::string body, Status s = Status::ok);
  /// 200 (or `s`) with Content-Type: application/json and `body` (owned).
  static Response json_body(std::string body, Status s = Status::ok);

  Status status() const noexcept { return status_; }
  Response& status(Status s) noexcept {
    status_ = s;
    return *this;
  }

  /// Appends a header field. Throws std::invalid_argument for an invalid name or value, or a
  /// field the server manages (Content-Length, Transfer-Encoding, Connection, Date).
  Response& header(std::string_view name, std::string_view value);
  Response& content_type(std::string_view value) { return header("Content-Type", value); }

  /// Owned body.
  Response& body(std::string b) {
    owned_ = std::move(b);
    borrowed_ = {};
    owns_ = true;
    return *this;
  }
  /// Owned body with Content-Type: text/plain / application/json.
  Response& text_body(std::string b) { return content_type("text/plain").body(std::move(b)); }
  Response& json(std::string b) { return content_type("application/json").body(std::move(b)); }
  /// Borrowed body: must stay valid until the response is sent (see above).
  Response& body_view(std::string_view b) noexcept {
    owned_.clear();
    borrowed_ = b;
    owns_ = false;
    return *this;
  }
  Response& body_view(std::span<const std::byte> b) noexcept {
    return body_view(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
  }

  /// Asks the server to close the connection after sending this response.
  Response& close_connection() noexcept {
    close_ = true;
    return *this;
  }
  bool closes_connection() const noexcept { return close_; }

  std::string_view body() const noexcept { return owns_ ? std::string_view(owned_) : borrowed_; }
  /// The header lines added so far, each "Name: value\r\n".
  std::string_view header_lines() const noexcept { return headers_.view(); }

 private:
  Status status_ = Status::ok;
  bool owns_ = true;
  bool close_ = false;
  detail::SmallString<200> headers_;
  std::string owned_;
  std::string_view borrowed_;
};

}  // namespace kio::http
