// RequestParser: one pass per line; state between calls is offsets into the request's bytes.
#include "kio/http/parser.hpp"

#include <cstring>
#include <functional>
#include <limits>

#include "kio/http/detail/chars.hpp"

namespace kio::http {

namespace {

using detail::is;

/// a + b, or the maximum when that overflows: a limit may be "unlimited" (the type's maximum),
/// and a bound computed from it must then be unlimited too, not wrap around (issue 11).
constexpr std::size_t sat_add(std::size_t a, std::size_t b) noexcept {
  return b > std::numeric_limits<std::size_t>::max() - a ? std::numeric_limits<std::size_t>::max()
                                                         : a + b;
}

/// The end of a scan that may look at most `limit` bytes past `p`, within [p, end).
constexpr const char* scan_end(const char* p, const char* end, std::size_t limit) noexcept {
  return static_cast<std::size_t>(end - p) > limit ? p + limit : end;
}

/// A chunked body's raw size (data, chunk lines, extensions) is bounded by 2 * max_body + 64 KiB.
constexpr std::uint64_t raw_chunked_limit(std::uint64_t max_body) noexcept {
  constexpr std::uint64_t slack = 65536;
  constexpr std::uint64_t top = std::numeric_limits<std::uint64_t>::max();
  return max_body > (top - slack) / 2 ? top : 2 * max_body + slack;
}

constexpr bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back()))
    s.remove_suffix(1);
  return s;
}

/// Calls `fn(element)` for each non-empty element of a comma-separated list (RFC 9110 §5.6.1);
/// elements are trimmed. Returns false as soon as `fn` does.
template <class Fn>
bool for_each_element(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view el = trim_ows(list.substr(0, comma));
    if (!el.empty() && !fn(el)) return false;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return true;
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is(c, detail::tchar)) return false;
  return true;
}

/// Content-Length element: 1*DIGIT without overflow.
bool parse_length(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

/// Host = uri-host [ ":" port ] (RFC 9110 §7.2); empty is allowed.
bool valid_host(std::string_view h) noexcept {
  std::size_t i = 0;
  if (!h.empty() && h[0] == '[') {  // IP-literal
    std::size_t close = h.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (std::size_t k = 1; k < close; ++k) {
      char c = h[k];
      if (!(is(c, detail::hex_digit) || c == ':' || c == '.' || c == 'v' || c == 'V')) return false;
    }
    i = close + 1;
  } else {
    for (; i < h.size() && h[i] != ':'; ++i) {
      if (!is(h[i], detail::host_char)) return false;
    }
  }
  if (i == h.size()) return true;
  if (h[i] != ':') return false;
  for (++i; i < h.size(); ++i)
    if (h[i] < '0' || h[i] > '9') return false;
  return true;
}

/// Scans uri-host [ ":" port ] (RFC 9110 §7.2) from `p`, within [p, lim): returns the end of
/// what it took when [p, end) is a valid Host value, nullptr when the bytes from `p` do not start
/// one. valid_host(v) == (scan_host(v, v_end) == v_end) for any v with no CR, LF or OWS.
const char* scan_host(const char* p, const char* lim) noexcept {
  if (p < lim && *p == '[') {  // IP-literal
    const char* s = ++p;
    while (p < lim &&
           (is(*p, detail::hex_digit) || *p == ':' || *p == '.' || *p == 'v' || *p == 'V'))
      ++p;
    if (p == lim || *p != ']' || p == s) return nullptr;
    ++p;
  } else {
    while (p < lim && is(*p, detail::host_char))
      ++p;
  }
  if (p < lim && *p == ':') {
    ++p;
    while (p < lim && *p >= '0' && *p <= '9')
      ++p;
  }
  return p;
}

/// authority-form = uri-host ":" port, with a non-empty host and port (RFC 9112 §3.2.3).
bool valid_authority(std::string_view t) noexcept {
  std::size_t colon = t.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == t.size()) return false;
  std::string_view host = t.substr(0, colon);
  if (host.front() == '[' ? host.back() != ']' : host.find(':') != std::string_view::npos)
    return false;
  return valid_host(t);
}

}  // namespace

void RequestParser::reset() noexcept {
  req_.method = Method::other;
  req_.method_name = {};
  req_.target = {};  // one by one: `a = b = {}` reloads b right after storing it
  req_.path = {};
  req_.query = {};
  req_.body = {};
  req_.version_minor = 1;
  req_.headers.clear();
  req_.params.clear();
  req_.keep_alive = true;
  req_.expect_continue = false;
  req_.chunked = false;
  req_.content_length = 0;
  phase_ = Phase::request_line;
  status_ = Status::ok;
  base_ = nullptr;
  size_ = 0;
  pos_ = 0;
  st_ = State{};
}

