// kio::http::RequestParser — incremental, zero-copy, strict HTTP/1.x request parser (RFC 9112).
//
//   kio::http::RequestParser parser;                  // one per connection
//   auto r = parser.parse(bytes);                      // bytes start at the request's first byte
//   if (r.state == kio::http::ParseState::complete) {
//     handle(parser.request());                        // views into `bytes`
//     bytes = bytes.subspan(r.consumed);               // next pipelined request, if any
//     parser.reset();
//   } else if (r.state == kio::http::ParseState::error) {
//     answer(r.status); close();                       // 400, 413, 414, 431, 501, 505, ...
//   }                                                  // incomplete: call again with more bytes
//
// Input contract: `data` always starts at the first byte of the current request. After an
// `incomplete` result the next call must pass the same bytes followed by more; the bytes may have
// moved to another address (the parser re-points its views), but their content must be kept as the
// parser left it: a chunked body is decoded in place, inside the bytes it already consumed.
// Incremental: completed lines and chunk data are never parsed twice; only a line that was cut off
// is scanned again when more bytes arrive. A request split at any byte boundary therefore parses
// exactly like one delivered whole, including which error it gets.
// Strictness (status answered): bad syntax, bare CR or LF, obs-fold, whitespace before a colon,
// invalid characters in names/values/target (a '#' too: a request-target has no fragment, RFC 9112
// §3.2), missing Host in 1.1, duplicate Host, invalid Host,
// bad/duplicate differing/overflowing Content-Length, Content-Length with Transfer-Encoding,
// Transfer-Encoding in HTTP/1.0, a final transfer coding other than chunked, chunked twice, bad
// chunk lines (whitespace is allowed only before a ';' or around an '=' of an extension, never
// before the CRLF: "4 \r\n" is 400), CONNECT with a target other than host ":" port: 400. An
// unknown transfer coding before the final chunked, an overlong method, or CONNECT: 501. HTTP
// major version other than 1: 505. Limits: 414 (target), 431 (header section / field count /
// trailers), 413 (body, declared or decoded; raw chunked size). An Expect other than
// 100-continue: 417. After any error the connection should be closed.
// Deliberate choices (RFC 9110 / 9112):
//   * Transfer-Encoding whose final coding is not chunked ("gzip", "chunked, gzip"): 400, as
//     RFC 9112 §6.3 requires for requests; "gzip, chunked" is framed fine but the coding is not
//     supported: 501 (§6.1).
//   * CONNECT: kio is an origin server and opens no tunnels, so CONNECT host:port gets 501
//     (RFC 9110 §15.6.2: the functionality is not supported) at the request line, and the
//     connection closes (the client may already be sending tunnel bytes). Other methods with an
//     authority-form target, and CONNECT with any other form: 400.
//   * "OPTIONS *" parses (path "*"); the Router answers it (200 with Allow, RFC 9110 §9.3.7).
//     An asterisk with another method: 400.
//   * An empty Host value is accepted: it is valid syntax (reg-name may be empty, RFC 9110 §7.2)
//     and RFC 9112 §3.3 then takes the server's own name as the authority; kio serves one origin.
//   * Limits set to their type's maximum mean "unlimited": every bound computed from them
//     saturates instead of wrapping.
// Errors: never throws; the result carries the status. Threading: one parser per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kio/http/limits.hpp"
#include "kio/http/request.hpp"
#include "kio/http/status.hpp"

namespace kio::http {

enum class ParseState : std::uint8_t { complete, incomplete, error };

struct ParseResult {
  ParseState state = ParseState::incomplete;
  /// On error: the status to answer with.
  Status status = Status::ok;
  /// On complete: bytes of `data` the request occupied (the next request starts there).
  std::size_t consumed = 0;
};

class RequestParser {
 public:
  explicit RequestParser(const Limits& limits = {}) noexcept : limits_(limits) {}

  /// Parses (more of) the current request from `data`; see the input contract above.
  ParseResult parse(std::span<char> data) noexcept;

  /// The request: head fields are valid once head_complete(), the body once complete.
  Request& request() noexcept { return req_; }
  const Request& request() const noexcept { return req_; }
  /// The request line and header section are parsed (the body may still be incomplete).
  bool head_complete() const noexcept {
    return phase_ >= Phase::body_fixed && phase_ != Phase::failed;
  }
  /// Bytes of the current request examined so far (0: nothing of a request has arrived yet).
  std::size_t position() const noexcept { return pos_; }
  const Limits& limits() const noexcept { return limits_; }
  /// Changes the limits; only between requests (a fresh or reset parser).
  void set_limits(const Limits& limits) noexcept { limits_ = limits; }

  /// Prepares for the next request (after complete; after an error the connection should close).
  void reset() noexcept;

 private:
  enum class Phase : std::uint8_t {
    request_line,
    fields,
    body_fixed,
    chunk_size,
    chunk_data,
    chunk_data_end,
    trailers,
    done,
    failed,
  };
  enum class Step : std::uint8_t { done, more, error };

  Step parse_request_line(char* base, const char* end) noexcept;
  Step parse_fields(char* base, const char* end) noexcept;
  Step finish_head() noexcept;
  Step parse_chunked(char* base, const char* end) noexcept;
  Step parse_chunk_size_line(char* base, const char* end) noexcept;
  Step parse_trailers(char* base, const char* end) noexcept;
  Step field_semantics(std::string_view name, std::string_view value) noexcept;
  Step fail(Status s) noexcept {
    status_ = s;
    phase_ = Phase::failed;
    return Step::error;
  }
  bool split_target(std::size_t question) noexcept;
  void rebase(const char* old_base, std::size_t old_size, const char* new_base) noexcept;

  // Scalars first, the request (with its header array) last: see Request.
  Phase phase_ = Phase::request_line;
  Status status_ = Status::ok;
  const char* base_ = nullptr;  // where `data` was at the last call
  std::size_t size_ = 0;        // its size then
  std::size_t pos_ = 0;         // next unparsed byte, relative to the request start
  /// Per-request bookkeeping, reset in one go.
  struct State {
    std::size_t fields_start = 0;
    std::size_t empty_lines = 0;
    // chunked body
    std::size_t body_start = 0;
    std::size_t write_pos = 0;     // decoded bytes end here (in place)
    std::uint64_t chunk_left = 0;  // data bytes left in the current chunk
    std::uint64_t decoded = 0;
    std::size_t trailers_start = 0;
    // header semantics
    std::uint8_t host_count = 0;
    std::uint8_t te_chunked = 0;  // "chunked" elements seen
    bool has_content_length = false;
    bool has_transfer_encoding = false;
    bool te_unknown = false;
    bool te_after_chunked = false;
    bool conn_close = false;
    bool conn_keep_alive = false;
    bool expect_other = false;
  } st_;
  Limits limits_;
  Request req_;
};

}  // namespace kio::http
