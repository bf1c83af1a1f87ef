// Fuzz target: the request parser on a whole input (a pipelined stream of requests), under three
// limit sets. Checks what must hold for every input: results within the input, views pointing into
// the request's own bytes, limits respected, only the documented error statuses, sticky errors and
// repeatable completions.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_support.hpp"
#include "kio/http/detail/chars.hpp"

namespace {

using namespace kio_fuzz;
namespace hd = kio::http::detail;

bool inside(std::string_view v, const char* lo, const char* hi) {
  return v.empty() || (v.data() >= lo && v.data() + v.size() <= hi);
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  for (char c : s)
    if (!pred(c)) return false;
  return true;
}

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}
bool visible(char c) {
  return c > 0x20 && c < 0x7f;
}
bool value_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

void check_request(const http::RequestParser& p, const http::Limits& lim, const char* lo,
                   std::size_t consumed) {
  const http::Request& q = p.request();
  const char* hi = lo + consumed;
  KIO_FUZZ_CHECK(!q.method_name.empty() && all_of(q.method_name, token_char));
  KIO_FUZZ_CHECK(q.method_name.size() <= lim.max_method);
  KIO_FUZZ_CHECK(q.method != http::Method::connect);  // CONNECT is always refused
  KIO_FUZZ_CHECK(!q.target.empty() && all_of(q.target, visible));
  KIO_FUZZ_CHECK(q.target.size() <= lim.max_target);
  KIO_FUZZ_CHECK(q.version_minor <= 1);
  KIO_FUZZ_CHECK(inside(q.method_name, lo, hi) && inside(q.target, lo, hi));
  KIO_FUZZ_CHECK(q.path == "/" || inside(q.path, lo, hi));
  KIO_FUZZ_CHECK(inside(q.query, lo, hi) && inside(q.body, lo, hi));
  if (q.target == "*")
    KIO_FUZZ_CHECK(q.method == http::Method::options && q.path == "*");
  else
    KIO_FUZZ_CHECK(!q.path.empty() && q.path[0] == '/');
  KIO_FUZZ_CHECK(q.headers.size() <= lim.max_headers);
  std::size_t hosts = 0;
  for (const http::Header& h : q.headers) {
    KIO_FUZZ_CHECK(inside(h.name, lo, hi) && inside(h.value, lo, hi));
    KIO_FUZZ_CHECK(!h.name.empty() && all_of(h.name, token_char));
    KIO_FUZZ_CHECK(all_of(h.value, value_char));
    KIO_FUZZ_CHECK(h.value.empty() || (h.value.front() != ' ' && h.value.front() != '\t' &&
                                       h.value.back() != ' ' && h.value.back() != '\t'));
    hosts += hd::iequals(h.name, "host");
  }
  KIO_FUZZ_CHECK(hosts <= 1);
  KIO_FUZZ_CHECK(q.version_minor == 0 || hosts == 1);
  KIO_FUZZ_CHECK(q.body.size() <= lim.max_body);
  if (!q.chunked) KIO_FUZZ_CHECK(q.body.size() == q.content_length);
  if (q.version_minor == 0) KIO_FUZZ_CHECK(!q.chunked && !q.expect_continue);
}

bool documented_status(unsigned s) {
  switch (s) {
    case 400:
    case 413:
    case 414:
    case 417:
    case 431:
    case 501:
    case 505:
      return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const http::Limits lim = pick_limits(data[0]);
  std::vector<char> buf(data + 1, data + size);
  http::RequestParser p(lim);
  std::size_t off = 0;
  while (off < buf.size()) {
    std::span<char> rest(buf.data() + off, buf.size() - off);
    http::ParseResult r = p.parse(rest);
    if (r.state == http::ParseState::incomplete) {
      KIO_FUZZ_CHECK(p.position() <= rest.size());
      break;
    }
    if (r.state == http::ParseState::error) {
      KIO_FUZZ_CHECK(documented_status(http::code(r.status)), std::to_string(http::code(r.status)));
      http::ParseResult again = p.parse(rest);  // errors are sticky
      KIO_FUZZ_CHECK(again.state == http::ParseState::error && again.status == r.status);
      break;
    }
    KIO_FUZZ_CHECK(r.consumed > 0 && r.consumed <= rest.size());
    check_request(p, lim, rest.data(), r.consumed);
    Outcome first = capture(p, r);
    Outcome again = capture(p, p.parse(rest));  // a completed request answers the same again
    KIO_FUZZ_CHECK(first == again, first.describe() + " then " + again.describe());
    off += r.consumed;
    p.reset();
  }
  return 0;
}