void RequestParser::rebase(const char* old_base, std::size_t old_size,
                           const char* new_base) noexcept {
  auto lo = reinterpret_cast<std::uintptr_t>(old_base);
  auto hi = lo + old_size;
  auto move = [&](std::string_view& v) {
    auto p = reinterpret_cast<std::uintptr_t>(v.data());
    if (v.data() == nullptr || p < lo || p > hi) return;  // empty, or static text ("/")
    v = std::string_view(new_base + (p - lo), v.size());
  };
  move(req_.method_name);
  move(req_.target);
  move(req_.path);
  move(req_.query);
  Header* h = req_.headers.mutable_begin();
  for (std::size_t i = 0; i < req_.headers.size(); ++i) {
    move(h[i].name);
    move(h[i].value);
  }
}

ParseResult RequestParser::parse(std::span<char> data) noexcept {
  char* base = data.data();
  if (base != base_) {
    if (base_ != nullptr) rebase(base_, size_, base);
    base_ = base;
  }
  size_ = data.size();
  const char* end = base + data.size();

  Step s = Step::done;
  while (s == Step::done) {
    switch (phase_) {
      case Phase::request_line:
        s = parse_request_line(base, end);
        break;
      case Phase::fields:
        s = parse_fields(base, end);
        break;
      case Phase::body_fixed: {
        auto have = static_cast<std::uint64_t>(data.size() - pos_);
        if (have < req_.content_length) {
          s = Step::more;
          break;
        }
        req_.body = std::string_view(base + pos_, static_cast<std::size_t>(req_.content_length));
        pos_ += static_cast<std::size_t>(req_.content_length);
        phase_ = Phase::done;
        break;
      }
      case Phase::chunk_size:
      case Phase::chunk_data:
      case Phase::chunk_data_end:
      case Phase::trailers:
        s = parse_chunked(base, end);
        break;
      case Phase::done:
        return ParseResult{ParseState::complete, Status::ok, pos_};
      case Phase::failed:
        return ParseResult{ParseState::error, status_, 0};
    }
  }
  if (s == Step::error) return ParseResult{ParseState::error, status_, 0};
  return ParseResult{ParseState::incomplete, Status::ok, 0};
}

// ---- request line ---------------------------------------------------------------------------

