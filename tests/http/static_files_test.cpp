// Description: Router::static_dir over real sockets, for both FileSend modes (sendfile, splice):
// a 10 MiB file byte for byte, HEAD, Range (206, 416, ignored forms, If-Range), 304 for
// If-None-Match and If-Modified-Since, every traversal attempt with its status, 1,000 concurrent
// downloads, a client that disconnects mid-file and one that stops reading (no fd or pipe leaked,
// the core keeps serving), no allocation per request in steady state; plus the
// range/validator/date/content-type helpers.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "alloc_counter.hpp"
#include "kio/core/runtime.hpp"
#include "kio/http/server.hpp"
#include "kio/http/static_files.hpp"
#include "response_reader.hpp"
#include "running_server.hpp"

namespace http = kio::http;
using http_test::parse_responses;
using namespace std::chrono_literals;

namespace {

// ---- helpers ----------------------------------------------------------------------------------

TEST(StaticHelpers, ParseRange) {
  using R = http::detail::ByteRange;
  struct Case {
    const char* h;
    std::uint64_t size;
    R::Kind kind;
    std::uint64_t first, length;
  } cases[] = {
      {"bytes=0-9", 100, R::satisfiable, 0, 10},
      {"bytes=90-", 100, R::satisfiable, 90, 10},
      {"bytes=90-1000", 100, R::satisfiable, 90, 10},
      {"bytes=-5", 100, R::satisfiable, 95, 5},
      {"bytes=-500", 100, R::satisfiable, 0, 100},
      {"bytes = 5-5", 100, R::none, 0, 0},  // no whitespace around '=' (RFC 9110 14.1.1)
      {"bytes= 5 - 5 ", 100, R::satisfiable, 5, 1},
      {"BYTES=1-2", 100, R::satisfiable, 1, 2},
      {"bytes=100-", 100, R::unsatisfiable, 0, 0},
      {"bytes=100-200", 100, R::unsatisfiable, 0, 0},
      {"bytes=-0", 100, R::unsatisfiable, 0, 0},
      {"bytes=0-0", 0, R::unsatisfiable, 0, 0},
      {"bytes=9-3", 100, R::none, 0, 0},
      {"bytes=0-1,5-6", 100, R::none, 0, 0},
      {"bytes=a-b", 100, R::none, 0, 0},
      {"bytes=-", 100, R::none, 0, 0},
      {"items=0-1", 100, R::none, 0, 0},
      {"bytes=18446744073709551616-", 100, R::none, 0, 0},
  };
  for (const Case& c : cases) {
    R r = http::detail::parse_range(c.h, c.size);
    EXPECT_EQ(r.kind, c.kind) << c.h;
    if (c.kind == R::satisfiable) {
      EXPECT_EQ(r.first, c.first) << c.h;
      EXPECT_EQ(r.length, c.length) << c.h;
    }
  }
}

TEST(StaticHelpers, EtagListsAndDates) {
  using http::detail::etag_list_matches;
  EXPECT_TRUE(etag_list_matches("\"a-1\"", "\"a-1\""));
  EXPECT_TRUE(etag_list_matches("W/\"a-1\"", "\"a-1\""));
  EXPECT_TRUE(etag_list_matches("\"x\", \"a-1\"", "\"a-1\""));
  EXPECT_TRUE(etag_list_matches(" * ", "\"a-1\""));
  EXPECT_FALSE(etag_list_matches("\"a-2\"", "\"a-1\""));
  EXPECT_FALSE(etag_list_matches("a-1", "\"a-1\""));
  EXPECT_FALSE(etag_list_matches("", "\"a-1\""));
  auto t = http::detail::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, 784111777);
  EXPECT_FALSE(http::detail::parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"));
  EXPECT_FALSE(http::detail::parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"));
  EXPECT_FALSE(http::detail::parse_http_date("Sun, 06 Xyz 1994 08:49:37 GMT"));
  EXPECT_FALSE(http::detail::parse_http_date(""));
}

TEST(StaticHelpers, ContentTypes) {
  EXPECT_EQ(http::static_content_type("a/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(http::static_content_type("x.CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(http::static_content_type("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(http::static_content_type("logo.png"), "image/png");
  EXPECT_EQ(http::static_content_type("f.woff2"), "font/woff2");
  EXPECT_EQ(http::static_content_type("data.bin"), "application/octet-stream");
  EXPECT_EQ(http::static_content_type("dir.d/README"), "application/octet-stream");
  EXPECT_EQ(http::static_content_type("noext"), "application/octet-stream");
}

TEST(StaticHelpers, BadConfigurationIsReported) {
  http::Router r;
  EXPECT_THROW(r.static_dir("/x", "/nonexistent/kio-test-dir"), std::system_error);
  EXPECT_THROW(r.static_dir("x", "/tmp"), std::invalid_argument);
  EXPECT_THROW(r.static_dir("/x/", "/tmp"), std::invalid_argument);
}

// ---- a server ---------------------------------------------------------------------------------

class Client {
 public:
  explicit Client(std::uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  bool send(std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  bool read_some(std::string& into, std::size_t max = 1 << 20) {
    std::string buf(max, '\0');
    ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n <= 0) return false;
    into.append(buf.data(), static_cast<std::size_t>(n));
    return true;
  }
  /// Reads until `n` responses are complete (HEAD responses: index `head` has no body).
  std::vector<http_test::ParsedResponse> responses(std::size_t n, int head = -1) {
    std::string got;
    for (;;) {
      auto rs = parse_responses(got, head, true);
      if (rs.size() >= n) return rs;
      if (!read_some(got)) return rs;
    }
  }
  void abort() {  // RST: unread data is dropped
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string file_bytes(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

void write_file(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fd);
}

std::size_t open_fds() {
  std::size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)e;
    ++n;
  }
  return n;
}

/// Open fds of this process whose target starts with `prefix` ("socket:", "pipe:", a path).
std::size_t open_fds_to(std::string_view prefix) {
  std::size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(e.path(), ec).string();
    if (!ec && target.starts_with(prefix)) ++n;
  }
  return n;
}

struct Tree {
  std::string base, root;
  std::string big = file_bytes(10 << 20, 7);
  std::string small = file_bytes(4096, 9);
  Tree() {
    char tmpl[] = "/tmp/kio-static-test-XXXXXX";
    base = ::mkdtemp(tmpl);
    root = base + "/www";
    ::mkdir(root.c_str(), 0755);
    ::mkdir((root + "/sub").c_str(), 0755);
    ::mkdir((root + "/empty").c_str(), 0755);
    write_file(root + "/big.bin", big);
    write_file(root + "/small.txt", small);
    write_file(root + "/index.html", "<h1>root</h1>\n");
    write_file(root + "/sub/index.html", "<h1>sub</h1>\n");
    write_file(root + "/sub/style.css", "body{}\n");
    write_file(base + "/secret.txt", "outside the root\n");
    ::symlink("../secret.txt", (root + "/escape").c_str());
    ::symlink((base + "/secret.txt").c_str(), (root + "/escape-abs").c_str());
    ::symlink("sub/style.css", (root + "/inside.css").c_str());
    ::mkfifo((root + "/fifo").c_str(), 0644);
  }
  ~Tree() {
    std::error_code ec;
    std::filesystem::remove_all(base, ec);
  }
};

/// A Server with static_dir("/", tree) on one worker, in a background thread.
class Running {
 public:
  Running(const Tree& t, http::FileSend mode, std::chrono::milliseconds send_timeout = 30s)
      : srv_({.workers = 1}, make_router(t), options(mode, send_timeout)) {}
  std::uint16_t port() const { return srv_.port(); }

 private:
  static http::Router make_router(const Tree& t) {
    http::Router r;
    r.get("/hello", [](http::Request&) { return http::Response::text("hi"); });
    r.get("/mem", [](http::Request&) { return http::Response::text(std::string(4 << 20, 'm')); });
    r.static_dir("/files", t.root);
    r.static_dir("/", t.root);
    return r;
  }
  static http::ServerOptions options(http::FileSend mode, std::chrono::milliseconds send_timeout) {
    http::ServerOptions o;
    o.address = kio::net::Address::loopback_v4(0);
    o.file_send = mode;
    o.send_timeout = send_timeout;
    return o;
  }
  http_test::RunningServer srv_;
};

std::string get(std::string_view target, std::string_view extra = "") {
  return std::string("GET ") + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" +
         std::string(extra) + "\r\n";
}

class StaticFiles : public ::testing::TestWithParam<http::FileSend> {
 protected:
  Tree tree;
};

TEST_P(StaticFiles, TenMiBFileByteForByteThenMoreOnTheSameConnection) {
  Running srv(tree, GetParam());
  Client c(srv.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send(get("/big.bin") + get("/small.txt") + get("/hello")));
  auto rs = c.responses(3);
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].status, 200u);
  EXPECT_EQ(rs[0].header("Content-Length"), std::to_string(10 << 20));
  EXPECT_EQ(rs[0].header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(rs[0].header("Accept-Ranges"), "bytes");
  EXPECT_FALSE(rs[0].header("ETag").empty());
  EXPECT_FALSE(rs[0].header("Last-Modified").empty());
  EXPECT_TRUE(rs[0].body == tree.big) << "the 10 MiB body differs";
  EXPECT_EQ(rs[1].header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_TRUE(rs[1].body == tree.small);
  EXPECT_EQ(rs[2].body, "hi");
}

// sendfile mode switches the socket to O_NONBLOCK: io_uring's own sends on it must still wait for
// room, so a large in-memory body after a file reaches a slow reader whole.
TEST_P(StaticFiles, MemoryBodiesAfterAFileStillWaitForRoom) {
  Running srv(tree, GetParam());
  Client c(srv.port(), 16384);
  ASSERT_TRUE(c.send(get("/small.txt") + get("/mem") + get("/small.txt")));
  std::string got;
  for (;;) {
    if (parse_responses(got, -1, true).size() >= 3) break;
    std::this_thread::sleep_for(1ms);  // a slow reader: the server's sends fill the socket
    if (!c.read_some(got, 65536)) break;
  }
  auto rs = parse_responses(got);
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_TRUE(rs[0].body == tree.small);
  EXPECT_EQ(rs[1].body.size(), 4u << 20);
  EXPECT_EQ(rs[1].body.find_first_not_of('m'), std::string::npos);
  EXPECT_TRUE(rs[2].body == tree.small);
}

TEST_P(StaticFiles, HeadHasTheLengthAndNoBody) {
  Running srv(tree, GetParam());
  Client c(srv.port());
  ASSERT_TRUE(c.send("HEAD /big.bin HTTP/1.1\r\nHost: t\r\n\r\n" + get("/small.txt")));
  auto rs = c.responses(2, 0);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].status, 200u);
  EXPECT_EQ(rs[0].header("Content-Length"), std::to_string(10 << 20));
  EXPECT_TRUE(rs[0].body.empty());
  EXPECT_TRUE(rs[1].body == tree.small);  // the HEAD sent no body bytes to confuse the framing
}

TEST_P(StaticFiles, RangesAndUnsatisfiableRanges) {
  Running srv(tree, GetParam());
  Client c(srv.port());
  const std::size_t size = tree.big.size();
  struct Case {
    std::string range;
    unsigned status;
    std::size_t first, length;
    std::string content_range;
  } cases[] = {
      {"bytes=0-9", 206, 0, 10, "bytes 0-9/" + std::to_string(size)},
      {"bytes=1000000-", 206, 1000000, size - 1000000,
       "bytes 1000000-" + std::to_string(size - 1) + "/" + std::to_string(size)},
      {"bytes=-5", 206, size - 5, 5,
       "bytes " + std::to_string(size - 5) + "-" + std::to_string(size - 1) + "/" +
           std::to_string(size)},
      {"bytes=" + std::to_string(size) + "-", 416, 0, 0, "bytes */" + std::to_string(size)},
      {"bytes=0-1,4-5", 200, 0, size, ""},
      {"bytes=9-3", 200, 0, size, ""},
  };
  for (const Case& k : cases) {
    ASSERT_TRUE(c.send(get("/big.bin", "Range: " + k.range + "\r\n")));
    auto rs = c.responses(1);
    ASSERT_EQ(rs.size(), 1u) << k.range;
    EXPECT_EQ(rs[0].status, k.status) << k.range;
    EXPECT_EQ(rs[0].header("Content-Range"), k.content_range) << k.range;
    if (k.status != 416) {
      EXPECT_EQ(rs[0].body.size(), k.length) << k.range;
      EXPECT_TRUE(rs[0].body == tree.big.substr(k.first, k.length)) << k.range;
    }
  }
  // If-Range: the range applies only while the validator still matches.
  ASSERT_TRUE(c.send(get("/small.txt")));
  auto full = c.responses(1);
  ASSERT_EQ(full.size(), 1u);
  const std::string etag = full[0].header("ETag"), lm = full[0].header("Last-Modified");
  for (auto [if_range, want] : {std::pair{etag, 206u},
                                {lm, 206u},
                                {std::string("\"0-0\""), 200u},
                                {std::string("Mon, 01 Jan 2001 00:00:00 GMT"), 200u}}) {
    ASSERT_TRUE(c.send(get("/small.txt", "Range: bytes=0-0\r\nIf-Range: " + if_range + "\r\n")));
    auto rs = c.responses(1);
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].status, want) << if_range;
  }
}

TEST_P(StaticFiles, NotModifiedForBothValidators) {
  Running srv(tree, GetParam());
  Client c(srv.port());
  ASSERT_TRUE(c.send(get("/sub/style.css")));
  auto first = c.responses(1);
  ASSERT_EQ(first.size(), 1u);
  const std::string etag = first[0].header("ETag"), lm = first[0].header("Last-Modified");
  ASSERT_FALSE(etag.empty());
  struct Case {
    std::string headers;
    unsigned status;
  } cases[] = {
      {"If-None-Match: " + etag + "\r\n", 304},
      {"If-None-Match: \"nope\", W/" + etag + "\r\n", 304},
      {"If-None-Match: *\r\n", 304},
      {"If-None-Match: \"nope\"\r\n", 200},
      {"If-Modified-Since: " + lm + "\r\n", 304},
      {"If-Modified-Since: Sun, 06 Nov 2033 08:49:37 GMT\r\n", 304},
      {"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", 200},
      {"If-Modified-Since: yesterday\r\n", 200},
      // If-None-Match wins over If-Modified-Since.
      {"If-None-Match: \"nope\"\r\nIf-Modified-Since: " + lm + "\r\n", 200},
  };
  for (const Case& k : cases) {
    ASSERT_TRUE(c.send(get("/sub/style.css", k.headers)));
    auto rs = c.responses(1);
    ASSERT_EQ(rs.size(), 1u) << k.headers;
    EXPECT_EQ(rs[0].status, k.status) << k.headers;
    if (k.status == 304) {
      EXPECT_TRUE(rs[0].body.empty());
      EXPECT_EQ(rs[0].header("Content-Length"), "");
      EXPECT_EQ(rs[0].header("ETag"), etag);
    } else {
      EXPECT_EQ(rs[0].body, "body{}\n");
    }
  }
}

TEST_P(StaticFiles, TraversalAndOddNames) {
  Running srv(tree, GetParam());
  struct Case {
    std::string target;
    unsigned status;
    std::string body;  // checked when not empty
  } cases[] = {
      {"/", 200, "<h1>root</h1>\n"},
      {"/sub/", 200, "<h1>sub</h1>\n"},
      {"/sub", 301, ""},
      {"/files", 301, ""},
      {"/files/sub/style.css", 200, "body{}\n"},
      {"/empty/", 404, ""},
      {"/inside.css", 200, "body{}\n"},
      {"/sub/./style.css", 200, "body{}\n"},
      {"//sub//style.css", 200, "body{}\n"},
      {"/../secret.txt", 403, ""},
      {"/sub/../../secret.txt", 403, ""},
      {"/sub/../index.html", 403, ""},
      {"/%2e%2e/secret.txt", 403, ""},
      {"/%2E%2e%2fsecret.txt", 403, ""},
      {"/.%2e/secret.txt", 403, ""},
      {"/files/%2e%2e/%2e%2e/secret.txt", 403, ""},
      {"/escape", 403, ""},
      {"/escape-abs", 403, ""},
      {"/small.txt%00.html", 404, ""},
      {"/%00", 404, ""},
      {"/bad%zzescape", 400, ""},
      {"/bad%2", 400, ""},
      {"/fifo", 403, ""},
      {"/missing.html", 404, ""},
      {"/small.txt/x", 404, ""},
  };
  Client c(srv.port());
  for (const Case& k : cases) {
    ASSERT_TRUE(c.send(get(k.target)));
    auto rs = c.responses(1);
    ASSERT_EQ(rs.size(), 1u) << k.target;
    EXPECT_EQ(rs[0].status, k.status) << k.target;
    if (!k.body.empty()) {
      EXPECT_EQ(rs[0].body, k.body) << k.target;
    }
    if (k.status == 301) {
      EXPECT_EQ(rs[0].header("Location"), k.target + "/") << k.target;
    }
    EXPECT_EQ(rs[0].body.find("outside the root"), std::string::npos) << k.target;
  }
  ASSERT_TRUE(c.send("POST /small.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"));
  auto rs = c.responses(1);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 405u);
}

TEST_P(StaticFiles, AThousandConcurrentDownloads) {
  constexpr int n = 1000;
  // Both ends live in this process: about 2,000 sockets.
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_max < 2 * n + 100)
    GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << lim.rlim_max << " is below " << 2 * n + 100
                 << "; raise it (ulimit -Hn) to run this test";
  if (lim.rlim_cur < 2 * n + 100) {
    lim.rlim_cur = lim.rlim_max;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0);
  }
  Running srv(tree, GetParam());
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<Client>(srv.port()));
    ASSERT_TRUE(clients.back()->connected()) << i;
  }
  const std::string req = get("/small.txt", "Connection: close\r\n");
  for (auto& c : clients)
    ASSERT_TRUE(c->send(req));
  std::vector<std::string> got(n);
  std::vector<bool> done(n, false);
  int remaining = n;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (remaining > 0 && std::chrono::steady_clock::now() < deadline) {
    std::vector<pollfd> pfds;
    std::vector<int> idx;
    for (int i = 0; i < n; ++i)
      if (!done[i]) {
        pfds.push_back(pollfd{clients[i]->fd(), POLLIN, 0});
        idx.push_back(i);
      }
    ASSERT_GE(::poll(pfds.data(), pfds.size(), 1000), 0);
    for (std::size_t k = 0; k < pfds.size(); ++k) {
      if (!pfds[k].revents) continue;
      const int i = idx[k];
      if (!clients[i]->read_some(got[i], 65536)) {  // EOF after the response (Connection: close)
        done[i] = true;
        --remaining;
      }
    }
  }
  ASSERT_EQ(remaining, 0);
  for (int i = 0; i < n; ++i) {
    auto rs = parse_responses(got[i]);
    ASSERT_EQ(rs.size(), 1u) << i;
    EXPECT_EQ(rs[0].status, 200u) << i;
    EXPECT_TRUE(rs[0].body == tree.small) << i;
  }
}

