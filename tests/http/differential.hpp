// Differential parsing: kio's RequestParser against Node's former parser, http_parser (Debian's
// libhttp-parser-dev), an independent implementation. Shared by differential_test.cpp (generated
// and mutated requests) and tests/fuzz/differential_fuzz.cpp (libFuzzer-driven inputs).
//
// For one request (the first of the input) both parsers give a verdict: accept, reject or
// incomplete. They must agree; where both accept, on method, target, header fields (names and
// values, in order) and body (and the bytes the request occupied). Every intentional difference is
// a row of `differences()`: which side accepts, the RFC reason, and a test on the input (`Scan`,
// computed here from the raw bytes, independently of both parsers) that says whether the row
// applies. A disagreement no row explains is a failure.
#pragma once

#include <http_parser.h>

#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kio/http/parser.hpp"

namespace kio_diff {

namespace http = kio::http;

enum class Verdict { accept, reject, incomplete };

inline const char* name(Verdict v) {
  return v == Verdict::accept ? "accept" : v == Verdict::reject ? "reject" : "incomplete";
}

/// What one parser made of the input's first request.
struct View {
  Verdict verdict = Verdict::incomplete;
  std::string why;  // kio: the status; http_parser: the error name
  std::size_t consumed = 0;
  std::string method, target, body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool upgrade = false;  // http_parser only: it stopped after the head of an upgrade/CONNECT
};

inline View run_kio(std::string_view in, const http::Limits& lim = {}) {
  View v;
  std::vector<char> buf(in.begin(), in.end());
  http::RequestParser p(lim);
  http::ParseResult r = p.parse(buf);
  if (r.state == http::ParseState::incomplete) return v;
  if (r.state == http::ParseState::error) {
    v.verdict = Verdict::reject;
    v.why = std::to_string(http::code(r.status));
    return v;
  }
  const http::Request& q = p.request();
  v.verdict = Verdict::accept;
  v.consumed = r.consumed;
  v.method = q.method_name;
  v.target = q.target;
  v.body = q.body;
  for (const http::Header& h : q.headers)
    v.headers.emplace_back(h.name, h.value);
  return v;
}

namespace detail {
struct HpState {
  View* v;
  bool in_value = false;
  bool done = false;
};
inline HpState& st(http_parser* p) {
  return *static_cast<HpState*>(p->data);
}
}  // namespace detail

inline View run_http_parser(std::string_view in) {
  View v;
  detail::HpState state{&v};
  http_parser p;
  http_parser_init(&p, HTTP_REQUEST);
  p.data = &state;
  http_parser_settings s;
  http_parser_settings_init(&s);
  s.on_url = [](http_parser* p, const char* at, std::size_t n) {
    detail::st(p).v->target.append(at, n);
    return 0;
  };
  s.on_header_field = [](http_parser* p, const char* at, std::size_t n) {
    detail::HpState& st = detail::st(p);
    if (st.v->headers.empty() || st.in_value) st.v->headers.emplace_back();
    st.in_value = false;
    st.v->headers.back().first.append(at, n);
    return 0;
  };
  s.on_header_value = [](http_parser* p, const char* at, std::size_t n) {
    detail::HpState& st = detail::st(p);
    st.in_value = true;
    st.v->headers.back().second.append(at, n);
    return 0;
  };
  s.on_headers_complete = [](http_parser* p) {
    detail::st(p).v->method = http_method_str(static_cast<http_method>(p->method));
    return 0;
  };
  s.on_body = [](http_parser* p, const char* at, std::size_t n) {
    detail::st(p).v->body.append(at, n);
    return 0;
  };
  s.on_message_complete = [](http_parser* p) {
    detail::st(p).done = true;
    http_parser_pause(p, 1);  // one request: stop right here
    return 0;
  };
  std::size_t n = http_parser_execute(&p, &s, in.data(), in.size());
  v.upgrade = p.upgrade;
  if (state.done) {
    v.verdict = Verdict::accept;
    v.consumed = n;
  } else if (HTTP_PARSER_ERRNO(&p) != HPE_OK) {
    v.verdict = Verdict::reject;
    v.why = http_errno_name(HTTP_PARSER_ERRNO(&p));
  }
  return v;
}

// ---- what the input contains, seen from the raw bytes -------------------------------------------

inline bool tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  for (char p : std::string_view("!#$%&'*+-.^_`|~"))
    if (c == p) return true;
  return false;
}
inline bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!tchar(c)) return false;
  return true;
}
inline bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? char(a[i] + 32) : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? char(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}
inline std::vector<std::string_view> list_elements(std::string_view v) {
  std::vector<std::string_view> out;
  for (;;) {
    std::size_t c = v.find(',');
    std::string_view el = trim(v.substr(0, c));
    if (!el.empty()) out.push_back(el);
    if (c == std::string_view::npos) return out;
    v.remove_prefix(c + 1);
  }
}
/// The methods http_parser knows (every other token is refused by it).
inline bool http_parser_knows(std::string_view m) {
  static constexpr std::string_view known[] = {
#define KIO_DIFF_METHOD(num, name, string) #string,
      HTTP_METHOD_MAP(KIO_DIFF_METHOD)
#undef KIO_DIFF_METHOD
  };
  for (std::string_view k : known)
    if (k == m) return true;
  return false;
}