RequestParser::Step RequestParser::parse_request_line(char* base, const char* end) noexcept {
  const char* p = base + pos_;
  // Empty lines before the request line are ignored (RFC 9112 §2.2), a few of them.
  for (;;) {
    if (p == end) return Step::more;
    if (*p == '\n') return fail(Status::bad_request);
    if (*p != '\r') break;
    if (p + 1 == end) return Step::more;
    if (p[1] != '\n' || ++st_.empty_lines > limits_.max_leading_empty_lines)
      return fail(Status::bad_request);
    p += 2;
    pos_ += 2;
  }

  // method SP
  const char* m = p;
  Method method;
  if (end - p >= 4 && std::memcmp(p, "GET ", 4) == 0 && limits_.max_method >= 3) {
    method = Method::get;  // fast path: the method of nearly every request
    p += 3;
  } else {
    const char* mlim = scan_end(m, end, limits_.max_method);
    while (p < mlim && is(*p, detail::tchar))
      ++p;
    if (p == end) return Step::more;
    if (*p != ' ')
      return fail(is(*p, detail::tchar) ? Status::not_implemented : Status::bad_request);
    if (p == m) return fail(Status::bad_request);
    method = method_from_token(std::string_view(m, static_cast<std::size_t>(p - m)));
  }
  const char* m_end = p++;

  // request-target SP; '#' is not a target byte (no fragment in a request-target, RFC 9112
  // §3.2): 400. The first '?' (where the query starts) is noted on the way.
  const char* t = p;
  const char* tlim = scan_end(t, end, limits_.max_target);
  const char* question = nullptr;
  for (;;) {
    p = detail::skip_target_words(p, tlim);
    if (p < tlim && is(*p, detail::target_char)) {
      if (*p == '?' && question == nullptr) question = p;
      ++p;
      continue;
    }
    break;
  }
  if (p == end) return Step::more;
  if (*p != ' ')
    return fail(is(*p, detail::target_char) ? Status::uri_too_long : Status::bad_request);
  if (p == t) return fail(Status::bad_request);
  const char* t_end = p++;

  // HTTP-version CRLF: "HTTP/" DIGIT "." DIGIT CR LF
  static constexpr char proto[] = "HTTP/";
  unsigned major = 0;
  unsigned minor = 0;
  if (end - p >= 10 && std::memcmp(p, "HTTP/1.", 7) == 0 && (p[7] == '1' || p[7] == '0') &&
      p[8] == '\r' && p[9] == '\n') {  // fast path: the two versions in use
    major = 1;
    minor = static_cast<unsigned>(p[7] - '0');
    p += 10;
  } else {
    for (int i = 0; i < 10; ++i, ++p) {
      if (p == end) return Step::more;
      char c = *p;
      bool ok;
      switch (i) {
        case 5:
        case 7:
          ok = c >= '0' && c <= '9';
          if (ok) (i == 5 ? major : minor) = static_cast<unsigned>(c - '0');
          break;
        case 6:
          ok = c == '.';
          break;
        case 8:
          ok = c == '\r';
          break;
        case 9:
          ok = c == '\n';
          break;
        default:
          ok = c == proto[i];
          break;
      }
      if (!ok) return fail(Status::bad_request);
      if (i == 7 && major != 1) return fail(Status::http_version_not_supported);
    }
  }

  req_.method_name = std::string_view(m, static_cast<std::size_t>(m_end - m));
  req_.method = method;
  req_.target = std::string_view(t, static_cast<std::size_t>(t_end - t));
  req_.version_minor = minor == 0 ? 0 : 1;
  // CONNECT asks for a tunnel (RFC 9110 §9.3.6), which an origin server does not open: 501, and
  // close (a client may already be sending tunnel bytes). Its target must be host ":" port
  // (RFC 9112 §3.2.3); anything else is malformed: 400.
  if (req_.method == Method::connect)
    return fail(valid_authority(req_.target) ? Status::not_implemented : Status::bad_request);
  if (!split_target(question ? static_cast<std::size_t>(question - t) : std::string_view::npos))
    return fail(Status::bad_request);
  pos_ = static_cast<std::size_t>(p - base);
  st_.fields_start = pos_;
  phase_ = Phase::fields;
  return Step::done;
}

/// Checks the request-target form (RFC 9112 §3.2) and splits path and query; `question` is the
/// offset of the target's first '?' (npos: none).
bool RequestParser::split_target(std::size_t question) noexcept {
  std::string_view t = req_.target;
  if (t[0] == '/') {  // origin-form: the scan found the query already
    if (question == std::string_view::npos) {
      req_.path = t;
      req_.query = {};
    } else {
      req_.path = t.substr(0, question);
      req_.query = t.substr(question + 1);
    }
    return true;
  }
  if (t == "*") {  // asterisk-form
    if (req_.method != Method::options) return false;
    req_.path = t;
    req_.query = {};
    return true;
  } else {  // absolute-form: scheme "://" authority path-abempty [ "?" query ]
    std::size_t i = 0;
    while (i < t.size() &&
           ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
            (i > 0 && ((t[i] >= '0' && t[i] <= '9') || t[i] == '+' || t[i] == '-' || t[i] == '.'))))
      ++i;
    if (i == 0 || t.substr(i, 3) != "://") return false;
    std::size_t a = i + 3;
    std::size_t rest = t.find_first_of("/?", a);
    if (rest == std::string_view::npos) rest = t.size();
    if (rest == a) return false;  // no authority
    // authority = host [ ":" port ]: no userinfo (RFC 9110 §4.2.4: treat it as an error).
    if (!valid_host(t.substr(a, rest - a))) return false;
    t = t.substr(rest);
    if (t.empty() || t[0] != '/') {  // "http://h" or "http://h?q": path is "/"
      req_.path = "/";
      req_.query = (!t.empty() && t[0] == '?') ? t.substr(1) : std::string_view{};
      return true;
    }
  }
  std::size_t q = t.find('?');
  if (q == std::string_view::npos) {
    req_.path = t;
    req_.query = {};
  } else {
    req_.path = t.substr(0, q);
    req_.query = t.substr(q + 1);
  }
  return true;
}

// ---- header fields --------------------------------------------------------------------------