TEST_P(StaticFiles, ClientGoneMidFileLeaksNothingAndTheCoreKeepsServing) {
  Running srv(tree, GetParam());
  {  // warm up: the first file transfer may create a pipe the core then keeps
    Client w(srv.port());
    ASSERT_TRUE(w.send(get("/big.bin")));
    ASSERT_EQ(w.responses(1).size(), 1u);
  }
  std::this_thread::sleep_for(100ms);
  const std::size_t before = open_fds();
  for (int i = 0; i < 5; ++i) {
    Client c(srv.port(), 16384);
    ASSERT_TRUE(c.send(get("/big.bin")));
    std::string some;
    ASSERT_TRUE(c.read_some(some, 4096));
    c.abort();  // reset with most of the 10 MiB unsent
    // The core is not stuck in that transfer: another client is answered at once.
    Client other(srv.port());
    ASSERT_TRUE(other.send(get("/hello")));
    auto t0 = std::chrono::steady_clock::now();
    auto rs = other.responses(1);
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].body, "hi");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  }
  // Every connection, file and pipe of the aborted transfers is closed again.
  std::size_t after = 0;
  for (int i = 0; i < 200; ++i) {
    after = open_fds();
    if (after <= before) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_LE(after, before);
}

TEST_P(StaticFiles, AClientThatStopsReadingDoesNotStallTheCore) {
  Running srv(tree, GetParam(), 500ms);
  std::this_thread::sleep_for(50ms);
  const std::size_t sockets = open_fds_to("socket:"), files = open_fds_to(tree.root),
                    pipes = open_fds_to("pipe:");
  Client stuck(srv.port(), 16384);
  ASSERT_TRUE(stuck.send(get("/big.bin")));  // and does not read
  std::this_thread::sleep_for(100ms);
  for (int i = 0; i < 3; ++i) {
    Client other(srv.port());
    ASSERT_TRUE(other.send(get("/small.txt")));
    auto t0 = std::chrono::steady_clock::now();
    auto rs = other.responses(1);
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_TRUE(rs[0].body == tree.small);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 400ms);
  }
  // Past the send timeout the server gives up on the transfer and closes the connection.
  std::this_thread::sleep_for(1s);
  std::string rest;
  while (stuck.read_some(rest)) {
  }
  EXPECT_LT(rest.size(), tree.big.size());
  // Nothing of it stays open: its file and the server's socket are closed (the stuck client's
  // own socket is still open here: + 1), and at most one pipe is kept for the next transfer.
  EXPECT_EQ(open_fds_to(tree.root), files);
  EXPECT_LE(open_fds_to("socket:"), sockets + 1);
  EXPECT_LE(open_fds_to("pipe:"), pipes + 2);
}

