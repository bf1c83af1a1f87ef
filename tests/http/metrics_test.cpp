// Description: kio::http metrics over real sockets on two cores — responses by status class,
// parse errors by status, accepted/open connections and bytes match what the clients did
// exactly; prometheus_text's format; GET /metrics passes `promtool check metrics`.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include "kio/core/runtime.hpp"
#include "kio/http/metrics.hpp"
#include "kio/http/server.hpp"
#include "response_reader.hpp"
#include "running_server.hpp"
#include "test_client.hpp"

namespace http = kio::http;
using http_test::Client;
using http_test::get;
using http_test::parse_responses;
using Snapshot = kio::PerCore<http::Metrics>;
using namespace std::chrono_literals;

namespace {

/// A Server with /, /echo and /metrics on a 2-worker runtime, run by a background thread.
class Running {
 public:
  Running() : srv_({.workers = 2, .oversubscribe = true}, make_router(), options()) {}
  std::uint16_t port() const { return srv_.port(); }
  /// A snapshot taken from this (non-worker) thread.
  Snapshot snapshot() { return srv_.runtime().block_on(http::metrics_snapshot()); }
  /// Snapshots until `done(s)` or 5 s passed; returns the last one. Completions are counted when
  /// the server's core reaps them, which may be a moment after the client saw their effect.
  Snapshot snapshot_when(const std::function<bool(const Snapshot&)>& done) {
    Snapshot s = snapshot();
    for (int i = 0; i < 500 && !done(s); ++i) {
      std::this_thread::sleep_for(10ms);
      s = snapshot();
    }
    return s;
  }

