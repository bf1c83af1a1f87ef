// Description: RequestParser — every RFC 9112 rule with its exact status, splits at every byte
// boundary (with the bytes moved between calls), and pipelined batches of 1..64 requests.
#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kio/http/parser.hpp"

namespace http = kio::http;
using namespace std::string_literals;

namespace {

/// What a parse produced, copied out of the buffers so outcomes can be compared.
struct Outcome {
  http::ParseState state = http::ParseState::incomplete;
  unsigned status = 0;
  std::size_t consumed = 0;
  std::string method, target, path, query, body;
  int minor = -1;
  std::vector<std::pair<std::string, std::string>> headers;
  bool keep_alive = false, expect_continue = false, chunked = false;

  bool operator==(const Outcome&) const = default;
};

void PrintTo(const Outcome& o, std::ostream* os) {
  *os << "{state " << int(o.state) << " status " << o.status << " consumed " << o.consumed << " "
      << o.method << " " << o.target << " body[" << o.body.size() << "]}";
}

Outcome capture(const http::RequestParser& p, const http::ParseResult& r) {
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
  return o;
}

/// Feeds a byte stream to a parser in pieces, like a connection: each piece arrives in a fresh
/// buffer; an incomplete request's bytes are carried over into yet another buffer, so every
/// resumed parse sees its bytes at a new address. Collects the outcome of every request.
class Feeder {
 public:
  explicit Feeder(http::Limits lim = {}) : parser_(lim) {}

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
    keep_ = std::move(fresh);  // the old buffer dies here: stale views would be caught by ASan
  }
  /// Bytes of an unfinished request still waiting.
  std::size_t pending() const { return carry_.size(); }

  std::vector<Outcome> outcomes;

 private:
  http::RequestParser parser_;
  std::vector<char> carry_;
  std::unique_ptr<std::vector<char>> keep_;
  bool failed_ = false;
};

Outcome parse_whole(std::string_view raw, http::Limits lim = {}) {
  std::vector<char> buf(raw.begin(), raw.end());
  http::RequestParser p(lim);
  return capture(p, p.parse(buf));
}

/// Every two-piece split, then byte by byte; each must give `expect`.
void expect_same_when_split(std::string_view raw, const Outcome& expect, http::Limits lim = {}) {
  for (std::size_t k = 0; k <= raw.size(); ++k) {
    Feeder f(lim);
    f.feed(raw.substr(0, k));
    f.feed(raw.substr(k));
    ASSERT_FALSE(f.outcomes.empty()) << "split at " << k;
    ASSERT_EQ(f.outcomes.front(), expect) << "split at " << k;
  }
  Feeder f(lim);
  for (char c : raw)
    f.feed(std::string_view(&c, 1));
  ASSERT_FALSE(f.outcomes.empty()) << "byte by byte";
  ASSERT_EQ(f.outcomes.front(), expect) << "byte by byte";
}

struct Case {
  const char* name;
  std::string raw;
  unsigned status;  // 200: parses; otherwise the error status
};

const std::string H = "Host: example.com\r\n";

// ---- the rule table -------------------------------------------------------------------------