RequestParser::Step RequestParser::parse_fields(char* base, const char* end) noexcept {
  auto avail = static_cast<std::size_t>(end - base);
  std::size_t bound = sat_add(st_.fields_start, limits_.max_header_bytes);
  const char* lim = base + (bound < avail ? bound : avail);
  // A line cut off at `lim`: wait for more, unless the limit cut it (then it can never fit).
  auto cut = [&]() {
    return bound <= avail ? fail(Status::request_header_fields_too_large) : Step::more;
  };
  std::size_t max_fields =
      limits_.max_headers < HeaderList::capacity ? limits_.max_headers : HeaderList::capacity;
  for (;;) {
    const char* p = base + pos_;
    if (p == lim) return cut();
    char c = *p;
    if (c == '\r') {
      if (p + 1 == lim) return cut();
      if (p[1] != '\n') return fail(Status::bad_request);
      pos_ += 2;
      return finish_head();
    }
    // obs-fold, or whitespace before the first field (RFC 9112 §2.2, §5.2): rejected.
    if (c == '\n' || is_ows(c)) return fail(Status::bad_request);

    const char* n = p;
    while (p < lim && is(*p, detail::tchar))
      ++p;
    if (p == lim) return cut();
    if (*p != ':' || p == n) return fail(Status::bad_request);
    std::string_view name(n, static_cast<std::size_t>(p - n));
    ++p;
    while (p < lim && is_ows(*p))
      ++p;
    const char* v = p;
    // Host is validated in the same pass: its value is scanned as uri-host [ ":" port ] first;
    // the value is a valid Host when nothing but trailing OWS follows what that scan took.
    const bool host = name.size() == 4 && detail::iequals(name, "host");
    const char* host_end = nullptr;
    if (host) {
      host_end = scan_host(p, lim);
      // Host characters are field characters: a scan that stopped at the CR took the value.
      if (host_end != nullptr && host_end < lim && *host_end == '\r') p = host_end;
    }
    for (;;) {
      p = detail::skip_value_words(p, lim);
      if (p < lim && is(*p, detail::field_char)) {
        ++p;
        continue;
      }
      break;
    }
    if (p == lim) return cut();
    if (*p != '\r') return fail(Status::bad_request);
    if (p + 1 == lim) return cut();
    if (p[1] != '\n') return fail(Status::bad_request);
    const char* v_end = p;
    while (v_end > v && is_ows(v_end[-1]))
      --v_end;
    std::string_view value(v, static_cast<std::size_t>(v_end - v));

    if (req_.headers.size() >= max_fields) return fail(Status::request_header_fields_too_large);
    req_.headers.push(name, value);
    if (host) {
      if (++st_.host_count > 1 || host_end != v_end) return fail(Status::bad_request);
    } else if (field_semantics(name, value) == Step::error) {
      return Step::error;
    }
    pos_ = static_cast<std::size_t>(p + 2 - base);
  }
}

/// Fields whose meaning the parser needs (framing, Host, Connection, Expect).
RequestParser::Step RequestParser::field_semantics(std::string_view name,
                                                   std::string_view value) noexcept {
  switch (name.size()) {
    case 6:
      if (detail::iequals(name, "expect")) {
        for_each_element(value, [&](std::string_view el) {
          if (detail::iequals(el, "100-continue"))
            req_.expect_continue = true;
          else
            st_.expect_other = true;
          return true;
        });
      }
      break;
    case 10:
      if (detail::iequals(name, "connection")) {
        bool ok = for_each_element(value, [&](std::string_view el) {
          if (!is_token(el)) return false;
          if (detail::iequals(el, "close")) st_.conn_close = true;
          if (detail::iequals(el, "keep-alive")) st_.conn_keep_alive = true;
          return true;
        });
        if (!ok) return fail(Status::bad_request);
      }
      break;
    case 14:
      if (detail::iequals(name, "content-length")) {
        // A list of identical values is one value (RFC 9110 §8.6); anything else is an error.
        bool any = false;
        bool ok = for_each_element(value, [&](std::string_view el) {
          std::uint64_t n = 0;
          if (!parse_length(el, n)) return false;
          if (st_.has_content_length && n != req_.content_length) return false;
          st_.has_content_length = true;
          req_.content_length = n;
          any = true;
          return true;
        });
        if (!ok || !any) return fail(Status::bad_request);
      }
      break;
    case 17:
      if (detail::iequals(name, "transfer-encoding")) {
        st_.has_transfer_encoding = true;
        bool any = false;
        bool ok = for_each_element(value, [&](std::string_view el) {
          any = true;
          std::size_t semi = el.find(';');
          std::string_view coding = trim_ows(el.substr(0, semi));
          if (!is_token(coding)) return false;
          if (st_.te_chunked > 0) st_.te_after_chunked = true;
          if (detail::iequals(coding, "chunked")) {
            if (semi != std::string_view::npos) return false;  // chunked takes no parameters
            ++st_.te_chunked;
          } else {
            st_.te_unknown = true;
          }
          return true;
        });
        if (!ok || !any) return fail(Status::bad_request);
      }
      break;
    default:
      break;
  }
  return Step::done;
}

