// Fuzz target: the chunked body decoder against a reference decoder written here, separately and
// plainly (one sequential pass over the RFC 9112 §7.1 grammar, no incremental state). The input is
// the body of a fixed chunked request head; small limits make every limit reachable. Both must
// agree on the outcome (complete / incomplete / error and its status), the bytes consumed and the
// decoded body; the parser must also give the same outcome when the input is split in two.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"

namespace {

using namespace kio_fuzz;

constexpr std::string_view head =
    "POST / HTTP/1.1\r\nHost: f\r\nTransfer-Encoding: chunked\r\n\r\n";
constexpr http::Limits limits{.max_header_bytes = 128, .max_body = 256, .max_chunk_line = 64};

// ---- the reference: RFC 9112 §7.1, §7.1.1, §7.1.2 -------------------------------------------

bool tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  for (char p : std::string_view("!#$%&'*+-.^_`|~"))
    if (c == p) return true;
  return false;
}
bool hexdig(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool ows(char c) {
  return c == ' ' || c == '\t';
}
bool obs_text(char c) {
  return static_cast<unsigned char>(c) >= 0x80;
}
bool vchar(char c) {
  return c >= 0x21 && c <= 0x7e;
}
bool field_char(char c) {  // field-vchar / SP / HTAB
  return vchar(c) || obs_text(c) || ows(c);
}
bool qdtext(char c) {
  return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
         (c >= 0x5d && c <= 0x7e) || obs_text(c);
}

enum class Got { byte, more, limit };

struct Reference {
  std::string_view b;
  std::size_t n;
  // The line (or trailer section) being read started here and may be `max` bytes long.
  std::size_t line_start = 0;
  std::size_t max = 0;
  char c = 0;

  /// Byte j of the current line: the limit is checked first (a line that filled its limit
  /// without ending is refused even if no further byte has arrived), then availability.
  Got get(std::size_t j) {
    if (j - line_start >= max) return Got::limit;
    if (j >= n) return Got::more;
    c = b[j];
    return Got::byte;
  }
};

struct Verdict {
  http::ParseState state = http::ParseState::incomplete;
  unsigned status = 0;
  std::size_t consumed = 0;
  std::string body;
};

Verdict reference(std::string_view b) {
  Verdict v;
  Reference r{b, b.size()};
  auto error = [&](unsigned s) {
    v.state = http::ParseState::error;
    v.status = s;
    return v;
  };
  auto stop = [&](Got g, unsigned limit_status) {
    if (g == Got::more) return v;  // incomplete
    return error(limit_status);
  };
  const std::uint64_t raw_limit = 2 * limits.max_body + 65536;
  std::uint64_t decoded = 0;
  std::size_t i = 0;
  for (;;) {
    // chunk-size [ chunk-ext ] CRLF
    r.line_start = i;
    r.max = limits.max_chunk_line;
    std::size_t j = i;
    std::uint64_t size = 0;
    Got g;
    while ((g = r.get(j)) == Got::byte && hexdig(r.c)) {
      if (size > (std::numeric_limits<std::uint64_t>::max() >> 4)) return error(400);
      unsigned d = r.c <= '9' ? unsigned(r.c - '0') : unsigned((r.c | 0x20) - 'a' + 10);
      size = size * 16 + d;
      ++j;
    }
    if (g != Got::byte) return stop(g, 400);
    if (j == i) return error(400);
    for (;;) {
      std::size_t ws = j;
      while ((g = r.get(j)) == Got::byte && ows(r.c))
        ++j;
      if (g != Got::byte) return stop(g, 400);
      if (r.c == '\r') {
        if (j != ws) return error(400);  // BWS belongs before ';' only
        break;
      }
      if (r.c != ';') return error(400);
      ++j;
      while ((g = r.get(j)) == Got::byte && ows(r.c))
        ++j;
      std::size_t name = j;
      while ((g = r.get(j)) == Got::byte && tchar(r.c))
        ++j;
      if (g != Got::byte) return stop(g, 400);
      if (j == name) return error(400);
      std::size_t e = j;
      while ((g = r.get(e)) == Got::byte && ows(r.c))
        ++e;
      if (g != Got::byte) return stop(g, 400);
      if (r.c != '=') continue;
      j = e + 1;
      while ((g = r.get(j)) == Got::byte && ows(r.c))
        ++j;
      if (g != Got::byte) return stop(g, 400);
      if (r.c == '"') {
        ++j;
        for (;;) {
          if ((g = r.get(j)) != Got::byte) return stop(g, 400);
          if (r.c == '"') break;
          if (r.c == '\\') {
            ++j;
            if ((g = r.get(j)) != Got::byte) return stop(g, 400);
            if (!field_char(r.c)) return error(400);
          } else if (!qdtext(r.c)) {
            return error(400);
          }
          ++j;
        }
        ++j;
      } else {
        std::size_t val = j;
        while ((g = r.get(j)) == Got::byte && tchar(r.c))
          ++j;
        if (g != Got::byte) return stop(g, 400);
        if (j == val) return error(400);
      }
    }
    if ((g = r.get(j + 1)) != Got::byte) return stop(g, 400);
    if (r.c != '\n') return error(400);
    i = j + 2;
    if (i > raw_limit) return error(413);
    if (size == 0) break;
    if (size > limits.max_body - decoded) return error(413);
    decoded += size;
    // chunk-data CRLF
    if (b.size() - i < size) return v;
    v.body.append(b.substr(i, size));
    i += size;
    if (i >= b.size()) return v;
    if (b[i] != '\r') return error(400);
    if (i + 1 >= b.size()) return v;
    if (b[i + 1] != '\n') return error(400);
    i += 2;
  }
  // trailer-section CRLF: the whole section within max_header_bytes (431 past it)
  r.line_start = i;
  r.max = limits.max_header_bytes;
  for (;;) {
    Got g = r.get(i);
    if (g != Got::byte) return stop(g, 431);
    if (r.c == '\r') {
      if ((g = r.get(i + 1)) != Got::byte) return stop(g, 431);
      if (r.c != '\n') return error(400);
      i += 2;
      break;
    }
    std::size_t name = i;
    while ((g = r.get(i)) == Got::byte && tchar(r.c))
      ++i;
    if (g != Got::byte) return stop(g, 431);
    if (r.c != ':' || i == name) return error(400);
    ++i;
    while ((g = r.get(i)) == Got::byte && field_char(r.c))
      ++i;
    if (g != Got::byte) return stop(g, 431);
    if (r.c != '\r') return error(400);
    if ((g = r.get(i + 1)) != Got::byte) return stop(g, 431);
    if (r.c != '\n') return error(400);
    i += 2;
  }
  v.state = http::ParseState::complete;
  v.consumed = head.size() + i;
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t pick = static_cast<std::size_t>(data[0]) << 8 | data[1];
  std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::string in = std::string(head) + std::string(body);

  Verdict want = reference(body);
  if (want.state != http::ParseState::complete) want.body.clear();  // a body only when complete
  Feeder whole(limits);
  whole.feed(in);
  Verdict got;
  if (!whole.outcomes.empty()) {
    const Outcome& o = whole.outcomes.front();
    got.state = o.state;
    got.status = o.status;
    got.consumed = o.consumed;
    got.body = o.body;
  }
  auto show = [](const Verdict& x) {
    return "{state " + std::to_string(int(x.state)) + " status " + std::to_string(x.status) +
           " consumed " + std::to_string(x.consumed) + " body[" + std::to_string(x.body.size()) +
           "]}";
  };
  KIO_FUZZ_CHECK(got.state == want.state && got.status == want.status &&
                     got.consumed == want.consumed && got.body == want.body,
                 "parser " + show(got) + " reference " + show(want));

  const std::size_t k = head.size() + pick % (body.size() + 1);
  Feeder two(limits);
  two.feed(std::string_view(in).substr(0, k));
  two.feed(std::string_view(in).substr(k));
  KIO_FUZZ_CHECK(two.same_as(whole), "split at " + std::to_string(k));
  return 0;
}