/// Features of the input, found by scanning its bytes line by line (no parser involved).
struct Scan {
  bool bare_lf = false;          // a line of the head or the chunk framing ends in LF alone
  bool bare_cr = false;          // a CR not followed by LF
  bool leading_ws_line = false;  // a header or trailer line starting with SP/HTAB (obs-fold)
  bool ws_before_colon = false;
  bool request_line_shape = false;  // not exactly "method SP target SP version"
  bool target_chars = false;        // a target byte outside visible ASCII
  bool target_form = false;         // not origin-form, "*", or scheme "://" authority
  bool asterisk_not_options = false;
  bool connect = false;
  bool version_bad = false;          // not "HTTP/" DIGIT "." DIGIT, or a major version other than 1
  bool name_chars = false;           // a field name (header or trailer) with a non-token byte
  bool value_chars = false;          // a field value with a control byte (other than HTAB) or DEL
  bool framing_name_prefix = false;  // a field named "Transfer-Encoding<more>"
  bool chunk_data_end = false;       // chunk data not followed by CRLF
  bool host_problem = false;  // 1.1 without Host, Host twice, or a Host value outside the grammar
  bool te_in_http10 = false;
  bool te_unsupported = false;     // a coding other than "chunked", or chunked more than once
  bool te_list_form = false;       // Transfer-Encoding with empty list elements or trailing OWS
  bool userinfo = false;           // "user@" in an absolute-form target
  bool authority_bad = false;      // an absolute-form authority that is not host [ ":" port ]
  bool scheme_not_alpha = false;   // an absolute-form scheme with digits, '+', '-' or '.'
  bool cut_in_line = false;        // the input ends inside a line
  bool chunk_line_extras = false;  // a chunk-size line with more than hex digits
  bool trailer_lines = false;      // a chunked body with trailer fields
  bool framing_trailer = false;    // a Content-Length or Transfer-Encoding trailer field
  bool expect_other = false;
  bool connection_not_token = false;
  bool over_limits = false;      // past one of kio's default Limits
  bool method_unknown = false;   // a token http_parser does not know as a method
  bool cl_repeated = false;      // Content-Length as a list, or in several fields
  bool cl_trailing_ows = false;  // "Content-Length: 5\t"
  bool cl_bad = false;           // a Content-Length element that is not 1*DIGIT, or none at all
  bool upgrade = false;          // "Connection: upgrade" with an Upgrade field
  bool value_trailing_ws = false;
  bool fragment = false;  // '#' in the target
};

/// uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2): reg-name characters or an
/// IP-literal in brackets, then optional ":" digits.
inline bool host_ok(std::string_view h) {
  if (!h.empty() && h[0] == '[') {
    std::size_t close = h.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : h.substr(1, close - 1))
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.' || c == 'v' ||
            c == 'V'))
        return false;
    h = h.substr(close + 1);
    if (!h.empty() && h[0] != ':') return false;
  } else {
    std::size_t c = h.find(':');
    for (char ch : h.substr(0, c))
      if (!(std::isalnum(static_cast<unsigned char>(ch)) ||
            std::string_view("-._~%!$&'()*+,;=").find(ch) != std::string_view::npos))
        return false;
    h = c == std::string_view::npos ? std::string_view{} : h.substr(c);
  }
  if (!h.empty())
    for (char ch : h.substr(1))
      if (ch < '0' || ch > '9') return false;
  return true;
}

/// Checks one field line's name and value bytes (headers and trailers alike).
inline void scan_field_line(std::string_view line, Scan& s) {
  std::size_t colon = line.find(':');
  std::string_view name = line.substr(0, colon);
  if (colon != std::string_view::npos && !name.empty() &&
      (name.back() == ' ' || name.back() == '\t'))
    s.ws_before_colon = true;
  if (colon != std::string_view::npos)  // before a colon, trailing whitespace is its own row
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
      name.remove_suffix(1);
  for (char c : name)
    if (!tchar(c)) s.name_chars = true;
  if (colon == std::string_view::npos) return;
  for (char c : line.substr(colon + 1)) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) s.value_chars = true;
  }
}