#if KIO_TEST_COUNTS_ALLOCATIONS
// Hot path: after warm-up, serving a file over keep-alive allocates nothing (the handler's frame
// comes from the frame pool, headers stay inline, the batch's vectors keep their capacity).
TEST_P(StaticFiles, SteadyStateAllocatesNothing) {
  Running srv(tree, GetParam());
  Client c(srv.port());
  const std::string req = get("/small.txt");
  ASSERT_TRUE(c.send(req));
  auto first = c.responses(1);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(first[0].body == tree.small);
  std::size_t head_len = 0;  // every response has the same length (the Date line's too)
  for (auto& [n, v] : first[0].headers)
    head_len += n.size() + 2 + v.size() + 2;
  const std::size_t response_len = 17 + head_len + 2 + tree.small.size();  // "HTTP/1.1 200 OK\r\n"
  std::vector<char> buf(response_len);
  auto one = [&]() {  // a client loop that allocates nothing itself
    if (!c.send(req)) return false;
    std::size_t got = 0;
    while (got < response_len) {
      ssize_t n = ::recv(c.fd(), buf.data() + got, response_len - got, 0);
      if (n <= 0) return false;
      got += static_cast<std::size_t>(n);
    }
    return std::memcmp(buf.data() + response_len - tree.small.size(), tree.small.data(),
                       tree.small.size()) == 0;
  };
  for (int i = 0; i < 200; ++i)
    ASSERT_TRUE(one()) << i;
  const long before = g_news.load();
  constexpr int n = 2000;
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(one()) << i;
  const long allocations = g_news.load() - before;
  EXPECT_LT(allocations, n / 100) << allocations << " allocations for " << n << " requests";
}
#endif

INSTANTIATE_TEST_SUITE_P(Modes, StaticFiles,
                         ::testing::Values(http::FileSend::sendfile, http::FileSend::splice),
                         [](const auto& info) {
                           return info.param == http::FileSend::sendfile ? "sendfile" : "splice";
                         });

}  // namespace
