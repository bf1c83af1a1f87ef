// Shared by the parser fuzz targets: what a parse produced (copied out of the buffers, so
// outcomes of different runs can be compared), a connection-like feeder that moves the bytes to a
// fresh buffer at every call, and the limit variants the targets choose from.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kio/http/parser.hpp"

namespace kio_fuzz {

namespace http = kio::http;

/// `s` with bytes outside printable ASCII escaped, for failure messages.
inline std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    }
  }
  return out;
}

/// Stops the run (libFuzzer then saves the input) with a message.
[[noreturn]] inline void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz check failed: %s %s\n", what, detail.c_str());
  std::abort();
}
#define KIO_FUZZ_CHECK(cond, ...)                        \
  do {                                                   \
    if (!(cond)) ::kio_fuzz::fail(#cond, ##__VA_ARGS__); \
  } while (0)

struct Outcome {
  http::ParseState state = http::ParseState::incomplete;
  unsigned status = 0;
  std::size_t consumed = 0;
  std::string method, target, path, query, body;
  int minor = -1;
  std::vector<std::pair<std::string, std::string>> headers;
  bool keep_alive = false, expect_continue = false, chunked = false;
  std::uint64_t content_length = 0;

  bool operator==(const Outcome&) const = default;
  std::string describe() const {
    std::string s = "{state " + std::to_string(int(state)) + " status " + std::to_string(status) +
                    " consumed " + std::to_string(consumed) + " " + method + " " + target +
                    " headers " + std::to_string(headers.size()) + " body[" +
                    std::to_string(body.size()) + "]}";
    return s;
  }
};

inline Outcome capture(const http::RequestParser& p, const http::ParseResult& r) {
  Outcome o;
  o.state = r.state;
  if (r.state == http::ParseState::error) o.status = http::code(r.status);
  if (r.state != http::ParseState::complete) return o;
  const http::Request& q = p.request();
  o.consumed = r.consumed;
  o.method = q.method_name;
  o.target = q.target;
  o.path = q.path;
  o.query = q.query;
  o.body = q.body;
  o.minor = q.version_minor;
  for (const http::Header& h : q.headers)
    o.headers.emplace_back(h.name, h.value);
  o.keep_alive = q.keep_alive;
  o.expect_continue = q.expect_continue;
  o.chunked = q.chunked;
  o.content_length = q.content_length;
  return o;
}

/// Feeds a byte stream in pieces like a connection: each piece arrives in a fresh buffer and an
/// unfinished request's bytes are carried into it, so every resumed parse sees its bytes at a new
/// address (the old buffer is freed: a stale view is a use-after-free ASan reports).
class Feeder {
 public:
  explicit Feeder(const http::Limits& lim) : parser_(lim) {}

  void feed(std::string_view piece) {
    if (failed_) return;
    auto fresh = std::make_unique<std::vector<char>>(carry_.begin(), carry_.end());
    fresh->insert(fresh->end(), piece.begin(), piece.end());
    std::vector<char>& buf = *fresh;
    std::size_t start = 0;
    for (;;) {
      std::span<char> data(buf.data() + start, buf.size() - start);
      if (data.empty()) break;
      http::ParseResult r = parser_.parse(data);
      if (r.state == http::ParseState::incomplete) break;
      outcomes.push_back(capture(parser_, r));
      if (r.state == http::ParseState::error) {
        failed_ = true;
        break;
      }
      start += r.consumed;
      parser_.reset();
    }
    carry_.assign(buf.begin() + static_cast<std::ptrdiff_t>(start), buf.end());
    keep_ = std::move(fresh);
  }
  /// The state after the last piece: every outcome, then the unfinished request (if any).
  std::string summary() const {
    std::string s;
    for (const Outcome& o : outcomes)
      s += o.describe() + "\n";
    s += "pending " + std::to_string(carry_.size()) + " head_complete " +
         std::to_string(parser_.head_complete());
    return s;
  }
  bool same_as(const Feeder& o) const {
    // After an error the rest of the input is ignored: only the outcomes count.
    return outcomes == o.outcomes && failed_ == o.failed_ &&
           (failed_ ||
            (carry_ == o.carry_ && parser_.head_complete() == o.parser_.head_complete()));
  }

  std::vector<Outcome> outcomes;

 private:
  http::RequestParser parser_;
  std::vector<char> carry_;
  std::unique_ptr<std::vector<char>> keep_;
  bool failed_ = false;
};

/// Limit sets a target picks from with one input byte: the defaults, tiny limits (so every
/// limit is crossed by short inputs), and "unlimited" (each limit at its type's maximum).
inline http::Limits pick_limits(std::uint8_t b) {
  constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
  switch (b % 3) {
    case 0:
      return {};
    case 1:
      return {.max_method = 8,
              .max_target = 32,
              .max_header_bytes = 64,
              .max_headers = 4,
              .max_body = 32,
              .max_chunk_line = 16,
              .max_leading_empty_lines = 1};
    default:
      return {.max_method = none,
              .max_target = none,
              .max_header_bytes = none,
              .max_headers = none,
              .max_body = std::numeric_limits<std::uint64_t>::max(),
              .max_chunk_line = none,
              .max_leading_empty_lines = none};
  }
}

}  // namespace kio_fuzz
