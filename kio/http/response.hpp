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
// File body (`body_file`): a region of an open file, owned by the response (its fd is closed with
// it) and sent by the server without a user-space copy (ServerOptions::file_send); static_dir
// (static_files.hpp) builds these.
// HEAD requests and 1xx/204/304 statuses get no body on the wire (HEAD keeps the Content-Length).
// Header lines live inline up to ~200 bytes, so small responses allocate nothing beyond an owned
// body that outgrows std::string's inline storage.
// Threading: plain value; built and consumed on one core.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "kio/http/detail/small_string.hpp"
#include "kio/http/status.hpp"

namespace kio::fs {
class File;
}

namespace kio::http {

namespace detail {
/// `length` bytes from `offset` of the open file `fd`, which it owns (closes it). Copying dups
/// the fd (throws std::system_error if that fails), so Responses stay copyable; moving is free.
class FileBody {
 public:
  FileBody() noexcept = default;
  FileBody(int fd, std::uint64_t offset, std::uint64_t length) noexcept
      : fd_(fd), offset_(offset), length_(length) {}
  FileBody(const FileBody& o)
      : fd_(o.fd_ >= 0 ? dup_fd(o.fd_) : -1), offset_(o.offset_), length_(o.length_) {}
  FileBody& operator=(const FileBody& o) {
    if (this != &o) *this = FileBody(o);
    return *this;
  }
  FileBody(FileBody&& o) noexcept : fd_(o.fd_), offset_(o.offset_), length_(o.length_) {
    o.fd_ = -1;
  }
  FileBody& operator=(FileBody&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
      offset_ = o.offset_;
      length_ = o.length_;
    }
    return *this;
  }
  ~FileBody() { reset(); }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int fd() const noexcept { return fd_; }
  std::uint64_t offset() const noexcept { return offset_; }
  std::uint64_t length() const noexcept { return length_; }
  void reset() noexcept {
    if (fd_ >= 0) close_fd(std::exchange(fd_, -1));
  }

 private:
  static void close_fd(int fd) noexcept;
  static int dup_fd(int fd);
  int fd_ = -1;
  std::uint64_t offset_ = 0;
  std::uint64_t length_ = 0;
};
}  // namespace detail

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
  /// header("Content-Type", value), without checking the (known) name.
  Response& content_type(std::string_view value);

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
  /// File body: `length` bytes of `file` from `offset` (the response takes the file). The file
  /// must hold them when the response is sent; if it shrank meanwhile the connection is closed
  /// after what could be sent (the Content-Length can no longer be kept).
  Response& body_file(kio::fs::File&& file, std::uint64_t offset, std::uint64_t length);
  bool has_file_body() const noexcept { return static_cast<bool>(file_); }
  const detail::FileBody& file_body() const noexcept { return file_; }

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
  detail::FileBody file_;
};

}  // namespace kio::http