RequestParser::Step RequestParser::finish_head() noexcept {
  bool v11 = req_.version_minor == 1;
  if (v11 && st_.host_count == 0) return fail(Status::bad_request);
  if (st_.has_transfer_encoding) {
    // RFC 9112 §6.1: TE in HTTP/1.0 means faulty framing; TE with CL is a smuggling vector.
    if (!v11 || st_.has_content_length) return fail(Status::bad_request);
    // §6.3: a request whose final coding is not chunked has no reliable length: 400 and close.
    // Chunked must also appear once (§6.1). Only then can an unknown coding before it be the
    // problem: 501 (§6.1).
    if (st_.te_chunked != 1 || st_.te_after_chunked) return fail(Status::bad_request);
    if (st_.te_unknown) return fail(Status::not_implemented);
  }
  if (!v11) {
    req_.expect_continue = false;  // HTTP/1.0 clients do not know 100 (RFC 9110 §10.1.1)
  } else if (st_.expect_other) {
    return fail(Status::expectation_failed);
  }
  req_.keep_alive = v11 ? !st_.conn_close : (st_.conn_keep_alive && !st_.conn_close);

  if (st_.has_transfer_encoding) {
    req_.chunked = true;
    st_.body_start = st_.write_pos = pos_;
    phase_ = Phase::chunk_size;
    return Step::done;
  }
  if (st_.has_content_length) {
    if (req_.content_length > limits_.max_body) return fail(Status::content_too_large);
    phase_ = req_.content_length > 0 ? Phase::body_fixed : Phase::done;
    // An empty body that still points into the buffer, like every other view of the request.
    // NOLINTNEXTLINE(bugprone-string-constructor)
    if (req_.content_length == 0) req_.body = std::string_view(base_ + pos_, 0);
    return Step::done;
  }
  req_.expect_continue = false;  // nothing to continue with
  phase_ = Phase::done;
  return Step::done;
}

// ---- chunked body ---------------------------------------------------------------------------

RequestParser::Step RequestParser::parse_chunked(char* base, const char* end) noexcept {
  for (;;) {
    switch (phase_) {
      case Phase::chunk_size: {
        Step s = parse_chunk_size_line(base, end);
        if (s != Step::done) return s;
        break;
      }
      case Phase::chunk_data: {
        auto have = static_cast<std::uint64_t>(static_cast<std::size_t>(end - base) - pos_);
        auto n = static_cast<std::size_t>(have < st_.chunk_left ? have : st_.chunk_left);
        if (st_.write_pos != pos_) std::memmove(base + st_.write_pos, base + pos_, n);
        st_.write_pos += n;
        pos_ += n;
        st_.chunk_left -= n;
        if (st_.chunk_left > 0) return Step::more;
        phase_ = Phase::chunk_data_end;
        break;
      }
      case Phase::chunk_data_end: {
        const char* p = base + pos_;
        if (p == end) return Step::more;
        if (*p != '\r') return fail(Status::bad_request);
        if (p + 1 == end) return Step::more;
        if (p[1] != '\n') return fail(Status::bad_request);
        pos_ += 2;
        phase_ = Phase::chunk_size;
        break;
      }
      case Phase::trailers: {
        Step s = parse_trailers(base, end);
        if (s != Step::done) return s;
        req_.body = std::string_view(base + st_.body_start, st_.write_pos - st_.body_start);
        phase_ = Phase::done;
        return Step::done;
      }
      default:
        return Step::done;
    }
  }
}

