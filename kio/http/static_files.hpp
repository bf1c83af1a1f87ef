// kio::http static files — `router.static_dir(prefix, dir)` serves a directory tree.
//
//   kio::http::Router router;
//   router.static_dir("/assets", "/srv/www/assets");     // GET/HEAD /assets/<path>
//   router.static_dir("/", "./public", {.index = "index.html"});
//
// What a request gets:
// * 200 with Content-Length, Content-Type by extension (static_content_type), Last-Modified,
//   ETag ("<mtime hex>-<size hex>", like nginx) and Accept-Ranges; HEAD the same without a body.
// * 304 Not Modified when If-None-Match matches the ETag (weak comparison, "*" too), or — only
//   without If-None-Match — when If-Modified-Since is not older than the modification time.
// * Range: one range ("bytes=a-b", "a-", "-n") -> 206 with Content-Range; a range starting past
//   the end -> 416 with "Content-Range: bytes */size"; several ranges or a malformed header -> the
//   whole file (200); If-Range that does not match -> the whole file.
// * A directory: 301 to the same path with '/' appended, then its `index` file (404 if none; no
//   listings).
// * Refused: a ".." segment, also percent-encoded ("%2e%2e", "%2E%2e%2f") -> 403; a name that
//   resolves outside `dir` (a symlink leaving it; the file is opened with openat2
//   RESOLVE_BENEATH) -> 403; an encoded NUL ("%00") -> 404; a malformed percent escape -> 400;
//   anything but a regular file or directory (FIFO, device) -> 403; missing -> 404.
// The body is the file itself: the response owns the open file (Response::body_file) and the
// server sends it without a user-space copy (ServerOptions::file_send). Opening goes through the
// ring (kio::fs, openat2); the open file's statx is a direct call (the kernel would run
// IORING_OP_STATX on an io-wq thread, which costs more than the call). Nothing is cached, so
// changes on disk show at once.
// Runs on: every core (the handler is async and keeps no per-request state outside its frame).
// Cancellation: its ring operations (openat2, then the body's send) observe the connection's
// token: a deadline or a runtime stop ends them, and the open file is closed with the response.
// Errors: static_dir throws std::system_error naming the directory if it cannot be opened (a
// misconfiguration), std::invalid_argument for a prefix that is not "/" or "/a/b" without a
// trailing '/'.
// Lifetime: the directory is opened once (O_PATH) when the route is added and kept by the Router.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace kio::http {

struct StaticOptions {
  /// File served for a directory ("" = no index: directories are 404).
  std::string index = "index.html";
};

/// The Content-Type for a file name, by its extension ("application/octet-stream" if unknown).
std::string_view static_content_type(std::string_view name) noexcept;

namespace detail {
/// Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); nullopt for anything else.
std::optional<std::time_t> parse_http_date(std::string_view s) noexcept;
struct ByteRange {
  enum Kind { none, satisfiable, unsatisfiable } kind = none;
  std::uint64_t first = 0, length = 0;
};
/// Interprets a Range header for a representation of `size` bytes (single ranges only).
ByteRange parse_range(std::string_view header, std::uint64_t size) noexcept;
/// Whether an If-None-Match list matches `etag` (weak comparison).
bool etag_list_matches(std::string_view list, std::string_view etag) noexcept;
}  // namespace detail

}  // namespace kio::http