 private:
  static http::Router make_router() {
    http::Router r;
    r.get("/", [](http::Request&) { return http::Response::text("Hello, World!"); });
    r.any("/echo", [](http::Request& q) { return http::Response().body_view(q.body); });
    http::metrics_route(r);
    return r;
  }
  static http::ServerOptions options() {
    http::ServerOptions o;
    o.address = kio::net::Address::loopback_v4(0);
    return o;
  }
  http_test::RunningServer srv_;
};

TEST(HttpMetrics, CountsResponsesParseErrorsConnectionsAndBytesExactly) {
  Running srv;
  ASSERT_NE(srv.port(), 0);
  const Snapshot before = srv.snapshot();
  EXPECT_EQ(before.cores.size(), 2u);
  EXPECT_EQ(before.total.net.accepted, 0u);
  EXPECT_EQ(before.total.http.responses[1], 0u);

  std::size_t sent = 0, received = 0;
  constexpr std::size_t n = 20;
  {
    // n pipelined GETs (2xx) and one unknown path (404), on one keep-alive connection.
    Client c(srv.port());
    ASSERT_TRUE(c.connected());
    std::string batch;
    for (std::size_t i = 0; i < n; ++i)
      batch += get("/");
    batch += get("/missing");
    ASSERT_TRUE(c.send(batch));
    sent += batch.size();
    std::string got = c.read_responses(n + 1);
    received += got.size();
    auto rs = parse_responses(got);
    ASSERT_EQ(rs.size(), n + 1);
    EXPECT_EQ(rs[n].status, 404u);

    // While it is open the server holds one stream for it.
    Snapshot open = srv.snapshot_when([](const Snapshot& s) { return s.total.net.accepted == 1; });
    EXPECT_EQ(open.total.net.accepted, 1u);
    EXPECT_EQ(open.total.net.open_connections, 1u);
  }
  {
    // Expect: 100-continue: an interim 1xx, then the echo (2xx).
    Client c(srv.port());
    const std::string head =
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
    ASSERT_TRUE(c.send(head));
    std::string got = c.read_responses(1);
    EXPECT_NE(got.find("100 Continue"), std::string::npos);
    ASSERT_TRUE(c.send("hello"));
    std::string rest = c.read_responses(1);
    EXPECT_NE(rest.find("hello"), std::string::npos);
    sent += head.size() + 5;
    received += got.size() + rest.size();
  }
  {
    // A malformed request (whitespace before the colon): 400, parse error, connection closed.
    Client c(srv.port());
    const std::string bad = "GET / HTTP/1.1\r\nHost : t\r\n\r\n";
    ASSERT_TRUE(c.send(bad));
    sent += bad.size();
    std::string got = c.read_to_eof();
    received += got.size();
    auto rs = parse_responses(got);
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].status, 400u);
  }

  const Snapshot s = srv.snapshot_when([&](const Snapshot& s) {
    return s.total.net.open_connections == 0 && s.total.net.bytes_sent == received &&
           s.total.net.bytes_received == sent;
  });
  const http::HttpMetrics& h = s.total.http;
  EXPECT_EQ(h.responses[0], 1u);     // 100 Continue
  EXPECT_EQ(h.responses[1], n + 1);  // n hellos and the echo
  EXPECT_EQ(h.responses[2], 0u);     // 3xx
  EXPECT_EQ(h.responses[3], 2u);     // 404 and 400
  EXPECT_EQ(h.responses[4], 0u);     // 5xx
  EXPECT_EQ(h.responses[5], 0u);     // other
  EXPECT_EQ(h.parse_errors_for(http::Status::bad_request), 1u);
  std::uint64_t parse_errors = 0;
  for (std::uint64_t e : h.parse_errors)
    parse_errors += e;
  EXPECT_EQ(parse_errors, 1u);
  EXPECT_EQ(s.total.net.accepted, 3u);
  EXPECT_EQ(s.total.net.open_connections, 0u);
  EXPECT_EQ(s.total.net.bytes_received, sent);
  EXPECT_EQ(s.total.net.bytes_sent, received);
  EXPECT_EQ(s.total.net.connected, 0u);
  // The per-core values add up to the total, and the runtime counters moved on both cores.
  http::Metrics sum = s.cores[0];
  sum += s.cores[1];
  EXPECT_EQ(sum.http.responses, h.responses);
  EXPECT_EQ(sum.net.accepted, s.total.net.accepted);
  EXPECT_EQ(sum.net.bytes_sent, s.total.net.bytes_sent);
  for (const http::Metrics& c : s.cores) {
    EXPECT_GT(c.runtime.ops_submitted, 0u);
    EXPECT_GT(c.runtime.completions, 0u);
    EXPECT_GT(c.runtime.tasks_run, 0u);
  }
}

TEST(HttpMetrics, StatusIndexes) {
  EXPECT_EQ(http::HttpMetrics::class_index(http::Status::continue_), 0u);
  EXPECT_EQ(http::HttpMetrics::class_index(http::Status::no_content), 1u);
  EXPECT_EQ(http::HttpMetrics::class_index(http::Status::not_modified), 2u);
  EXPECT_EQ(http::HttpMetrics::class_index(http::Status::request_timeout), 3u);
  EXPECT_EQ(http::HttpMetrics::class_index(http::Status::http_version_not_supported), 4u);
  EXPECT_EQ(http::HttpMetrics::class_index(http::Status{799}), 5u);
  http::HttpMetrics m;
  for (http::Status st : http::HttpMetrics::parse_error_statuses)
    ++m.parse_errors[http::HttpMetrics::parse_error_index(st)];
  ++m.parse_errors[http::HttpMetrics::parse_error_index(http::Status::not_found)];  // "other"
  for (std::uint64_t e : m.parse_errors)
    EXPECT_EQ(e, 1u);
}

/// The value of the sample line `series` (name{labels}) in `text`, or -1.
long long sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0) return std::stoll(line.substr(series.size() + 1));
  return -1;
}

