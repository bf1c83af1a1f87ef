// Description: differential parsing — kio's RequestParser against http_parser (Node's former
// parser, Debian libhttp-parser-dev) on generated, deviated and randomly mutated requests; every
// intentional difference is a row of the table in differential.hpp, each with its RFC reason.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#if KIO_HAVE_HTTP_PARSER
#include "differential.hpp"
#endif

namespace {

#if !KIO_HAVE_HTTP_PARSER

TEST(Differential, AgainstHttpParser) {
  GTEST_SKIP() << "http_parser not found: apt-get install libhttp-parser-dev (tools/test does)";
}

#else

// How many generated and mutated requests each test compares. The sanitized build (10x slower
// per request at -O0 with ASan and UBSan) compares a sixth: it looks for memory errors, which the
// differential fuzz target it also runs covers, while the gcc build runs them all.
#if defined(__SANITIZE_ADDRESS__)
constexpr int case_divisor = 6;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr int case_divisor = 6;
#else
constexpr int case_divisor = 1;
#endif
#else
constexpr int case_divisor = 1;
#endif

using kio_diff::Tally;
using Rng = std::mt19937_64;

std::size_t uniform(Rng& rng, std::size_t lo, std::size_t hi) {
  return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
}
template <class T, std::size_t N>
const T& pick(Rng& rng, const T (&items)[N]) {
  return items[uniform(rng, 0, N - 1)];
}
std::string chars_from(Rng& rng, std::string_view alphabet, std::size_t lo, std::size_t hi) {
  std::string s(uniform(rng, lo, hi), ' ');
  for (char& c : s)
    c = alphabet[uniform(rng, 0, alphabet.size() - 1)];
  return s;
}

const std::string_view token_chars =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";
const std::string_view path_chars =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@%";

/// A request both parsers must accept and see alike, in parts a deviation can change.
struct Gen {
  std::string method = "GET";
  std::string target = "/";
  std::string version = "HTTP/1.1";
  std::vector<std::pair<std::string, std::string>> fields;
  enum { none, length, chunked } framing = none;
  std::string body;
  std::vector<std::string> chunk_lines;  // each size line (without CRLF) with its data
  std::vector<std::string> chunk_data;
  std::vector<std::string> trailers;
  std::string eol = "\r\n";
  std::string data_end = "\r\n";        // after each chunk's data
  std::size_t cut = std::string::npos;  // send only this many bytes

  std::string text() const { return whole().substr(0, cut); }