std::vector<Case> rule_cases() {
  return {
      // accepted
      {"simple_get", "GET / HTTP/1.1\r\n" + H + "\r\n", 200},
      {"http10_without_host", "GET / HTTP/1.0\r\n\r\n", 200},
      {"http12_is_11", "GET / HTTP/1.2\r\n" + H + "\r\n", 200},
      {"leading_empty_lines", "\r\n\r\nGET / HTTP/1.1\r\n" + H + "\r\n", 200},
      {"unknown_method", "BREW /pot HTTP/1.1\r\n" + H + "\r\n", 200},
      {"lowercase_method_is_a_token", "get / HTTP/1.1\r\n" + H + "\r\n", 200},
      {"content_length_body", "POST /x HTTP/1.1\r\n" + H + "Content-Length: 5\r\n\r\nhello", 200},
      {"content_length_same_list", "POST / HTTP/1.1\r\n" + H + "Content-Length: 5, 5\r\n\r\nhello",
       200},
      {"content_length_same_twice",
       "POST / HTTP/1.1\r\n" + H + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 200},
      {"content_length_zero", "POST / HTTP/1.1\r\n" + H + "Content-Length: 0\r\n\r\n", 200},
      {"chunked",
       "POST / HTTP/1.1\r\n" + H +
           "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
       200},
      {"chunked_ext_and_trailers",
       "POST / HTTP/1.1\r\n" + H +
           "Transfer-Encoding: chunked\r\n\r\n5 ; a=b;c ;d=\"q \\\" x\"\r\nhello\r\nA\r\n0123456789"
           "\r\n0;last\r\nX-Sum: 1\r\nY: \r\n\r\n",
       200},
      {"chunked_uppercase_hex",
       "POST / HTTP/1.1\r\n" + H +
           "Transfer-Encoding: Chunked\r\n\r\n00A\r\n0123456789\r\n0\r\n\r\n",
       200},
      {"expect_continue",
       "PUT / HTTP/1.1\r\n" + H + "Expect: 100-continue\r\nContent-Length: 2\r\n\r\nok", 200},
      {"absolute_form", "GET http://example.com:80/a/b?x=1 HTTP/1.1\r\n" + H + "\r\n", 200},
      {"absolute_form_no_path", "GET http://example.com HTTP/1.1\r\n" + H + "\r\n", 200},
      {"absolute_form_ipv6", "GET http://[::1]:80/x HTTP/1.1\r\n" + H + "\r\n", 200},
      {"absolute_form_other_scheme", "GET coap+tcp.v2://h/x HTTP/1.1\r\n" + H + "\r\n", 200},
      {"asterisk_options", "OPTIONS * HTTP/1.1\r\n" + H + "\r\n", 200},
      {"empty_value_and_trim", "GET / HTTP/1.1\r\n" + H + "X-Empty:\r\nX-Pad: \t v \t\r\n\r\n",
       200},
      {"obs_text_and_htab_in_value", "GET / HTTP/1.1\r\n" + H + "X: a\tb\xc3\xa9\xff\r\n\r\n", 200},
      {"empty_host_allowed", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 200},
      {"ipv6_host", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 200},
      {"connection_list", "GET / HTTP/1.0\r\nConnection: Keep-Alive, Upgrade\r\n\r\n", 200},
      {"query", "GET /search?q=a%20b&x HTTP/1.1\r\n" + H + "\r\n", 200},
      // BWS is allowed before ';' and around '=' of a chunk extension (RFC 9112 §7.1.1).
      {"chunk_bws_before_ext",
       "POST / HTTP/1.1\r\n" + H +
           "Transfer-Encoding: chunked\r\n\r\n4 ;a\r\nabcd\r\n0\t;z\r\n\r\n",
       200},
      {"chunk_bws_around_equals",
       "POST / HTTP/1.1\r\n" + H +
           "Transfer-Encoding: chunked\r\n\r\n4;a = b\t;c=\t\"d\"\r\nabcd\r\n0\r\n\r\n",
       200},
      // 400: request line
      {"double_space", "GET  / HTTP/1.1\r\n" + H + "\r\n", 400},
      {"empty_method", " / HTTP/1.1\r\n" + H + "\r\n", 400},
      {"missing_version", "GET /\r\n" + H + "\r\n", 400},
      {"lowercase_version", "GET / http/1.1\r\n" + H + "\r\n", 400},
      {"two_digit_minor", "GET / HTTP/1.10\r\n" + H + "\r\n", 400},
      {"short_version", "GET / HTTP/1\r\n" + H + "\r\n", 400},
      {"trailing_space_after_version", "GET / HTTP/1.1 \r\n" + H + "\r\n", 400},
      {"control_in_target", "GET /a\x01 HTTP/1.1\r\n" + H + "\r\n", 400},
      {"non_ascii_target", "GET /\xc3\xa9 HTTP/1.1\r\n" + H + "\r\n", 400},
      {"tab_separator", "GET\t/ HTTP/1.1\r\n" + H + "\r\n", 400},
      {"bad_method_char", "GE(T / HTTP/1.1\r\n" + H + "\r\n", 400},
      {"relative_target", "GET a/b HTTP/1.1\r\n" + H + "\r\n", 400},
      {"asterisk_with_get", "GET * HTTP/1.1\r\n" + H + "\r\n", 400},
      // absolute-form authority = host [ ":" port ] (RFC 9110 §4.2.4: userinfo is an error)
      {"absolute_form_userinfo", "GET http://user@example.com/ HTTP/1.1\r\n" + H + "\r\n", 400},
      {"absolute_form_bad_authority", "GET http://a\"b/ HTTP/1.1\r\n" + H + "\r\n", 400},
      {"absolute_form_bad_port", "GET http://a:8x/ HTTP/1.1\r\n" + H + "\r\n", 400},
      {"too_many_empty_lines", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n" + H + "\r\n", 400},
      // 400: line endings
      {"bare_lf_request_line", "GET / HTTP/1.1\n" + H + "\r\n", 400},
      {"bare_lf_header", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400},
      {"bare_lf_end", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400},
      {"bare_cr_header", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400},
      {"bare_cr_request_line", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400},
      {"bare_lf_leading", "\nGET / HTTP/1.1\r\n" + H + "\r\n", 400},
      // 400: fields
      {"obs_fold", "GET / HTTP/1.1\r\n" + H + "X: a\r\n b\r\n\r\n", 400},
      {"obs_fold_tab", "GET / HTTP/1.1\r\n" + H + "X: a\r\n\tb\r\n\r\n", 400},
      {"whitespace_before_first_field", "GET / HTTP/1.1\r\n " + H + "\r\n", 400},
      {"space_before_colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
      {"tab_before_colon", "GET / HTTP/1.1\r\n" + H + "X\t: a\r\n\r\n", 400},
      {"empty_name", "GET / HTTP/1.1\r\n" + H + ": a\r\n\r\n", 400},
      {"bad_name_char", "GET / HTTP/1.1\r\n" + H + "X(y): a\r\n\r\n", 400},
      {"non_ascii_name", "GET / HTTP/1.1\r\n" + H + "X\xc3\xa9: a\r\n\r\n", 400},
      {"no_colon", "GET / HTTP/1.1\r\n" + H + "Xyz\r\n\r\n", 400},
      {"nul_in_value", "GET / HTTP/1.1\r\n" + H + "X: a\0b\r\n\r\n"s, 400},
      {"control_in_value", "GET / HTTP/1.1\r\n" + H + "X: a\x01\r\n\r\n", 400},
      {"del_in_value", "GET / HTTP/1.1\r\n" + H + "X: a\x7f\r\n\r\n", 400},
      {"escape_in_long_value", "GET / HTTP/1.1\r\n" + H + "X: 0123456789abcdef\x1b[0m\r\n\r\n",
       400},
      // 400: Host
      {"missing_host", "GET / HTTP/1.1\r\n\r\n", 400},
      {"duplicate_host", "GET / HTTP/1.1\r\n" + H + H + "\r\n", 400},
      {"duplicate_host_10", "GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", 400},
      {"invalid_host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
      {"invalid_host_slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
      {"invalid_host_port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400},
      {"invalid_host_port_colon", "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", 400},
      {"invalid_host_tab_inside", "GET / HTTP/1.1\r\nHost: a\tb\r\n\r\n", 400},
      {"invalid_host_empty_literal", "GET / HTTP/1.1\r\nHost: []\r\n\r\n", 400},
      {"invalid_host_open_literal", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400},
      {"invalid_host_after_literal", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400},
      {"invalid_host_long", "GET / HTTP/1.1\r\nHost: " + std::string(40, 'a') + "/b\r\n\r\n", 400},
      // 400: a fragment in the request-target (RFC 9112 §3.2 has none), found by the scanner
      // wherever it is (in the 16-byte blocks, the 8-byte words or the byte loop)
      {"fragment", "GET /a#b HTTP/1.1\r\n" + H + "\r\n", 400},
      {"fragment_alone", "GET /# HTTP/1.1\r\n" + H + "\r\n", 400},
      {"fragment_in_query", "GET /a?q=1#f HTTP/1.1\r\n" + H + "\r\n", 400},
      {"fragment_long_target", "GET /" + std::string(37, 'x') + "#f HTTP/1.1\r\n" + H + "\r\n",
       400},
      {"fragment_absolute_form", "GET http://example.com/#b HTTP/1.1\r\n" + H + "\r\n", 400},
      // 400: Content-Length
      {"cl_not_a_number", "POST / HTTP/1.1\r\n" + H + "Content-Length: abc\r\n\r\n", 400},
      {"cl_negative", "POST / HTTP/1.1\r\n" + H + "Content-Length: -1\r\n\r\n", 400},
      {"cl_plus", "POST / HTTP/1.1\r\n" + H + "Content-Length: +1\r\n\r\n", 400},
      {"cl_empty", "POST / HTTP/1.1\r\n" + H + "Content-Length: \r\n\r\n", 400},
      {"cl_overflow", "POST / HTTP/1.1\r\n" + H + "Content-Length: 18446744073709551616\r\n\r\n",
       400},
      {"cl_inner_space", "POST / HTTP/1.1\r\n" + H + "Content-Length: 1 2\r\n\r\n", 400},
      {"cl_differing_twice",
       "POST / HTTP/1.1\r\n" + H + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
      {"cl_differing_list", "POST / HTTP/1.1\r\n" + H + "Content-Length: 5, 6\r\n\r\nhello!", 400},
      // 400: Transfer-Encoding framing
      {"te_and_cl",
       "POST / HTTP/1.1\r\n" + H +
           "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400},
      {"te_in_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"te_chunked_twice",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400},
      {"te_chunked_twice_lines",
       "POST / HTTP/1.1\r\n" + H +
           "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400},
      {"te_chunked_param", "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked;x=1\r\n\r\n",
       400},
      {"te_empty", "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: \r\n\r\n", 400},
      {"te_not_token", "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: \"chunked\"\r\n\r\n", 400},
      // 400: chunked body
      {"chunk_size_not_hex", "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
       400},
      {"chunk_size_missing",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n\r\nab\r\n", 400},
      {"chunk_size_negative",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n-1\r\n", 400},
      {"chunk_size_overflow",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", 400},
      {"chunk_data_too_long",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", 400},
      {"chunk_data_bare_lf",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n2\r\nab\n0\r\n\r\n", 400},
      {"chunk_size_bare_lf",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n2\nab\r\n0\r\n\r\n", 400},
      {"chunk_ext_no_name",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n2;=x\r\nab\r\n0\r\n\r\n",
       400},
      {"chunk_ext_bad_value",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n2;a=@\r\nab\r\n0\r\n\r\n",
       400},
      {"chunk_ext_control_in_quotes",
       "POST / HTTP/1.1\r\n" + H +
           "Transfer-Encoding: chunked\r\n\r\n2;a=\"\x01\"\r\nab\r\n0\r\n\r\n",
       400},
      {"chunk_space_in_size",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n1 0\r\n", 400},
      {"trailer_obs_fold",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n",
       400},
      {"trailer_bad_name",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n0\r\nX y: a\r\n\r\n", 400},
      // chunk-size [ chunk-ext ] CRLF: no whitespace right before the CRLF (RFC 9112 §7.1.1)
      {"chunk_size_trailing_space",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n4 \r\nabcd\r\n0\r\n\r\n",
       400},
      {"chunk_size_trailing_tab",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n4\t\r\nabcd\r\n0\r\n\r\n",
       400},
      {"last_chunk_trailing_space",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0 \r\n\r\n",
       400},
      {"chunk_ext_name_trailing_space",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n4;a \r\nabcd\r\n0\r\n\r\n",
       400},
      {"chunk_ext_value_trailing_space",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n4;a=b \r\nabcd\r\n0\r\n\r\n",
       400},
      {"chunk_ext_quoted_trailing_space",
       "POST / HTTP/1.1\r\n" + H +
           "Transfer-Encoding: chunked\r\n\r\n4;a=\"b\" \r\nabcd\r\n0\r\n\r\n",
       400},
      {"connection_not_token", "GET / HTTP/1.1\r\n" + H + "Connection: a b\r\n\r\n", 400},
      // 501
      // 400: the final transfer coding of a request is not chunked (RFC 9112 §6.3 item 4)
      {"te_gzip", "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip\r\n\r\n", 400},
      {"te_identity", "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: identity\r\n\r\n", 400},
      {"te_chunked_then_gzip",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
       400},
      {"te_chunked_gzip_list",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400},
      // 400: CONNECT needs authority-form, host ":" port (RFC 9112 §3.2.3, RFC 9110 §9.3.6)
      {"connect_origin_form", "CONNECT / HTTP/1.1\r\n" + H + "\r\n", 400},
      {"connect_no_port", "CONNECT example.com HTTP/1.1\r\n" + H + "\r\n", 400},
      {"connect_ipv6_no_port", "CONNECT [::1] HTTP/1.1\r\n" + H + "\r\n", 400},
      {"connect_empty_port", "CONNECT example.com: HTTP/1.1\r\n" + H + "\r\n", 400},
      {"authority_form_with_get", "GET example.com:443 HTTP/1.1\r\n" + H + "\r\n", 400},
      // 501: an unknown coding before the final chunked (RFC 9112 §6.1)
      {"te_gzip_chunked", "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip, chunked\r\n\r\n",
       501},
      {"te_gzip_then_chunked_lines",
       "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
       501},
      // 501: CONNECT to this origin server: kio is not a proxy and opens no tunnels
      {"connect_authority_form",
       "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501},
      {"connect_ipv6", "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n", 501},
      {"method_too_long", std::string(33, 'M') + " / HTTP/1.1\r\n" + H + "\r\n", 501},
      // 505
      {"http2", "GET / HTTP/2.0\r\n" + H + "\r\n", 505},
      {"http09", "GET / HTTP/0.9\r\n\r\n", 505},
      {"http3", "GET / HTTP/3.1\r\n" + H + "\r\n", 505},
      // 417
      {"expect_unknown", "PUT / HTTP/1.1\r\n" + H + "Expect: 200-ok\r\nContent-Length: 1\r\n\r\nx",
       417},
  };
}

class ParserRule : public ::testing::TestWithParam<Case> {};

TEST_P(ParserRule, WholeAndSplitGiveTheSameAnswer) {
  const Case& c = GetParam();
  Outcome whole = parse_whole(c.raw);
  if (c.status == 200) {
    ASSERT_EQ(whole.state, http::ParseState::complete) << "status " << whole.status;
    EXPECT_EQ(whole.consumed, c.raw.size());
  } else {
    ASSERT_EQ(whole.state, http::ParseState::error);
    EXPECT_EQ(whole.status, c.status);
  }
  expect_same_when_split(c.raw, whole);
}

INSTANTIATE_TEST_SUITE_P(Rules, ParserRule, ::testing::ValuesIn(rule_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- what the accepted requests contain ---------------------------------------------------

TEST(Parser, SimpleGetFields) {
  Outcome o = parse_whole("GET /a/b?x=1&y HTTP/1.1\r\nHost: h\r\nUser-Agent:  curl/8 \r\n\r\n");
  ASSERT_EQ(o.state, http::ParseState::complete);
  EXPECT_EQ(o.method, "GET");
  EXPECT_EQ(o.target, "/a/b?x=1&y");
  EXPECT_EQ(o.path, "/a/b");
  EXPECT_EQ(o.query, "x=1&y");
  EXPECT_EQ(o.minor, 1);
  ASSERT_EQ(o.headers.size(), 2u);
  EXPECT_EQ(o.headers[1].first, "User-Agent");
  EXPECT_EQ(o.headers[1].second, "curl/8");
  EXPECT_TRUE(o.keep_alive);
  EXPECT_EQ(o.body, "");
}

TEST(Parser, QueryAndHostFoundByTheScanners) {
  // Long enough for the 16-byte blocks, the 8-byte words and the byte loop to take part: the
  // first '?' starts the query wherever it falls, a later one is part of the query.
  for (std::size_t n = 0; n < 40; ++n) {
    const std::string path = "/" + std::string(n, 'p');
    const std::string query = "a=1?b" + std::string(n % 7, 'q');
    const std::string host = std::string(n + 1, 'h') + ".example:8080";
    Outcome o = parse_whole("GET " + path + "?" + query + " HTTP/1.1\r\nHost: " + host +
                            " \t\r\nX-Long: " + std::string(n, 'v') + "\xff\r\n\r\n");
    ASSERT_EQ(o.state, http::ParseState::complete) << n;
    EXPECT_EQ(o.path, path);
    EXPECT_EQ(o.query, query);
    ASSERT_EQ(o.headers.size(), 2u);
    EXPECT_EQ(o.headers[0].second, host);
    EXPECT_EQ(o.headers[1].second, std::string(n, 'v') + "\xff");
    expect_same_when_split(
        "GET " + path + "?" + query + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n",
        parse_whole("GET " + path + "?" + query + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n"));
  }
  Outcome v6 = parse_whole("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
  EXPECT_EQ(v6.state, http::ParseState::complete);
  Outcome empty = parse_whole("GET / HTTP/1.1\r\nHost: \r\n\r\n");
  EXPECT_EQ(empty.state, http::ParseState::complete);
}

TEST(Parser, MethodIdentification) {
  std::vector<char> buf;
  auto method_of = [&](std::string raw) {
    buf.assign(raw.begin(), raw.end());
    http::RequestParser p;
    auto r = p.parse(buf);
    EXPECT_EQ(r.state, http::ParseState::complete);
    return p.request().method;
  };
  EXPECT_EQ(method_of("GET / HTTP/1.0\r\n\r\n"), http::Method::get);
  EXPECT_EQ(method_of("DELETE / HTTP/1.0\r\n\r\n"), http::Method::delete_);
  EXPECT_EQ(method_of("PATCH / HTTP/1.0\r\n\r\n"), http::Method::patch);
  EXPECT_EQ(method_of("BREW / HTTP/1.0\r\n\r\n"), http::Method::other);
  EXPECT_EQ(method_of("get / HTTP/1.0\r\n\r\n"), http::Method::other);
}

TEST(Parser, KeepAliveSemantics) {
  EXPECT_TRUE(parse_whole("GET / HTTP/1.1\r\nHost: a\r\n\r\n").keep_alive);
  EXPECT_FALSE(parse_whole("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keep_alive);
  EXPECT_FALSE(parse_whole("GET / HTTP/1.1\r\nHost: a\r\nConnection: x, CLOSE\r\n\r\n").keep_alive);
  EXPECT_FALSE(parse_whole("GET / HTTP/1.0\r\n\r\n").keep_alive);
  EXPECT_TRUE(parse_whole("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
  EXPECT_FALSE(parse_whole("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n")
                   .keep_alive);
}

TEST(Parser, ChunkedBodyIsDecodedInPlace) {
  Outcome o = parse_whole(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;x=y\r\nhello\r\n1\r\n,\r\n6\r\n world\r\n0\r\nT: v\r\n\r\n");
  ASSERT_EQ(o.state, http::ParseState::complete);
  EXPECT_EQ(o.body, "hello, world");
  EXPECT_TRUE(o.chunked);
}

TEST(Parser, ExpectContinueOnlyInHttp11WithBody) {
  EXPECT_TRUE(
      parse_whole("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx")
          .expect_continue);
  EXPECT_FALSE(parse_whole("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx")
                   .expect_continue);
  EXPECT_FALSE(
      parse_whole("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n").expect_continue);
}

TEST(Parser, HeadCompleteBeforeBodyArrives) {
  std::string raw =
      "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
  std::vector<char> buf(raw.begin(), raw.end());
  http::RequestParser p;
  EXPECT_EQ(p.parse(buf).state, http::ParseState::incomplete);
  EXPECT_TRUE(p.head_complete());
  EXPECT_TRUE(p.request().expect_continue);
  buf.insert(buf.end(), {'d', 'a', 't', 'a'});
  auto r = p.parse(buf);
  ASSERT_EQ(r.state, http::ParseState::complete);
  EXPECT_EQ(p.request().body, "data");
  EXPECT_EQ(p.request().header("host"), "a");
}

TEST(Parser, AbsoluteFormPath) {
  Outcome o = parse_whole("GET http://h:1/p/q?z HTTP/1.1\r\nHost: h:1\r\n\r\n");
  EXPECT_EQ(o.path, "/p/q");
  EXPECT_EQ(o.query, "z");
  Outcome bare = parse_whole("GET https://h?z HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(bare.path, "/");
  EXPECT_EQ(bare.query, "z");
}

// ---- limits ----------------------------------------------------------------------------------

TEST(ParserLimits, TargetLength414) {
  http::Limits lim{.max_target = 64};
  std::string ok = "GET /" + std::string(63, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
  std::string bad = "GET /" + std::string(64, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(parse_whole(ok, lim).state, http::ParseState::complete);
  Outcome o = parse_whole(bad, lim);
  EXPECT_EQ(o.status, 414u);
  expect_same_when_split(bad, o, lim);
  // Over the default limit, with no end in sight: answered without waiting for the line's end.
  Feeder f;
  f.feed("GET /" + std::string(9000, 'a'));
  ASSERT_EQ(f.outcomes.size(), 1u);
  EXPECT_EQ(f.outcomes[0].status, 414u);
}

TEST(ParserLimits, HeaderSection431) {
  http::Limits lim{.max_header_bytes = 100};
  // The section ("Host: a\r\n" + X field + "\r\n") is exactly 100 bytes: accepted.
  std::string fill(100 - 9 - 2 - 5, 'v');
  std::string ok = "GET / HTTP/1.1\r\nHost: a\r\nX: " + fill + "\r\n\r\n";
  EXPECT_EQ(parse_whole(ok, lim).state, http::ParseState::complete);
  std::string bad = "GET / HTTP/1.1\r\nHost: a\r\nX: " + fill + "v\r\n\r\n";
  Outcome o = parse_whole(bad, lim);
  EXPECT_EQ(o.status, 431u);
  expect_same_when_split(bad, o, lim);
  // An endless header section is refused once it passes the default 8 KiB.
  Feeder f;
  f.feed("GET / HTTP/1.1\r\n");
  for (int i = 0; i < 1000 && f.outcomes.empty(); ++i)
    f.feed("X-Filler: 0123456789\r\n");
  ASSERT_EQ(f.outcomes.size(), 1u);
  EXPECT_EQ(f.outcomes[0].status, 431u);
}

TEST(ParserLimits, FieldCount431) {
  std::string raw = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 63; ++i)
    raw += "X: y\r\n";
  EXPECT_EQ(parse_whole(raw + "\r\n").state, http::ParseState::complete);
  EXPECT_EQ(parse_whole(raw + "X: y\r\n\r\n").status, 431u);
}

TEST(ParserLimits, Body413) {
  http::Limits lim{.max_body = 10};
  EXPECT_EQ(
      parse_whole("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", lim).state,
      http::ParseState::complete);
  // Declared too large: refused before the body is read.
  EXPECT_EQ(parse_whole("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", lim).status,
            413u);
  std::string chunked = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(parse_whole(chunked + "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", lim).body, "0123456789");
  std::string big = chunked + "5\r\n01234\r\n6\r\n567890\r\n0\r\n\r\n";
  Outcome o = parse_whole(big, lim);
  EXPECT_EQ(o.status, 413u);
  expect_same_when_split(big, o, lim);
}

TEST(ParserLimits, ChunkedFramingIsBounded413) {
  // 1-byte chunks with long extensions: little body, much framing.
  http::Limits lim{.max_body = 1024};
  std::string raw = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string chunk = "1;" + std::string(1000, 'e') + "\r\nx\r\n";
  for (int i = 0; i < 100; ++i)
    raw += chunk;
  raw += "0\r\n\r\n";
  Outcome o = parse_whole(raw, lim);
  EXPECT_EQ(o.status, 413u);
  Feeder f(lim);
  for (std::size_t at = 0; at < raw.size(); at += 4096)
    f.feed(std::string_view(raw).substr(at, 4096));
  ASSERT_EQ(f.outcomes.size(), 1u);
  EXPECT_EQ(f.outcomes[0], o);
}

TEST(ParserLimits, Trailers431) {
  http::Limits lim{.max_header_bytes = 64};
  std::string raw = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
  for (int i = 0; i < 10; ++i)
    raw += "Trailer-Field: value\r\n";
  raw += "\r\n";
  Outcome o = parse_whole(raw, lim);
  EXPECT_EQ(o.status, 431u);
  expect_same_when_split(raw, o, lim);
}

TEST(ParserLimits, ChunkLine400) {
  http::Limits lim{.max_chunk_line = 16};
  std::string raw = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  // The line may be 16 bytes with its CRLF, not 17.
  EXPECT_EQ(parse_whole(raw + "1;abcdefghijkl\r\nx\r\n0\r\n\r\n", lim).state,
            http::ParseState::complete);
  EXPECT_EQ(parse_whole(raw + "1;abcdefghijklm\r\nx\r\n0\r\n\r\n", lim).status, 400u);
}

// "Unlimited" (the type's maximum) in every limit: no bound computed from a limit may wrap around
// (issue 11, defect 9). Each request here is refused by a wrapped bound.
TEST(ParserLimits, UnlimitedLimitsDoNotWrap) {
  constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
  const http::Limits lim{.max_method = none,
                         .max_target = none,
                         .max_header_bytes = none,
                         .max_headers = none,
                         .max_body = std::numeric_limits<std::uint64_t>::max(),
                         .max_chunk_line = none,
                         .max_leading_empty_lines = 4};
  std::string head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string body(40000, 'b');
  // 40,000 one-byte chunks: the raw body (~200 KB) is past a wrapped 2 * max_body + 64 KiB.
  std::string chunks;
  for (char c : body)
    chunks += std::string("1\r\n") + c + "\r\n";
  struct {
    const char* what;
    std::string raw;
    std::string body;
  } cases[] = {
      {"simple", "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n", ""},
      {"long method", std::string(100, 'M') + " / HTTP/1.1\r\nHost: a\r\n\r\n", ""},
      {"long target", "GET /" + std::string(20000, 't') + " HTTP/1.1\r\nHost: a\r\n\r\n", ""},
      {"long header", "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(20000, 'v') + "\r\n\r\n",
       ""},
      {"long chunk line", head + "4;" + std::string(10000, 'e') + "\r\nabcd\r\n0\r\n\r\n", "abcd"},
      {"chunk framing", head + chunks + "0\r\n\r\n", body},
      {"trailers", head + "0\r\nT: " + std::string(20000, 'v') + "\r\n\r\n", ""},
      {"declared body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd", "abcd"},
  };
  for (auto& c : cases) {
    Outcome o = parse_whole(c.raw, lim);
    EXPECT_EQ(o.state, http::ParseState::complete) << c.what << ": status " << o.status;
    if (o.state != http::ParseState::complete) continue;
    EXPECT_EQ(o.consumed, c.raw.size()) << c.what;
    EXPECT_EQ(o.body, c.body) << c.what;
    Feeder f(lim);
    for (std::size_t at = 0; at < c.raw.size(); at += 777)
      f.feed(std::string_view(c.raw).substr(at, 777));
    ASSERT_EQ(f.outcomes.size(), 1u) << c.what;
    EXPECT_EQ(f.outcomes[0], o) << c.what;
  }
  // Each limit alone at its maximum (the others at their defaults), so each bound is checked.
  std::vector<std::pair<const char*, http::Limits>> alone(6);
  alone[0] = {"max_method", {.max_method = none}};
  alone[1] = {"max_target", {.max_target = none}};
  alone[2] = {"max_header_bytes", {.max_header_bytes = none}};
  alone[3] = {"max_headers", {.max_headers = none}};
  alone[4] = {"max_body", {.max_body = std::numeric_limits<std::uint64_t>::max()}};
  alone[5] = {"max_chunk_line", {.max_chunk_line = none}};
  const std::string plain[] = {
      "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n",
      head + "4;e=1\r\nabcd\r\n0\r\nT: v\r\n\r\n",
      head + chunks + "0\r\n\r\n",
  };
  for (auto& [name, l] : alone)
    for (const std::string& raw : plain) {
      Outcome o = parse_whole(raw, l);
      EXPECT_EQ(o.state, http::ParseState::complete)
          << name << " unlimited: status " << o.status << " for " << raw.substr(0, 60);
    }
  // A huge declared length is accepted as a head (the body then streams in).
  std::string huge = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n";
  std::vector<char> buf(huge.begin(), huge.end());
  http::RequestParser p(lim);
  EXPECT_EQ(p.parse(buf).state, http::ParseState::incomplete);
  EXPECT_TRUE(p.head_complete());
}

// ---- pipelining --------------------------------------------------------------------------------

std::string request_number(int i, std::string* body_out) {
  std::string body = "body-" + std::to_string(i);
  *body_out = "";
  switch (i % 4) {
    case 0:
      return "GET /r/" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n";
    case 1:
      *body_out = body;
      return "POST /r/" + std::to_string(i) +
             " HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
             body;
    case 2: {
      *body_out = body;
      std::string half1 = body.substr(0, 3), half2 = body.substr(3);
      char hex[32];
      std::snprintf(hex, sizeof hex, "%zx", half2.size());
      return "PUT /r/" + std::to_string(i) +
             " HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n" + half1 + "\r\n" +
             hex + ";ext=1\r\n" + half2 + "\r\n0\r\n\r\n";
    }
    default:
      return "\r\nDELETE /r/" + std::to_string(i) + "?q=" + std::to_string(i) +
             " HTTP/1.1\r\nHost: a\r\nX-N: " + std::to_string(i) + "\r\n\r\n";
  }
}

TEST(Pipelining, BatchesOf1To64InOneBuffer) {
  for (int n = 1; n <= 64; ++n) {
    std::string stream;
    std::vector<std::string> bodies(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
      stream += request_number(i, &bodies[static_cast<std::size_t>(i)]);
    Feeder f;
    f.feed(stream);
    ASSERT_EQ(f.outcomes.size(), static_cast<std::size_t>(n)) << "batch " << n;
    EXPECT_EQ(f.pending(), 0u);
    for (int i = 0; i < n; ++i) {
      const Outcome& o = f.outcomes[static_cast<std::size_t>(i)];
      ASSERT_EQ(o.state, http::ParseState::complete) << "batch " << n << " request " << i;
      EXPECT_EQ(o.path, "/r/" + std::to_string(i));
      EXPECT_EQ(o.body, bodies[static_cast<std::size_t>(i)]);
    }
  }
}

TEST(Pipelining, SameResultsForEveryPieceSize) {
  std::string stream;
  std::vector<std::string> bodies(64);
  for (int i = 0; i < 64; ++i)
    stream += request_number(i, &bodies[static_cast<std::size_t>(i)]);
  Feeder whole;
  whole.feed(stream);
  ASSERT_EQ(whole.outcomes.size(), 64u);
  std::mt19937 rng(42);
  for (std::size_t piece : {1, 2, 3, 7, 16, 61, 100, 1000}) {
    Feeder f;
    for (std::size_t at = 0; at < stream.size(); at += piece)
      f.feed(std::string_view(stream).substr(at, piece));
    EXPECT_EQ(f.outcomes, whole.outcomes) << "pieces of " << piece;
  }
  for (int round = 0; round < 20; ++round) {
    Feeder f;
    std::size_t at = 0;
    while (at < stream.size()) {
      std::size_t len = std::uniform_int_distribution<std::size_t>(1, 300)(rng);
      f.feed(std::string_view(stream).substr(at, len));
      at += len;
    }
    EXPECT_EQ(f.outcomes, whole.outcomes) << "random round " << round;
  }
}

TEST(Pipelining, ErrorStopsTheBatchAfterGoodRequests) {
  Feeder f;
  f.feed(
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGARBAGE\r\n\r\n"
      "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(f.outcomes.size(), 3u);
  EXPECT_EQ(f.outcomes[0].path, "/1");
  EXPECT_EQ(f.outcomes[1].path, "/2");
  EXPECT_EQ(f.outcomes[2].status, 400u);
}

}  // namespace