TEST(Prometheus, TextHasHelpTypeAndOneSeriesPerCore) {
  Snapshot m;
  m.cores.resize(2);
  m.cores[0].runtime.cq_overflows = 7;
  m.cores[1].net.open_connections = 3;
  m.cores[1].http.responses[1] = 42;
  m.cores[0].http.parse_errors[http::HttpMetrics::parse_error_index(http::Status::uri_too_long)] =
      2;
  const std::string t = http::prometheus_text(m);
  EXPECT_NE(t.find("# HELP kio_io_cq_overflows_total "), std::string::npos);
  EXPECT_NE(t.find("# TYPE kio_io_cq_overflows_total counter\n"), std::string::npos);
  EXPECT_NE(t.find("# TYPE kio_net_connections_open gauge\n"), std::string::npos);
  EXPECT_EQ(sample(t, "kio_io_cq_overflows_total{core=\"0\"}"), 7);
  EXPECT_EQ(sample(t, "kio_io_cq_overflows_total{core=\"1\"}"), 0);
  EXPECT_EQ(sample(t, "kio_net_connections_open{core=\"1\"}"), 3);
  EXPECT_EQ(sample(t, "kio_http_responses_total{core=\"1\",class=\"2xx\"}"), 42);
  EXPECT_EQ(sample(t, "kio_http_responses_total{core=\"0\",class=\"2xx\"}"), 0);
  EXPECT_EQ(sample(t, "kio_http_parse_errors_total{core=\"0\",status=\"414\"}"), 2);
  EXPECT_EQ(sample(t, "kio_http_parse_errors_total{core=\"1\",status=\"other\"}"), 0);
  EXPECT_EQ(sample(t, "kio_io_cq_overflows_total{core=\"2\"}"), -1);  // two cores only
  // Every sample belongs to the family whose TYPE line came last.
  std::istringstream in(t);
  std::string line, family;
  int samples = 0;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      family = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0) continue;
    ++samples;
    EXPECT_EQ(line.substr(0, family.size() + 1), family + "{") << line;
  }
  EXPECT_EQ(samples, 2 * (13 + 6 + 8));
}

/// promtool from PATH (or $KIO_PROMTOOL); empty when there is none.
std::string find_promtool() {
  if (const char* p = std::getenv("KIO_PROMTOOL"); p && *p) return p;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string cand = (dir.empty() ? "." : dir) + "/promtool";
    if (::access(cand.c_str(), X_OK) == 0) return cand;
  }
  return {};
}

TEST(Prometheus, MetricsRoutePassesPromtool) {
  Running srv;
  ASSERT_NE(srv.port(), 0);
  {
    Client c(srv.port());
    std::string batch;
    for (int i = 0; i < 5; ++i)
      batch += get("/");
    ASSERT_TRUE(c.send(batch));
    ASSERT_EQ(parse_responses(c.read_responses(5)).size(), 5u);
  }
  Client c(srv.port());
  ASSERT_TRUE(c.send(get("/metrics")));
  auto rs = parse_responses(c.read_responses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 200u);
  EXPECT_EQ(rs[0].header("Content-Type"), http::prometheus_content_type);
  const std::string& text = rs[0].body;
  long long ok = 0;
  for (int core = 0; core < 2; ++core) {
    long long v = sample(
        text, "kio_http_responses_total{core=\"" + std::to_string(core) + "\",class=\"2xx\"}");
    ASSERT_GE(v, 0) << text;
    ok += v;
  }
  EXPECT_EQ(ok, 5);  // the /metrics response itself is counted after the snapshot

  const std::string promtool = find_promtool();
  if (promtool.empty())
    GTEST_SKIP() << "promtool not found (Debian package `prometheus`; tools/test installs it, "
                    "or set KIO_PROMTOOL): the exposition format was not checked by promtool";
  char path[] = "/tmp/kio_metrics_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << text;
  const std::string cmd = "'" + promtool + "' check metrics < " + path + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (std::size_t k = std::fread(buf, 1, sizeof buf, p))
    out.append(buf, k);
  const int status = ::pclose(p);
  ::unlink(path);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "promtool check metrics failed:\n"
                                                             << out << "\n--- input:\n"
                                                             << text;
  EXPECT_EQ(out, "") << "promtool reported problems";
}

}  // namespace