  std::string whole() const {
    std::string s = method + " " + target + " " + version + eol;
    for (auto& [n, v] : fields)
      s += n + ":" + v + eol;
    s += eol;
    if (framing == length) s += body;
    if (framing == chunked) {
      for (std::size_t i = 0; i < chunk_lines.size(); ++i)
        s += chunk_lines[i] + "\r\n" + chunk_data[i] + data_end;
      s += "0\r\n";
      for (auto& t : trailers)
        s += t + "\r\n";
      s += "\r\n";
    }
    return s;
  }
};

Gen generate(Rng& rng) {
  static const std::string methods[] = {"GET",  "POST",  "PUT",   "DELETE",
                                        "HEAD", "PATCH", "TRACE", "OPTIONS"};
  Gen g;
  g.method = pick(rng, methods);
  g.target.clear();
  for (std::size_t i = 0, n = uniform(rng, 1, 4); i < n; ++i)
    g.target += "/" + chars_from(rng, path_chars, 0, 12);
  if (uniform(rng, 0, 2) == 0)
    g.target += "?" + chars_from(rng, std::string(path_chars) + "/?", 0, 20);
  if (uniform(rng, 0, 9) == 0)
    g.target = "http://" + chars_from(rng, "abcdefghij.", 1, 10) + ":8080" + g.target;
  if (g.method == "OPTIONS" && uniform(rng, 0, 3) == 0) g.target = "*";
  const bool v10 = uniform(rng, 0, 9) == 0;
  g.version = v10 ? "HTTP/1.0" : "HTTP/1.1";
  std::vector<std::pair<std::string, std::string>> f;
  if (!v10 || uniform(rng, 0, 1) == 0) {
    static const std::string hosts[] = {"example.com", "a", "127.0.0.1:8080",
                                        "[::1]:80",    "",  "x-y.z_w~:1"};
    f.emplace_back(pick(rng, {"Host", "host", "HOST"}), " " + pick(rng, hosts));
  }
  for (std::size_t i = 0, n = uniform(rng, 0, 8); i < n; ++i) {
    std::string name = "X-" + chars_from(rng, token_chars, 1, 12);
    std::string inner =
        chars_from(rng, "abc XYZ\t019!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\x80\xff", 0, 30);
    std::string value = "v" + inner + "w";
    f.emplace_back(name, pick(rng, {"", " ", "  ", "\t"}) + (uniform(rng, 0, 5) == 0 ? "" : value));
  }
  if (uniform(rng, 0, 3) == 0)
    f.emplace_back("Connection", pick(rng, {" close", " keep-alive", " Keep-Alive, x-opt"}));
  const std::size_t framing = uniform(rng, 0, 2);
  if (framing == 1) {
    g.framing = Gen::length;
    g.body = chars_from(rng, std::string(token_chars) + "\r\n\0\x80 ", 0, 200);
    f.emplace_back(pick(rng, {"Content-Length", "content-length"}),
                   " " + std::to_string(g.body.size()));
  } else if (framing == 2 && !v10) {
    g.framing = Gen::chunked;
    f.emplace_back("Transfer-Encoding", pick(rng, {" chunked", " Chunked", "chunked"}));
    for (std::size_t i = 0, n = uniform(rng, 1, 5); i < n; ++i) {
      std::string data = chars_from(rng, std::string(token_chars) + "\r\n ", 1, 60);
      char hex[32];
      std::snprintf(hex, sizeof hex, uniform(rng, 0, 1) ? "%zx" : "%03zX", data.size());
      g.chunk_lines.push_back(hex);
      g.chunk_data.push_back(data);
      g.body += data;
    }
  }
  if (g.framing != Gen::none && !v10 && uniform(rng, 0, 4) == 0)
    f.emplace_back("Expect", " 100-continue");
  // Shuffle the fields (Host need not come first).
  std::shuffle(f.begin(), f.end(), rng);
  g.fields = std::move(f);
  return g;
}

void check(std::string_view in, Tally& t, std::vector<std::string>& failures) {
  if (auto why = kio_diff::compare(in, t); why && failures.size() < 20) failures.push_back(*why);
}

std::string report_failures(const std::vector<std::string>& f) {
  std::string s;
  for (const std::string& x : f)
    s += x + "\n";
  return s;
}

TEST(Differential, GeneratedRequestsAgreeExactly) {
  Rng rng(11);
  Tally t;
  std::vector<std::string> failures;
  const int n = 20000 / case_divisor;
  for (int i = 0; i < n; ++i)
    check(generate(rng).text(), t, failures);
  EXPECT_TRUE(failures.empty()) << report_failures(failures);
  // Generated requests are valid for both: nothing may need a row.
  EXPECT_EQ(t.explained, 0u);
  EXPECT_EQ(t.agreed, static_cast<std::size_t>(n));
}

/// One deviation per table row: a change to a valid request that makes exactly that row apply.
struct Deviation {
  const char* row;
  std::function<void(Gen&, Rng&)> apply;
};

std::vector<Deviation> deviations() {
  auto set_field = [](Gen& g, std::string name, std::string value) {
    g.fields.emplace_back(std::move(name), std::move(value));
  };
  auto chunked = [](Gen& g) {
    g.version = "HTTP/1.1";
    std::erase_if(g.fields, [](auto& f) {
      return kio_diff::ieq(f.first, "content-length") ||
             kio_diff::ieq(f.first, "transfer-encoding") || kio_diff::ieq(f.first, "expect");
    });
    if (std::none_of(g.fields.begin(), g.fields.end(),
                     [](auto& f) { return kio_diff::ieq(f.first, "host"); }))
      g.fields.emplace_back("Host", " h");
    g.fields.emplace_back("Transfer-Encoding", " chunked");
    g.framing = Gen::chunked;
    g.chunk_lines = {"5"};
    g.chunk_data = {"hello"};
    g.body = "hello";
  };
  return {
      {"bare-lf", [](Gen& g, Rng&) { g.eol = "\n"; }},
      {"bare-cr", [](Gen& g, Rng&) { g.method = "\r" + g.method; }},
      {"transfer-encoding-list",
       [=](Gen& g, Rng& rng) {
         chunked(g);
         g.fields.back().second = pick(rng, {" ,chunked", " chunked,", " chunked\t", " , chunked"});
       }},
      {"content-length-syntax",
       [](Gen& g, Rng&) {
         g.framing = Gen::none;
         std::erase_if(g.fields, [](auto& f) {
           return kio_diff::ieq(f.first, "content-length") ||
                  kio_diff::ieq(f.first, "transfer-encoding") || kio_diff::ieq(f.first, "expect");
         });
         g.fields.emplace_back("Content-Length", " ");
         g.cut = g.whole().size() - 2;  // the head's end not there yet: http_parser waits
       }},
      {"absolute-form-authority", [](Gen& g, Rng&) { g.target = "http://example.com:80x/"; }},
      {"userinfo", [](Gen& g, Rng&) { g.target = "http://user@example.com/x"; }},
      {"absolute-form-scheme",
       [](Gen& g, Rng& rng) {
         g.target = pick(rng, {"coap+tcp://h/x", "h2c://h/", "x-y.z://h/"});
       }},
      {"obs-fold", [](Gen& g, Rng&) { g.fields.emplace_back("X-Fold", " a\r\n b"); }},
      {"space-before-colon", [=](Gen& g, Rng&) { set_field(g, "X-Space ", " a"); }},
      {"host",
       [](Gen& g, Rng& rng) {
         g.version = "HTTP/1.1";
         std::erase_if(g.fields, [](auto& f) { return kio_diff::ieq(f.first, "host"); });
         switch (uniform(rng, 0, 2)) {
           case 0:
             break;  // missing
           case 1:
             g.fields.emplace_back("Host", " a");
             g.fields.emplace_back("Host", " a");
             break;
           default:
             g.fields.emplace_back("Host", " a b");
         }
       }},
      {"te-in-http10",
       [=](Gen& g, Rng&) {
         chunked(g);
         g.version = "HTTP/1.0";
       }},
      {"transfer-coding",
       [=](Gen& g, Rng&) {
         chunked(g);
         g.fields.back().second = " gzip, chunked";
       }},
      {"chunk-line-grammar",
       [=](Gen& g, Rng& rng) {
         chunked(g);
         static const std::string bad[] = {"5 ",    "5\t",  "5;",        "5;=x",
                                           "5;a=@", "5;a ", "5;a=\"b\" "};
         g.chunk_lines[0] = pick(rng, bad);
       }},
      {"chunk-data-crlf",
       [=](Gen& g, Rng&) {
         chunked(g);
         g.data_end = "XY";
       }},
      {"version",
       [](Gen& g, Rng& rng) {
         g.version =
             pick(rng, {"HTTP/2.0", "HTTP/0.9", "HTTP/3.1", "HTTX/1.1", "HTTP,1.1", "HtTP/1.1"});
       }},
      {"field-name-chars", [=](Gen& g, Rng&) { set_field(g, "X Y", " v"); }},
      {"field-value-chars",
       [=](Gen& g, Rng& rng) { set_field(g, "X-Ctl", pick(rng, {" \x01v", " \x17 v", "\x1f"})); }},
      {"target-form", [](Gen& g, Rng&) { g.target = "http:///x"; }},
      {"transfer-encoding-name-prefix",
       [=](Gen& g, Rng&) { set_field(g, "Transfer-EncodingX", " chunked"); }},
      {"fragment", [](Gen& g, Rng& rng) { g.target = pick(rng, {"/a#b", "/#", "/a?q#f"}); }},
      {"checked-at-line-end",
       [](Gen& g, Rng& rng) {
         g.target = pick(rng, {"x/y", "K/", "a:b"});
         g.cut = g.method.size() + 1 + g.target.size();
       }},
      {"expect",
       [](Gen& g, Rng&) {
         g.version = "HTTP/1.1";
         if (std::none_of(g.fields.begin(), g.fields.end(),
                          [](auto& f) { return kio_diff::ieq(f.first, "host"); }))
           g.fields.emplace_back("Host", " h");
         g.fields.emplace_back("Expect", " 200-ok");
       }},
      {"asterisk-form",
       [](Gen& g, Rng&) {
         g.method = "GET";
         g.target = "*";
       }},
      {"connect",
       [](Gen& g, Rng&) {
         g.method = "CONNECT";
         g.target = "example.com:443";
         g.framing = Gen::none;
         std::erase_if(g.fields, [](auto& f) {
           return kio_diff::ieq(f.first, "content-length") ||
                  kio_diff::ieq(f.first, "transfer-encoding");
         });
       }},
      {"request-line-shape", [](Gen& g, Rng&) { g.method += " "; }},
      {"target-chars", [](Gen& g, Rng&) { g.target = "/caf\xc3\xa9"; }},
      {"connection-token", [=](Gen& g, Rng&) { set_field(g, "Connection", " a b"); }},
      {"limits",
       [=](Gen& g, Rng& rng) {
         if (uniform(rng, 0, 1))
           set_field(g, "X-Big", " " + std::string(9000, 'v'));
         else
           g.target = "/" + std::string(9000, 't');
       }},
      {"extension-method",
       [](Gen& g, Rng& rng) { g.method = pick(rng, {"BREW", "get", "FOO-BAR"}); }},
      {"content-length-list",
       [](Gen& g, Rng& rng) {
         std::erase_if(g.fields, [](auto& f) {
           return kio_diff::ieq(f.first, "content-length") ||
                  kio_diff::ieq(f.first, "transfer-encoding");
         });
         g.framing = Gen::length;
         g.body = "hello";
         if (uniform(rng, 0, 1)) {
           g.fields.emplace_back("Content-Length", " 5, 5");
         } else {
           g.fields.emplace_back("Content-Length", " 5");
           g.fields.emplace_back("Content-Length", " 5");
         }
       }},
      {"framing-fields-in-trailers",
       [=](Gen& g, Rng&) {
         chunked(g);
         g.trailers = {"Content-Length: 5", "Content-Length: 5"};
       }},
      {"content-length-ows",
       [](Gen& g, Rng& rng) {
         std::erase_if(g.fields, [](auto& f) {
           return kio_diff::ieq(f.first, "content-length") ||
                  kio_diff::ieq(f.first, "transfer-encoding");
         });
         g.framing = Gen::length;
         g.body = "hello";
         g.fields.emplace_back("Content-Length", pick(rng, {" 5\t", " 5 ", "5  "}));
       }},
      {"trailers-dropped",
       [=](Gen& g, Rng&) {
         chunked(g);
         g.trailers = {"X-Sum: 1", "Y:"};
       }},
      {"value-trailing-ows", [=](Gen& g, Rng&) { set_field(g, "X-Pad", " v \t"); }},
      {"upgrade",
       [=](Gen& g, Rng&) {
         set_field(g, "Connection", " upgrade");
         set_field(g, "Upgrade", " websocket");
       }},
  };
}

std::size_t row_index(std::string_view id) {
  const auto& rows = kio_diff::differences();
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (rows[i].id == id) return i;
  ADD_FAILURE() << "no row " << id;
  return 0;
}

// Every row of the table is real: a request built to show it is explained by exactly that row.
TEST(Differential, EveryRowIsShownByItsDeviation) {
  Rng rng(12);
  std::vector<bool> shown(kio_diff::differences().size());
  for (const Deviation& d : deviations()) {
    const std::size_t row = row_index(d.row);
    std::size_t by_row = 0;
    std::vector<std::string> failures;
    for (int i = 0; i < 300; ++i) {
      Gen g = generate(rng);
      d.apply(g, rng);
      Tally t;
      check(g.text(), t, failures);
      by_row += t.hits[row];
    }
    EXPECT_TRUE(failures.empty()) << d.row << ":\n" << report_failures(failures);
    EXPECT_GT(by_row, 0u) << "row " << d.row << " never explained its own deviation";
    shown[row] = by_row > 0;
  }
  for (std::size_t i = 0; i < shown.size(); ++i)
    EXPECT_TRUE(shown[i]) << "row " << kio_diff::differences()[i].id << " has no deviation";
}

/// Random byte-level mutations of valid requests: flips, inserts, deletes, tokens, truncation.
std::string mutate(std::string s, Rng& rng) {
  static const std::string tokens[] = {"\r\n",
                                       "\n",
                                       "\r",
                                       " ",
                                       "\t",
                                       ":",
                                       ",",
                                       ";",
                                       "0",
                                       "\0",
                                       "a",
                                       "chunked",
                                       "Host: a\r\n",
                                       "Content-Length: 3\r\n",
                                       "Transfer-Encoding: chunked\r\n",
                                       "\x7f",
                                       "\xff",
                                       "=",
                                       "\"",
                                       "/",
                                       "?",
                                       "*",
                                       "#"};
  for (std::size_t n = uniform(rng, 1, 3); n > 0 && !s.empty(); --n) {
    std::size_t at = uniform(rng, 0, s.size() - 1);
    switch (uniform(rng, 0, 4)) {
      case 0:
        s[at] = static_cast<char>(uniform(rng, 0, 255));
        break;
      case 1:
        s.insert(at, 1, static_cast<char>(uniform(rng, 0, 255)));
        break;
      case 2:
        s.erase(at, 1);
        break;
      case 3:
        s.insert(at, pick(rng, tokens));
        break;
      default:
        s.resize(at);  // truncated: both must wait (or agree on the error so far)
        break;
    }
  }
  return s;
}

TEST(Differential, MutatedRequestsDifferOnlyAsTheTableSays) {
  Rng rng(13);
  Tally t;
  std::vector<std::string> failures;
  const int n = 60000 / case_divisor;
  for (int i = 0; i < n; ++i)
    check(mutate(generate(rng).text(), rng), t, failures);
  EXPECT_TRUE(failures.empty()) << failures.size() << " unexplained (first 20):\n"
                                << report_failures(failures);
  // Most mutations are still comparable: the check is not vacuous.
  EXPECT_GT(t.agreed, static_cast<std::size_t>(n / 2));
  std::printf("%d mutated requests: %zu agreed, %zu differed as the table says\n", n, t.agreed,
              t.explained);
  const auto& rows = kio_diff::differences();
  for (std::size_t i = 0; i < rows.size(); ++i)
    std::printf("  %-22s %6zu\n", rows[i].id, t.hits[i]);
}

#endif

}  // namespace