/// chunk-size [ chunk-ext ] CRLF, where chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] )
/// (RFC 9112 §7.1.1): whitespace may precede a ';' or surround an '=', never the CRLF.
RequestParser::Step RequestParser::parse_chunk_size_line(char* base, const char* end) noexcept {
  const char* p = base + pos_;
  auto avail = static_cast<std::size_t>(end - base);
  std::size_t bound = sat_add(pos_, limits_.max_chunk_line);
  const char* lim = base + (bound < avail ? bound : avail);
  auto cut = [&]() { return bound <= avail ? fail(Status::bad_request) : Step::more; };

  std::uint64_t size = 0;
  const char* d = p;
  while (p < lim && is(*p, detail::hex_digit)) {
    if (size > (std::numeric_limits<std::uint64_t>::max() >> 4)) return fail(Status::bad_request);
    char c = *p++;
    unsigned v = c <= '9' ? static_cast<unsigned>(c - '0')
                          : static_cast<unsigned>(detail::to_lower(c) - 'a' + 10);
    size = (size << 4) | v;
  }
  if (p == lim) return cut();
  if (p == d) return fail(Status::bad_request);
  for (;;) {
    const char* ws = p;
    while (p < lim && is_ows(*p))
      ++p;
    if (p == lim) return cut();
    if (*p == '\r') {
      if (p != ws) return fail(Status::bad_request);  // "4 \r\n": BWS only before ';'
      break;
    }
    if (*p != ';') return fail(Status::bad_request);
    ++p;
    while (p < lim && is_ows(*p))
      ++p;
    const char* n = p;
    while (p < lim && is(*p, detail::tchar))
      ++p;
    if (p == lim) return cut();
    if (p == n) return fail(Status::bad_request);
    const char* eq = p;  // BWS "=": look past the whitespace, keep it unless '=' follows
    while (eq < lim && is_ows(*eq))
      ++eq;
    if (eq == lim) return cut();
    if (*eq != '=') continue;
    p = eq + 1;
    while (p < lim && is_ows(*p))
      ++p;
    if (p == lim) return cut();
    if (*p == '"') {  // quoted-string
      ++p;
      for (;;) {
        if (p == lim) return cut();
        char c = *p;
        if (c == '"') break;
        if (c == '\\') {
          if (++p == lim) return cut();
          if (!is(*p, detail::field_char)) return fail(Status::bad_request);
        } else if (!is(c, detail::qd_text)) {
          return fail(Status::bad_request);
        }
        ++p;
      }
      ++p;
    } else {
      const char* v = p;
      while (p < lim && is(*p, detail::tchar))
        ++p;
      if (p == lim) return cut();
      if (p == v) return fail(Status::bad_request);
    }
  }
  if (p + 1 == lim) return cut();
  if (p[1] != '\n') return fail(Status::bad_request);
  pos_ = static_cast<std::size_t>(p + 2 - base);

  // Chunk lines and extensions are not body bytes: bound the raw size of a chunked body too,
  // or a client could make the server buffer framing without limit.
  if (pos_ - st_.body_start > raw_chunked_limit(limits_.max_body))
    return fail(Status::content_too_large);
  if (size == 0) {
    st_.trailers_start = pos_;
    phase_ = Phase::trailers;
    return Step::done;
  }
  if (size > limits_.max_body - st_.decoded) return fail(Status::content_too_large);
  st_.decoded += size;
  st_.chunk_left = size;
  phase_ = Phase::chunk_data;
  return Step::done;
}

/// trailer-section CRLF: field lines validated like headers, then dropped.
RequestParser::Step RequestParser::parse_trailers(char* base, const char* end) noexcept {
  auto avail = static_cast<std::size_t>(end - base);
  std::size_t bound = sat_add(st_.trailers_start, limits_.max_header_bytes);
  const char* lim = base + (bound < avail ? bound : avail);
  auto cut = [&]() {
    return bound <= avail ? fail(Status::request_header_fields_too_large) : Step::more;
  };
  for (;;) {
    const char* p = base + pos_;
    if (p == lim) return cut();
    if (*p == '\r') {
      if (p + 1 == lim) return cut();
      if (p[1] != '\n') return fail(Status::bad_request);
      pos_ += 2;
      return Step::done;
    }
    const char* n = p;
    while (p < lim && is(*p, detail::tchar))
      ++p;
    if (p == lim) return cut();
    if (*p != ':' || p == n) return fail(Status::bad_request);
    ++p;
    for (;;) {
      p = detail::skip_value_words(p, lim);
      if (p < lim && is(*p, detail::field_char)) {
        ++p;
        continue;
      }
      break;
    }
    if (p == lim) return cut();
    if (*p != '\r') return fail(Status::bad_request);
    if (p + 1 == lim) return cut();
    if (p[1] != '\n') return fail(Status::bad_request);
    pos_ = static_cast<std::size_t>(p + 2 - base);
  }
}

}  // namespace kio::http
