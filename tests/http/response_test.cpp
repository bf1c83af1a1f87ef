// Description: Response builder and head serialisation — status line, automatic Content-Length,
// Date line format, Connection handling, header validation, bodiless statuses.
#include <gtest/gtest.h>

#include <ctime>
#include <stdexcept>
#include <string>

#include "kio/http/detail/date.hpp"
#include "kio/http/detail/serialize.hpp"
#include "kio/http/response.hpp"

namespace http = kio::http;

namespace {

http::detail::HeadOptions opts(bool keep_alive = true, bool http10 = false,
                               std::string_view date = {}, std::string_view extra = {}) {
  http::detail::HeadOptions o;
  o.keep_alive = keep_alive;
  o.http10 = http10;
  o.date_line = date;
  o.extra_lines = extra;
  return o;
}

std::string head(const http::Response& r, http::detail::HeadOptions o = opts()) {
  std::string out;
  http::detail::append_head(out, r, r.body().size(), o);
  return out;
}

TEST(Response, TextHelloWorld) {
  auto r = http::Response::text("Hello, World!");
  EXPECT_EQ(r.body(), "Hello, World!");
  EXPECT_EQ(head(r, opts(true, false, "Date: X\r\n")),
            "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nDate: X\r\nContent-Type: text/plain\r\n\r\n");
}

TEST(Response, ConnectionHeaders) {
  http::Response r(http::Status::not_found);
  EXPECT_EQ(head(r, opts(false)),
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head(r, opts(true, true)),
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
}

TEST(Response, BodilessStatusesHaveNoContentLength) {
  EXPECT_EQ(head(http::Response(http::Status::no_content)), "HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(head(http::Response(http::Status::not_modified)), "HTTP/1.1 304 Not Modified\r\n\r\n");
  EXPECT_EQ(head(http::Response(http::Status::continue_)), "HTTP/1.1 100 Continue\r\n\r\n");
}

TEST(Response, UnknownCodeAndExtraLines) {
  http::Response r(http::Status{299});
  EXPECT_EQ(head(r, opts(true, false, {}, "Allow: GET\r\n")),
            "HTTP/1.1 299 Unknown\r\nContent-Length: 0\r\nAllow: GET\r\n\r\n");
}

TEST(Response, HeadersAccumulateBeyondInlineStorage) {
  http::Response r;
  std::string expect;
  for (int i = 0; i < 20; ++i) {
    std::string name = "X-Header-" + std::to_string(i);
    std::string value(i * 3, 'v');
    r.header(name, value);
    expect += name + ": " + value + "\r\n";
  }
  EXPECT_EQ(r.header_lines(), expect);
  http::Response copy = r;
  EXPECT_EQ(copy.header_lines(), expect);
}

TEST(Response, InvalidHeadersThrow) {
  http::Response r;
  EXPECT_THROW(r.header("Bad Name", "x"), std::invalid_argument);
  EXPECT_THROW(r.header("", "x"), std::invalid_argument);
  EXPECT_THROW(r.header("X", "a\r\nInjected: 1"), std::invalid_argument);
  EXPECT_THROW(r.header("X", std::string("a\0b", 3)), std::invalid_argument);
  EXPECT_THROW(r.header("Content-Length", "5"), std::invalid_argument);
  EXPECT_THROW(r.header("connection", "close"), std::invalid_argument);
  EXPECT_THROW(r.header("Transfer-Encoding", "chunked"), std::invalid_argument);
  EXPECT_EQ(r.header_lines(), "");
}

TEST(Response, OwnedAndBorrowedBodies) {
  std::string big(1000, 'b');
  http::Response r;
  r.body(big);
  EXPECT_EQ(r.body(), big);
  http::Response moved = std::move(r);
  EXPECT_EQ(moved.body(), big);
  static const char text[] = "static";
  moved.body_view(text);
  EXPECT_EQ(moved.body().data(), text);
  auto j = http::Response::json_body(R"({"a":1})", http::Status::created);
  EXPECT_EQ(head(j),
            "HTTP/1.1 201 Created\r\nContent-Length: 7\r\nContent-Type: application/json\r\n\r\n");
}

TEST(DateLine, FormatsImfFixdate) {
  char buf[64];
  std::size_t n = http::detail::format_date_line(784111777, buf);  // RFC 9110's example
  EXPECT_EQ(std::string(buf, n), "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
  n = http::detail::format_date_line(0, buf);
  EXPECT_EQ(std::string(buf, n), "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n");
}

TEST(DateLine, CacheMatchesTheClock) {
  std::time_t before = std::time(nullptr);
  std::string line(http::detail::date_cache().line());
  std::time_t after = std::time(nullptr);
  char a[64], b[64];
  std::string la(a, http::detail::format_date_line(before, a));
  std::string lb(b, http::detail::format_date_line(after, b));
  // The coarse clock may lag the precise one by a tick, so allow the second before too.
  char c[64];
  std::string lc(c, http::detail::format_date_line(before - 1, c));
  EXPECT_TRUE(line == la || line == lb || line == lc) << line;
}

}  // namespace