inline Scan scan(std::string_view in) {
  Scan s;
  const http::Limits lim;
  // Lines: [start, end) without the terminator; `crlf` whether it ended in CRLF.
  struct Line {
    std::string_view text;
    bool crlf;
    bool complete;
  };
  std::size_t at = 0;
  auto next_line = [&]() -> Line {
    std::size_t lf = in.find('\n', at);
    if (lf == std::string_view::npos) {
      Line l{in.substr(at), false, false};
      if (!l.text.empty()) s.cut_in_line = true;
      at = in.size();
      return l;
    }
    std::string_view t = in.substr(at, lf - at);
    bool crlf = !t.empty() && t.back() == '\r';
    if (crlf) t.remove_suffix(1);
    if (!crlf) s.bare_lf = true;
    at = lf + 1;
    return {t, crlf, true};
  };
  auto note_cr = [&](std::string_view t) {
    if (t.find('\r') != std::string_view::npos) s.bare_cr = true;
  };

  Line rl{};
  std::size_t empties = 0;
  for (;;) {
    if (at >= in.size()) return s;
    rl = next_line();
    if (!rl.text.empty() || !rl.complete) break;
    if (++empties > lim.max_leading_empty_lines) s.over_limits = true;
  }
  note_cr(rl.text);
  // request line
  std::string_view method, target, version;
  {
    std::string_view t = rl.text;
    std::size_t a = t.find(' ');
    std::size_t b = a == std::string_view::npos ? a : t.find(' ', a + 1);
    // Not "method SP target SP version" with single spaces (a cut-off line may lack parts).
    if ((rl.complete && b == std::string_view::npos) || a == 0 || b == a + 1 ||
        (b != std::string_view::npos && t.find(' ', b + 1) != std::string_view::npos) ||
        t.find('\t') != std::string_view::npos) {
      s.request_line_shape = true;
      return s;  // which part is which is unknown: nothing more to learn from this input
    }
    method = t.substr(0, a);
    if (a != std::string_view::npos) {
      target = t.substr(a + 1, b == std::string_view::npos ? std::string_view::npos : b - a - 1);
      if (b != std::string_view::npos) version = t.substr(b + 1);
    }
  }
  if (method.size() > lim.max_method) s.over_limits = true;
  if (!method.empty() && is_token(method) && !http_parser_knows(method)) s.method_unknown = true;
  if (method == "CONNECT") s.connect = true;
  if (target.size() > lim.max_target) s.over_limits = true;
  for (char c : target) {
    if (c <= 0x20 || c >= 0x7f) s.target_chars = true;
    if (c == '#') s.fragment = true;
  }
  if (target == "*") {
    if (method != "OPTIONS") s.asterisk_not_options = true;
  } else if (!target.empty() && target[0] != '/') {
    std::size_t i = 0;
    while (i < target.size() && (std::isalnum(static_cast<unsigned char>(target[i])) ||
                                 target[i] == '+' || target[i] == '-' || target[i] == '.'))
      ++i;
    if (i == 0 || target.substr(i, 3) != "://" || i + 3 >= target.size() || target[i + 3] == '/' ||
        target[i + 3] == '?' || target[i + 3] == '#')
      s.target_form = true;
    for (std::size_t k = 0; k < i; ++k)
      if (!std::isalpha(static_cast<unsigned char>(target[k]))) s.scheme_not_alpha = true;
    std::string_view authority = target.substr(std::min(i + 3, target.size()));
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (authority.find('@') != std::string_view::npos)
      s.userinfo = true;
    else if (!s.target_form && !host_ok(authority))
      s.authority_bad = true;
  }
  bool v10 = version == "HTTP/1.0";
  if (rl.complete || !version.empty()) {
    // What has arrived of the version must be a prefix of "HTTP/1.d".
    static constexpr std::string_view shape = "HTTP/1.0";
    for (std::size_t i = 0; i < version.size(); ++i) {
      bool ok = i < shape.size() &&
                (i == 7 ? (version[i] >= '0' && version[i] <= '9') : version[i] == shape[i]);
      if (!ok) s.version_bad = true;
    }
    if (rl.complete && version.size() != 8) s.version_bad = true;
  }

  // header section
  std::size_t fields = 0, hosts = 0, cls = 0;
  const std::size_t fields_start = at;
  bool chunked = false;
  bool head_done = false;
  while (at < in.size()) {
    Line l = next_line();
    note_cr(l.text);
    if (l.complete && l.text.empty()) {
      head_done = true;
      break;
    }
    if (!l.text.empty() && (l.text[0] == ' ' || l.text[0] == '\t')) s.leading_ws_line = true;
    scan_field_line(l.text, s);
    ++fields;
    std::size_t colon = l.text.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = l.text.substr(0, colon);
    if (!name.empty() && (name.back() == ' ' || name.back() == '\t')) s.ws_before_colon = true;
    std::string_view raw_value = l.text.substr(colon + 1);
    std::string_view value = trim(raw_value);
    if (!raw_value.empty() && (raw_value.back() == ' ' || raw_value.back() == '\t'))
      s.value_trailing_ws = true;
    name = trim(name);
    if (ieq(name, "host")) {
      ++hosts;
      if (!host_ok(value)) s.host_problem = true;
    } else if (ieq(name, "transfer-encoding")) {
      if (v10) s.te_in_http10 = true;
      if (list_elements(value).empty()) s.te_unsupported = true;  // no coding at all
      {
        std::string canonical;
        for (std::string_view el : list_elements(value))
          canonical += (canonical.empty() ? "" : ", ") + std::string(el);
        std::string_view lead = raw_value;
        while (!lead.empty() && (lead.front() == ' ' || lead.front() == '\t'))
          lead.remove_prefix(1);
        if (lead != canonical) s.te_list_form = true;
      }
      for (std::string_view el : list_elements(value)) {
        if (ieq(el, "chunked")) {
          if (chunked) s.te_unsupported = true;
          chunked = true;
        } else {
          s.te_unsupported = true;
        }
      }
    } else if (name.size() > 17 && ieq(name.substr(0, 17), "transfer-encoding")) {
      s.framing_name_prefix = true;
    } else if (ieq(name, "content-length")) {
      ++cls;
      if (value.find(',') != std::string_view::npos) s.cl_repeated = true;
      if (list_elements(value).empty()) s.cl_bad = true;
      if (!raw_value.empty() && (raw_value.back() == ' ' || raw_value.back() == '\t'))
        s.cl_trailing_ows = true;
      for (std::string_view el : list_elements(value)) {
        // A declared length past max_body (or one too long to be a number at all).
        bool digits = !el.empty() && el.size() <= 19;
        std::uint64_t n = 0;
        for (char c : el) {
          if (c < '0' || c > '9') digits = false, s.cl_bad = true;
          if (digits) n = n * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if ((digits && n > lim.max_body) || el.size() > 19) s.over_limits = true;
      }
    } else if (ieq(name, "expect")) {
      if (!v10 && !ieq(value, "100-continue")) s.expect_other = true;
    } else if (ieq(name, "connection")) {
      for (std::string_view el : list_elements(value)) {
        if (!is_token(el)) s.connection_not_token = true;
        if (ieq(el, "upgrade")) s.upgrade = true;
      }
    }
  }
  if (cls > 1) s.cl_repeated = true;
  if (fields > lim.max_headers || at - fields_start > lim.max_header_bytes) s.over_limits = true;
  if (!v10 && version.substr(0, 5) == "HTTP/" && hosts != 1) s.host_problem = true;
  if (hosts > 1) s.host_problem = true;
  if (!head_done || !chunked) return s;

  // chunked framing: size lines, data, trailers (kio validates what http_parser skips)
  std::uint64_t total = 0;
  while (at < in.size()) {
    Line l = next_line();
    note_cr(l.text);
    if (l.text.size() + 2 > lim.max_chunk_line) s.over_limits = true;
    std::size_t hex = 0;
    std::uint64_t size = 0;
    while (hex < l.text.size() && hex < 16 &&
           std::isxdigit(static_cast<unsigned char>(l.text[hex]))) {
      char c = l.text[hex++];
      size = size * 16 + static_cast<std::uint64_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    if (hex != l.text.size()) s.chunk_line_extras = true;
    if (hex == 0) return s;
    total += size;
    if (total > lim.max_body) s.over_limits = true;
    if (size == 0) break;
    if (in.size() - at < size) return s;
    at += static_cast<std::size_t>(size);
    std::string_view end = in.substr(at, 2);  // the CRLF after the data
    if (end != std::string_view("\r\n").substr(0, end.size())) {
      s.chunk_data_end = true;
      return s;
    }
    at += end.size();
  }
  std::size_t trailer_start = at;
  while (at < in.size()) {
    Line l = next_line();
    note_cr(l.text);
    if (l.complete && l.text.empty()) break;
    s.trailer_lines = true;
    {
      std::string_view n = trim(l.text.substr(0, l.text.find(':')));
      if (ieq(n, "content-length") || ieq(n, "transfer-encoding")) s.framing_trailer = true;
    }
    if (!l.text.empty() && (l.text[0] == ' ' || l.text[0] == '\t')) s.leading_ws_line = true;
    scan_field_line(l.text, s);
  }
  if (at - trailer_start > lim.max_header_bytes) s.over_limits = true;
  return s;
}

// ---- the intentional differences -----------------------------------------------------------

enum class Side {
  kio_stricter,       // kio refuses (or wants more), http_parser accepts
  kio_accepts,        // kio accepts what http_parser refuses
  contents_differ,    // both accept; the row says which part differs and why
  kio_decides_later,  // kio still waits (incomplete) where http_parser has already refused
};

struct Row {
  const char* id;
  Side side;
  const char* rule;  // RFC reason
  bool (*applies)(const Scan&);
};

/// Every intentional difference between kio and http_parser, with its RFC reason.
inline const std::vector<Row>& differences() {
  static const std::vector<Row> rows = {
      // kio refuses, http_parser accepts
      {"bare-lf", Side::kio_stricter,
       "RFC 9112 §2.2: a recipient MAY accept a bare LF as a line end; kio requires CRLF (400)",
       [](const Scan& s) { return s.bare_lf; }},
      {"bare-cr", Side::kio_stricter,
       "RFC 9112 §2.2: a bare CR MUST be treated as invalid (400); http_parser skips a CR before "
       "the request line",
       [](const Scan& s) { return s.bare_cr; }},
      {"obs-fold", Side::kio_stricter,
       "RFC 9112 §5.2, §2.2: obs-fold, or whitespace before the first field: 400 (MUST reject or "
       "replace); http_parser folds",
       [](const Scan& s) { return s.leading_ws_line; }},
      {"space-before-colon", Side::kio_stricter,
       "RFC 9112 §5.1: whitespace between field name and colon MUST be rejected with 400",
       [](const Scan& s) { return s.ws_before_colon; }},
      {"host", Side::kio_stricter,
       "RFC 9112 §3.2: 1.1 without Host, more than one Host, or an invalid Host value: MUST 400",
       [](const Scan& s) { return s.host_problem; }},
      {"te-in-http10", Side::kio_stricter,
       "RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing: 400 and close",
       [](const Scan& s) { return s.te_in_http10; }},
      {"transfer-coding", Side::kio_stricter,
       "RFC 9112 §6.1: a transfer coding the server does not understand: 501 (kio decodes only "
       "chunked); chunked twice or not last, or no coding at all: 400 (§6.1, §6.3)",
       [](const Scan& s) { return s.te_unsupported; }},
      {"chunk-line-grammar", Side::kio_stricter,
       "RFC 9112 §7.1.1: chunk-ext = *( BWS \";\" BWS name [ BWS \"=\" BWS value ] ): kio "
       "validates extensions (no BWS before CRLF); http_parser skips to the CRLF",
       [](const Scan& s) { return s.chunk_line_extras; }},
      {"chunk-data-crlf", Side::kio_stricter,
       "RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF: kio requires the "
       "CRLF after the data (400); http_parser skips any two bytes",
       [](const Scan& s) { return s.chunk_data_end; }},
      {"version", Side::kio_stricter,
       "RFC 9112 §2.3: HTTP-version = \"HTTP\" \"/\" DIGIT \".\" DIGIT, case-sensitive (400); a "
       "major version other than 1: 505 (RFC 9110 §15.6.6); http_parser skips most of the name "
       "and accepts any major version",
       [](const Scan& s) { return s.version_bad; }},
      {"field-name-chars", Side::kio_stricter,
       "RFC 9110 §5.1: field-name = token (no SP inside, no controls): 400; http_parser takes "
       "spaces inside a name",
       [](const Scan& s) { return s.name_chars; }},
      {"field-value-chars", Side::kio_stricter,
       "RFC 9110 §5.5: a field value is field-vchar / SP / HTAB / obs-text; NUL, other controls "
       "and DEL are invalid (400); http_parser lets some through",
       [](const Scan& s) { return s.value_chars; }},
      {"content-length-syntax", Side::kio_stricter,
       "RFC 9110 §8.6: Content-Length = 1*DIGIT; an empty or non-numeric value is 400 at once "
       "(RFC 9112 §6.3); http_parser waits for more on an empty one",
       [](const Scan& s) { return s.cl_bad; }},
      {"expect", Side::kio_stricter,
       "RFC 9110 §10.1.1: an Expect other than 100-continue MAY get 417; kio answers 417",
       [](const Scan& s) { return s.expect_other; }},
      {"asterisk-form", Side::kio_stricter,
       "RFC 9112 §3.2.4: the asterisk-form is only used with OPTIONS: 400 otherwise",
       [](const Scan& s) { return s.asterisk_not_options; }},
      {"connect", Side::kio_stricter,
       "RFC 9110 §9.3.6: CONNECT asks for a tunnel; kio is an origin server: 501 (400 for a target "
       "other than host:port); http_parser hands the connection over",
       [](const Scan& s) { return s.connect; }},
      {"request-line-shape", Side::kio_stricter,
       "RFC 9112 §3: method SP request-target SP HTTP-version, single spaces (kio does not use the "
       "MAY of whitespace-delimited parsing)",
       [](const Scan& s) { return s.request_line_shape; }},
      {"fragment", Side::kio_stricter,
       "RFC 9112 §3.2: a request-target has no fragment: kio's target scanner refuses '#' (400); "
       "http_parser accepts it in origin-form (and refuses it in absolute-form)",
       [](const Scan& s) { return s.fragment; }},
      {"target-chars", Side::kio_stricter,
       "RFC 9112 §3.2, RFC 3986 §2: a request-target is visible ASCII (non-ASCII bytes must be "
       "percent-encoded): 400",
       [](const Scan& s) { return s.target_chars; }},
      {"target-form", Side::kio_stricter,
       "RFC 9112 §3.2: origin-form, absolute-form (scheme \"://\" authority), authority-form "
       "(CONNECT) or \"*\"; anything else: 400",
       [](const Scan& s) { return s.target_form; }},
      {"userinfo", Side::kio_stricter,
       "RFC 9110 §4.2.4: userinfo in an http(s) target URI is to be treated as an error (400)",
       [](const Scan& s) { return s.userinfo; }},
      {"absolute-form-authority", Side::kio_stricter,
       "RFC 3986 §3.2, RFC 9110 §4.2.1: authority = host [ \":\" port ], port = *DIGIT: 400; "
       "http_parser does not check the port",
       [](const Scan& s) { return s.authority_bad; }},
      {"connection-token", Side::kio_stricter,
       "RFC 9110 §7.6.1: Connection = #connection-option, each a token: 400 otherwise",
       [](const Scan& s) { return s.connection_not_token; }},
      {"limits", Side::kio_stricter,
       "RFC 9112 §3, RFC 9110 §15.5.14/15/§15.6.2, RFC 6585 §5: servers limit lengths; kio's "
       "defaults (method 32, target 8 KiB, header section 8 KiB, 64 fields, body 1 MiB, chunk "
       "line 4 KiB, 4 empty lines) are below http_parser's",
       [](const Scan& s) { return s.over_limits; }},
      // kio accepts, http_parser refuses
      {"extension-method", Side::kio_accepts,
       "RFC 9110 §9.1, §16.1: a method is any token (case-sensitive); http_parser knows a fixed "
       "list of uppercase methods",
       [](const Scan& s) { return s.method_unknown; }},
      {"transfer-encoding-name-prefix", Side::kio_accepts,
       "RFC 9110 §5.1: field names are compared whole; http_parser takes a field whose name only "
       "starts with \"Transfer-Encoding\" for Transfer-Encoding",
       [](const Scan& s) { return s.framing_name_prefix; }},
      {"transfer-encoding-list", Side::kio_accepts,
       "RFC 9110 §5.6.1: empty list elements are ignored (\",chunked\", \"chunked,\"), and "
       "trailing OWS is not part of the value; http_parser refuses them",
       [](const Scan& s) { return s.te_list_form; }},
      {"absolute-form-scheme", Side::kio_accepts,
       "RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / \"+\" / \"-\" / \".\" ); http_parser "
       "takes letters only",
       [](const Scan& s) { return s.scheme_not_alpha; }},
      {"framing-fields-in-trailers", Side::kio_accepts,
       "RFC 9110 §6.5.1: framing fields cannot be processed in trailers, which are not merged into "
       "the header section; kio validates and drops them, http_parser applies them (and refuses "
       "a Content-Length after chunked)",
       [](const Scan& s) { return s.framing_trailer; }},
      {"content-length-ows", Side::kio_accepts,
       "RFC 9112 §5: the OWS after a field value is not part of it, so \"Content-Length: 5\\t\" "
       "is 5; http_parser refuses it",
       [](const Scan& s) { return s.cl_trailing_ows; }},
      {"content-length-list", Side::kio_accepts,
       "RFC 9110 §8.6: a Content-Length list of identical values (or repeated identical fields) "
       "MAY be taken as that one value; http_parser refuses it",
       [](const Scan& s) { return s.cl_repeated; }},
      // kio waits where http_parser has already refused
      {"checked-at-line-end", Side::kio_decides_later,
       "kio checks a target's form (RFC 9112 §3.2) and a field's value (Content-Length, Host, ...) "
       "once its line is complete (a cut-off line is scanned again when more arrives); "
       "http_parser refuses at the first byte that does not fit",
       [](const Scan& s) { return s.cut_in_line; }},
      // both accept, contents differ
      {"trailers-dropped", Side::contents_differ,
       "RFC 9110 §6.5.1: trailer fields are not merged into the header section; kio validates "
       "and drops them, http_parser reports them as header fields",
       [](const Scan& s) { return s.trailer_lines; }},
      {"value-trailing-ows", Side::contents_differ,
       "RFC 9112 §5: the OWS around a field value is not part of it; kio strips it on both "
       "sides, http_parser keeps the trailing whitespace",
       [](const Scan& s) { return s.value_trailing_ws; }},
      {"upgrade", Side::contents_differ,
       "RFC 9110 §7.8: a server MAY ignore Upgrade; kio does (it parses the body framing as "
       "usual), http_parser stops after the head and hands the connection over",
       [](const Scan& s) { return s.upgrade; }},
  };
  return rows;
}

/// How often each row explained a difference, and how many inputs agreed exactly.
struct Tally {
  std::size_t agreed = 0;
  std::size_t explained = 0;
  std::vector<std::size_t> hits = std::vector<std::size_t>(differences().size());
};

inline std::string printable(std::string_view s, std::size_t max = 400) {
  std::string out;
  for (char c : s.substr(0, max)) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n";
    else if (u >= 0x20 && u < 0x7f && c != '\\')
      out += c;
    else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

/// Compares the two parsers on `in`; nullopt when they agree or a row explains the difference
/// (counted in `t`), else what differs.
inline std::optional<std::string> compare(std::string_view in, Tally& t) {
  View k = run_kio(in);
  View h = run_http_parser(in);
  Scan sc = scan(in);
  auto explain = [&](Side side) -> bool {
    const auto& rows = differences();
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (rows[i].side == side && rows[i].applies(sc)) {
        ++t.hits[i];
        ++t.explained;
        return true;
      }
    return false;
  };
  auto describe = [&](const std::string& what) {
    return what + "\n  kio: " + name(k.verdict) + " " + k.why +
           "\n  http_parser: " + name(h.verdict) + " " + h.why + "\n  input: \"" + printable(in) +
           "\"";
  };

  if (k.verdict != h.verdict) {
    // kio refused or waits where http_parser accepts or waits: kio is stricter.
    if (k.verdict == Verdict::reject ||
        (k.verdict == Verdict::incomplete && h.verdict == Verdict::accept)) {
      if (explain(Side::kio_stricter)) return std::nullopt;
      if (h.upgrade && explain(Side::contents_differ)) return std::nullopt;
      return describe("kio refuses what http_parser accepts, and no row says why");
    }
    if (explain(Side::kio_accepts)) return std::nullopt;
    if (k.verdict == Verdict::incomplete && h.verdict == Verdict::reject &&
        explain(Side::kio_decides_later))
      return std::nullopt;
    if (h.verdict == Verdict::incomplete && h.upgrade && explain(Side::contents_differ))
      return std::nullopt;
    return describe("kio accepts what http_parser refuses, and no row says why");
  }
  if (k.verdict != Verdict::accept) {
    ++t.agreed;
    return std::nullopt;
  }
  // Both accept: the request must be the same.
  if (k.method != h.method) return describe("method differs: " + k.method + " vs " + h.method);
  if (k.target != h.target) return describe("target differs: " + k.target + " vs " + h.target);
  bool differs = false;
  std::string what;
  // Headers: kio's, in order; http_parser's may have trailing whitespace on values and the
  // trailer fields appended.
  if (h.headers.size() < k.headers.size()) return describe("http_parser has fewer header fields");
  for (std::size_t i = 0; i < k.headers.size(); ++i) {
    const auto& [kn, kv] = k.headers[i];
    const auto& [hn, hv] = h.headers[i];
    if (kn != hn) return describe("header name " + kn + " vs " + hn);
    if (kv != hv) {
      if (kv != trim(hv)) return describe("header value " + kv + " vs " + hv);
      differs = true;
      what = "value-trailing-ows";
    }
  }
  if (h.headers.size() > k.headers.size()) {
    differs = true;
    if (!sc.trailer_lines) return describe("http_parser has more header fields, and no trailers");
  }
  if (h.upgrade) {
    differs = true;  // http_parser stopped after the head: body and length not comparable
  } else {
    if (k.body != h.body) return describe("body differs");
    if (k.consumed != h.consumed)
      return describe("consumed " + std::to_string(k.consumed) + " vs " +
                      std::to_string(h.consumed));
  }
  if (differs) {
    if (explain(Side::contents_differ)) return std::nullopt;
    return describe("contents differ (" + what + "), and no row says why");
  }
  ++t.agreed;
  return std::nullopt;
}

}  // namespace kio_diff
