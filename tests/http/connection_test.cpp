// Description: the per-connection HTTP engine over an in-memory stream — one vectored send per
// receive batch, order under pipelining (sync and async handlers), any split of the input,
// keep-alive over 10,000 requests, 100-continue, errors answered then closed cleanly, timeouts
// (header/body/idle), graceful stop, and a request arriving as the idle deadline or a stop ends
// the wait (answered).
#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "kio/core/runtime.hpp"
#include "kio/core/sleep.hpp"
#include "kio/core/spawn.hpp"
#include "kio/core/with_cancel.hpp"
#include "kio/core/yield.hpp"
#include "kio/http/detail/connection.hpp"
#include "one_worker.hpp"
#include "response_reader.hpp"

namespace http = kio::http;
using namespace std::chrono_literals;

namespace {

using kio_test::rt;

const std::string stall = std::string("\0STALL", 6);  // script item: block until cancelled
/// Script item: block until cancelled, and the next item "arrives" in that instant (it is
/// reported by input_pending() and returned by the next recv).
const std::string stall_then_arrive = std::string("\0STALL+", 7);
/// Script item: wait `ms` (a cancellable wait), then deliver the next item.
std::string delay(int ms) {
  return std::string("\0DELAY", 6) + std::to_string(ms);
}

/// A received buffer; counts how many are alive so tests can check they are released.
struct FakeBuf {
  static inline int live = 0;
  std::vector<char> bytes;
  explicit FakeBuf(std::string_view s = {}) : bytes(s.begin(), s.end()) { ++live; }
  FakeBuf(FakeBuf&& o) noexcept : bytes(std::move(o.bytes)) { ++live; }
  FakeBuf& operator=(FakeBuf&& o) noexcept {
    bytes = std::move(o.bytes);
    return *this;
  }
  ~FakeBuf() { --live; }
  char* data() { return bytes.data(); }
  std::size_t size() const { return bytes.size(); }
};

/// Plays `script` as the received bytes (then EOF) and records what is sent.
struct FakeStream {
  std::deque<std::string> script;
  std::string sent;
  std::vector<std::size_t> send_sizes;        // bytes per send_all call
  std::vector<std::size_t> sent_before_recv;  // sent.size() at each recv
  bool shut = false;
  bool closed = false;
  bool pending = false;  // a stall_then_arrive was cancelled: the next item is here

  std::function<void(std::size_t)> on_recv;  // called with the recv's index, before it returns

  kio::Task<kio::Result<FakeBuf>> recv() {
    sent_before_recv.push_back(sent.size());
    if (on_recv) on_recv(sent_before_recv.size() - 1);
    if (script.empty()) co_return FakeBuf{};
    pending = false;
    std::string s = std::move(script.front());
    script.pop_front();
    if (s == stall_then_arrive) {
      auto r = co_await kio::sleep_for(1h);
      pending = !r && !script.empty();
      co_return r ? kio::Result<FakeBuf>(FakeBuf{}) : kio::Result<FakeBuf>(r.error());
    }
    if (s.compare(0, 6, std::string("\0DELAY", 6)) == 0) {
      auto slept = co_await kio::sleep_for(std::chrono::milliseconds(std::stoi(s.substr(6))));
      if (!slept) co_return slept.error();  // a deadline ended the wait, like a real receive
      if (script.empty()) co_return FakeBuf{};
      s = std::move(script.front());
      script.pop_front();
    }
    if (s == stall) {
      auto r = co_await kio::sleep_for(1h);
      if (!r) co_return r.error();
      co_return FakeBuf{};
    }
    co_return FakeBuf{s};
  }
  kio::Task<kio::Result<void>> send_all(std::span<const iovec> iov) {
    // Like a real send: under a cancelled token it fails at once.
    if ((co_await kio::this_cancel_token()).cancelled()) co_return std::errc::operation_canceled;
    std::size_t n = 0;
    for (const iovec& v : iov) {
      sent.append(static_cast<const char*>(v.iov_base), v.iov_len);
      n += v.iov_len;
    }
    send_sizes.push_back(n);
    co_return kio::Result<void>{};
  }
  bool input_pending() const { return pending; }
  kio::Result<void> shutdown_write() {
    shut = true;
    return {};
  }
  kio::Task<void> close() {
    closed = true;
    co_return;
  }
};

using http_test::parse_responses;

http::Router make_router() {
  http::Router r;
  r.get("/", [](http::Request&) { return http::Response::text("Hello, World!"); });
  r.get("/n/:n", [](http::Request& q) { return http::Response::text(std::string(q.param("n"))); });
  r.any("/echo", [](http::Request& q) { return http::Response().body_view(q.body); });
  r.get("/slow/:n", [](http::Request& q) -> kio::Task<http::Response> {
    std::string n(q.param("n"));  // copy before suspending: fine either way, views stay valid
    co_await kio::sleep_for(std::chrono::milliseconds(std::stoi(n) % 3));
    co_return http::Response::text("slow " + n);
  });
  r.get("/sleep", [](http::Request&) -> kio::Task<http::Response> {
    co_await kio::sleep_for(50ms);
    co_return http::Response::text("slept");
  });
  r.get("/throw", [](http::Request&) -> http::Response { throw std::runtime_error("boom"); });
  r.get("/athrow", [](http::Request&) -> kio::Task<http::Response> {
    co_await kio::yield();
    throw std::runtime_error("boom");
  });
  r.get("/big", [](http::Request&) { return http::Response::text(std::string(100000, 'x')); });
  r.get("/bye", [](http::Request&) { return http::Response::text("bye").close_connection(); });
  r.post("/only-post", [](http::Request&) { return http::Response(); });
  // Fixed responses (serialised once) beside the same responses from function handlers.
  auto tagged = [] { return http::Response::text("Hello, World!").header("X-Tag", "a b\t\xff"); };
  auto large = [] { return http::Response::text(std::string(5000, 'L')); };
  auto empty = [] { return http::Response(http::Status::no_content).header("X-E", "1"); };
  r.get("/fixed/tagged", tagged());
  r.get("/fn/tagged", [=](http::Request&) { return tagged(); });
  r.get("/fixed/large", large());
  r.get("/fn/large", [=](http::Request&) { return large(); });
  r.get("/fixed/empty", empty());
  r.get("/fn/empty", [=](http::Request&) { return empty(); });
  r.get("/fixed/bye", http::Response::text("bye").close_connection());
  return r;
}

http::ServerOptions fast_options() {
  http::ServerOptions o;
  o.header_timeout = 100ms;
  o.body_timeout = 100ms;
  o.idle_timeout = 100ms;
  o.linger_timeout = 50ms;
  return o;
}

/// Serves `script` on one fake connection and returns the stream afterwards.
FakeStream serve(std::deque<std::string> script, http::ServerOptions opts = fast_options()) {
  return rt().block_on(
      [](std::deque<std::string> sc, http::ServerOptions o) -> kio::Task<FakeStream> {
        FakeStream s;
        s.script = std::move(sc);
        http::Router router = make_router();
        http::detail::ConnRegistry reg;
        http::detail::Connection<FakeStream> conn(s, router, o, reg);
        co_await conn.run();
        EXPECT_EQ(reg.size(), 0u);
        co_return s;
      }(std::move(script), opts));
}

std::string get(std::string path, std::string extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

TEST(Connection, HelloWorld) {
  FakeStream s = serve({get("/")});
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 200u);
  EXPECT_EQ(rs[0].body, "Hello, World!");
  EXPECT_EQ(rs[0].header("Content-Type"), "text/plain");
  EXPECT_EQ(rs[0].header("Content-Length"), "13");
  EXPECT_EQ(rs[0].header("Date").size(), 29u);
  EXPECT_EQ(rs[0].header("Connection"), "");
  EXPECT_TRUE(s.closed);
  EXPECT_FALSE(s.shut);  // the client left first: nothing to linger for
  EXPECT_EQ(FakeBuf::live, 0);
}

TEST(Connection, PipelinedBatchIsOneSendInOrder) {
  for (int n : {1, 2, 16, 64}) {
    std::string batch;
    for (int i = 0; i < n; ++i)
      batch += get("/n/" + std::to_string(i));
    FakeStream s = serve({batch});
    ASSERT_EQ(s.send_sizes.size(), 1u) << n;
    auto rs = parse_responses(s.sent);
    ASSERT_EQ(rs.size(), static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
      EXPECT_EQ(rs[static_cast<std::size_t>(i)].body, std::to_string(i));
  }
}

TEST(Connection, AsyncHandlersKeepOrderInABatch) {
  std::string batch;
  for (int i = 0; i < 12; ++i)
    batch += get((i % 2 ? "/slow/" : "/n/") + std::to_string(i));
  FakeStream s = serve({batch});
  EXPECT_EQ(s.send_sizes.size(), 1u);
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 12u);
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(rs[static_cast<std::size_t>(i)].body, (i % 2 ? "slow " : "") + std::to_string(i));
}

TEST(Connection, AnySplitGivesTheSameResponses) {
  std::string stream = get("/n/1") +
                       "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "3;x=1\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n" +
                       "PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello" +
                       get("/n/2");
  auto expect = parse_responses(serve({stream}).sent);
  ASSERT_EQ(expect.size(), 4u);
  EXPECT_EQ(expect[1].body, "abcde");
  EXPECT_EQ(expect[2].body, "hello");
  for (std::size_t k = 1; k < stream.size(); ++k) {
    FakeStream s = serve({stream.substr(0, k), stream.substr(k)});
    auto rs = parse_responses(s.sent);
    ASSERT_EQ(rs.size(), 4u) << "split at " << k;
    for (std::size_t i = 0; i < 4; ++i)
      EXPECT_EQ(rs[i].body, expect[i].body) << "split " << k;
  }
  std::deque<std::string> bytes;
  for (char c : stream)
    bytes.emplace_back(1, c);
  auto rs = parse_responses(serve(bytes).sent);
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(rs[1].body, "abcde");
  EXPECT_EQ(FakeBuf::live, 0);
}

TEST(Connection, KeepAliveAcross10000Requests) {
  std::deque<std::string> script;
  for (int i = 0; i < 10000; ++i)
    script.push_back(get("/n/" + std::to_string(i)));
  FakeStream s = serve(std::move(script));
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 10000u);
  EXPECT_EQ(rs[9999].body, "9999");
  EXPECT_EQ(s.send_sizes.size(), 10000u);
}

TEST(Connection, FixedResponsesAreTheBytesOfTheirHandlerForm) {
  // Within one batch the Date is the same: a fixed response must be byte for byte what the
  // function handler's response gives, in every form of request (the fast path and the others).
  const std::vector<std::string> forms = {
      "GET %s HTTP/1.1\r\nHost: t\r\n\r\n",
      "HEAD %s HTTP/1.1\r\nHost: t\r\n\r\n",
      "GET %s HTTP/1.0\r\n\r\n",
      "GET %s HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
      "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
  };
  for (const char* name : {"tagged", "large", "empty"}) {
    for (const std::string& form : forms) {
      auto req = [&](const std::string& path) {
        std::string r = form;
        r.replace(r.find("%s"), 2, path);
        return r;
      };
      // Each request on a connection of its own (some forms close it), both in one batch: the
      // fixed one first when it keeps the connection open.
      FakeStream fixed = serve({req(std::string("/fixed/") + name)});
      FakeStream fn = serve({req(std::string("/fn/") + name)});
      auto strip_date = [](std::string s) {
        std::size_t at = s.find("Date: ");
        if (at != std::string::npos) s.erase(at, s.find("\r\n", at) + 2 - at);
        return s;
      };
      EXPECT_EQ(strip_date(fixed.sent), strip_date(fn.sent)) << name << " / " << form;
      EXPECT_NE(fixed.sent.find("Date: "), std::string::npos);
      FakeStream both =
          serve({req(std::string("/fixed/") + name) + req(std::string("/fn/") + name)});
      if (form.find("close") == std::string::npos &&
          form.find("1.0\r\n\r\n") == std::string::npos) {
        ASSERT_EQ(both.sent.size() % 2, 0u) << name << " / " << form;
        EXPECT_EQ(both.sent.substr(0, both.sent.size() / 2), both.sent.substr(both.sent.size() / 2))
            << name << " / " << form;
      }
    }
  }
  FakeStream bye = serve({get("/fixed/bye") + get("/")});
  auto rs = parse_responses(bye.sent);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].header("Connection"), "close");
  EXPECT_TRUE(bye.shut);
}

TEST(Connection, FixedResponseCopiesABorrowedBody) {
  // A fixed response outlives whatever its body pointed to when the route was added.
  http::Router r;
  EXPECT_NO_THROW(r.get("/a", http::Response::text("x")));
  http::Response borrowed;
  {
    std::string tmp = "borrowed";
    borrowed.body_view(tmp);
    r.get("/b", std::move(borrowed));  // a borrowed body is copied
  }
  FakeStream s = rt().block_on([](http::Router& router) -> kio::Task<FakeStream> {
    FakeStream st;
    st.script = {get("/b")};
    http::detail::ConnRegistry reg;
    http::ServerOptions o = fast_options();
    http::detail::Connection<FakeStream> conn(st, router, o, reg);
    co_await conn.run();
    co_return st;
  }(r));
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].body, "borrowed");
}

TEST(Connection, IdleConnectionsHoldNoRequestState) {
  // A connection holds its parser and buffers only while bytes are pending; once idle it gives
  // them back to the core's pool, shrunk: a burst of 600 pipelined requests leaves nothing
  // behind but a few bounded buffers.
  std::string burst;
  for (int i = 0; i < 600; ++i)
    burst += get("/n/" + std::to_string(i));
  struct Seen {
    std::vector<bool> busy;
    std::size_t kept = 0, cached = 0;
  };
  auto run = [](std::deque<std::string> script) {
    return rt().block_on([](std::deque<std::string> sc) -> kio::Task<std::pair<FakeStream, Seen>> {
      FakeStream st;
      st.script = std::move(sc);
      Seen seen;
      http::Router router = make_router();
      http::detail::ConnRegistry reg;
      http::ServerOptions o = fast_options();
      http::detail::Connection<FakeStream> conn(st, router, o, reg);
      st.on_recv = [&](std::size_t) {
        seen.busy.push_back(conn.busy());
        seen.kept = std::max(seen.kept, http::detail::work_pool().kept_buffer_bytes());
        seen.cached = http::detail::work_pool().cached();
      };
      co_await conn.run();
      EXPECT_FALSE(conn.busy());
      co_return std::pair{std::move(st), std::move(seen)};
    }(std::move(script)));
  };
  auto [s, seen] = run({burst, burst, get("/")});
  EXPECT_EQ(parse_responses(s.sent).size(), 1201u);
  ASSERT_EQ(seen.busy.size(), 4u);
  for (bool b : seen.busy)
    EXPECT_FALSE(b);  // every receive waited with nothing pending
  EXPECT_GE(seen.cached, 1u);
  const std::size_t bound =
      http::detail::out_keep_capacity + http::detail::carry_keep_capacity +
      http::detail::vector_keep_entries *
          (sizeof(http::detail::ConnWork::Segment) + sizeof(http::Response) + sizeof(iovec));
  EXPECT_LE(seen.kept, seen.cached * bound);
  // Half a request pending: the state stays while the rest is awaited.
  auto [s2, seen2] = run({"GET / HTTP/1.1\r\n", "Host: t\r\n\r\n"});
  EXPECT_EQ(parse_responses(s2.sent).size(), 1u);
  ASSERT_EQ(seen2.busy.size(), 3u);
  EXPECT_FALSE(seen2.busy[0]);
  EXPECT_TRUE(seen2.busy[1]);
  EXPECT_FALSE(seen2.busy[2]);
}

TEST(Connection, AnIdleCoreFreesItsCachedRequestStates) {
  // The pool keeps as many states as connections were busy at once (2,000 slowloris sockets:
  // 2,000 states); once the core has run nothing for idle_trim they go (an idle-trim hook).
  using namespace std::chrono_literals;
  for (auto trim : {0ms, 50ms}) {
    kio::Runtime idle_rt(kio::RuntimeOptions{.workers = 1, .idle_trim = trim});
    auto [before, after] = idle_rt.block_on([]() -> kio::Task<std::pair<std::size_t, std::size_t>> {
      http::detail::WorkPool& pool = http::detail::work_pool();
      std::vector<http::detail::ConnWork*> busy;
      for (int i = 0; i < 100; ++i)
        busy.push_back(pool.take(http::Limits{}));
      for (http::detail::ConnWork* w : busy)
        pool.give_back(w);
      const std::size_t cached = pool.cached();
      co_await kio::sleep_for(300ms);  // nothing runs on the core meanwhile
      co_return std::pair{cached, pool.cached()};
    }());
    EXPECT_GE(before, 100u);
    if (trim.count() == 0)
      EXPECT_EQ(after, before) << "trimming is off";
    else
      EXPECT_EQ(after, 0u) << "cached states after the core idled";
  }
}

TEST(Connection, LargeBodiesAreSentInPlace) {
  std::string body(50000, 'b');
  FakeStream s =
      serve({get("/big") + "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 50000\r\n\r\n",
             body.substr(0, 20000), body.substr(20000) + get("/")});
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].body, std::string(100000, 'x'));
  EXPECT_EQ(rs[1].body, body);
  EXPECT_EQ(rs[2].body, "Hello, World!");
}

TEST(Connection, ExpectContinueBeforeTheBody) {
  FakeStream s =
      serve({"PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
             "Content-Length: 4\r\n\r\n",
             "data"});
  ASSERT_GE(s.sent_before_recv.size(), 2u);
  std::string_view interim = "HTTP/1.1 100 Continue\r\n\r\n";
  EXPECT_EQ(s.sent_before_recv[1], interim.size());
  EXPECT_EQ(s.sent.substr(0, interim.size()), interim);
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].status, 100u);
  EXPECT_EQ(rs[1].body, "data");
}

TEST(Connection, ExpectContinueNotSentWhenBodyIsThere) {
  FakeStream s =
      serve({"PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
             "Content-Length: 4\r\n\r\ndata"});
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].body, "data");
}

TEST(Connection, Http10ClosesUnlessKeepAlive) {
  FakeStream a = serve({"GET / HTTP/1.0\r\n\r\n", get("/")});
  auto ra = parse_responses(a.sent);
  ASSERT_EQ(ra.size(), 1u);
  EXPECT_EQ(ra[0].header("Connection"), "close");
  EXPECT_TRUE(a.shut);
  FakeStream b = serve({"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", get("/")});
  auto rb = parse_responses(b.sent);
  ASSERT_EQ(rb.size(), 2u);
  EXPECT_EQ(rb[0].header("Connection"), "keep-alive");
}

TEST(Connection, ConnectionCloseStopsThePipeline) {
  FakeStream s = serve({get("/n/1", "Connection: close\r\n") + get("/n/2")});
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].header("Connection"), "close");
  EXPECT_TRUE(s.shut);
  EXPECT_TRUE(s.closed);
  FakeStream h = serve({get("/bye") + get("/n/2")});
  ASSERT_EQ(parse_responses(h.sent).size(), 1u);
}

TEST(Connection, MalformedGets400AfterEarlierResponsesThenCloses) {
  FakeStream s = serve({get("/n/1") + "GET / HTTP/1.1\r\nHost : x\r\n\r\n" + get("/n/2")});
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].body, "1");
  EXPECT_EQ(rs[1].status, 400u);
  EXPECT_EQ(rs[1].header("Connection"), "close");
  EXPECT_EQ(s.send_sizes.size(), 1u);
  EXPECT_TRUE(s.shut);
  EXPECT_TRUE(s.closed);
}

TEST(Connection, ErrorStatuses) {
  struct {
    std::string raw;
    unsigned status;
  } cases[] = {
      {"GET / HTTP/2.0\r\n\r\n", 505},
      {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n", 414},
      {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"CONNECT t:443 HTTP/1.1\r\nHost: t:443\r\n\r\n", 501},
      {"CONNECT /echo HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n", 413},
      {"GET / HTTP/1.1\r\nHost: t\r\n" + std::string(9000, 'X') + ": 1\r\n\r\n", 431},
  };
  for (auto& c : cases) {
    auto rs = parse_responses(serve({c.raw}).sent);
    ASSERT_EQ(rs.size(), 1u) << c.raw.substr(0, 40);
    EXPECT_EQ(rs[0].status, c.status);
  }
}

TEST(Connection, RouterAnswers404And405AndHead) {
  FakeStream s = serve({get("/nowhere") + get("/only-post") + "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" +
                        "BREW /echo HTTP/1.1\r\nHost: t\r\n\r\n"});
  auto rs = parse_responses(s.sent, 2);
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(rs[0].status, 404u);
  EXPECT_EQ(rs[1].status, 405u);
  EXPECT_EQ(rs[1].header("Allow"), "POST");
  EXPECT_EQ(rs[2].status, 200u);
  EXPECT_EQ(rs[2].header("Content-Length"), "13");
  EXPECT_EQ(rs[2].body, "");
  EXPECT_EQ(rs[3].status, 200u);  // unknown method reached the any-method route
}

// "OPTIONS *" is about the server: answered without a route, 200 with Allow and no content, and
// the connection stays open (RFC 9110 §9.3.7).
TEST(Connection, OptionsAsteriskIsAnsweredByTheServer) {
  FakeStream s = serve({"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n" + get("/")});
  auto rs = parse_responses(s.sent, 2);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].status, 200u);
  EXPECT_EQ(rs[0].header("Allow"), "GET, POST, HEAD, OPTIONS");
  EXPECT_EQ(rs[0].header("Content-Length"), "0");
  EXPECT_EQ(rs[0].body, "");
  EXPECT_EQ(rs[0].header("Connection"), "");
  EXPECT_EQ(rs[1].body, "Hello, World!");
}

TEST(Connection, HandlerExceptionsGive500AndClose) {
  for (const char* path : {"/throw", "/athrow"}) {
    FakeStream s = serve({get("/n/1") + get(path) + get("/n/2")});
    auto rs = parse_responses(s.sent);
    ASSERT_EQ(rs.size(), 2u) << path;
    EXPECT_EQ(rs[1].status, 500u);
    EXPECT_TRUE(s.shut);
  }
}

TEST(Connection, HeaderTimeoutAnswers408) {
  auto t0 = std::chrono::steady_clock::now();
  FakeStream s = serve({"GET / HTTP/1.1\r\nHo", stall});
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 408u);
  EXPECT_TRUE(s.closed);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
}

TEST(Connection, HeaderTimeoutIsADeadlineNotPerRead) {
  // Bytes trickling in keep the connection busy, but the head's deadline still expires.
  std::deque<std::string> script;
  std::string head = "GET / HTTP/1.1\r\nHost: t\r\nX: ";
  script.push_back(head);
  for (int i = 0; i < 200; ++i) {
    script.push_back(stall);  // each stall is cut by the deadline: only the first can be waited
    script.push_back("a");
  }
  FakeStream s = serve(std::move(script));
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 408u);
}

TEST(Connection, HeaderClockStartsWithTheRequestNotTheIdleWait) {
  // Idle for longer than the header timeout, then a head in two pieces: no 408.
  http::ServerOptions o = fast_options();
  o.idle_timeout = 1h;
  FakeStream s =
      serve({get("/"), delay(150), "GET /n/7 HTTP/1.1\r\nHo", delay(30), "st: t\r\n\r\n"}, o);
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[1].status, 200u);
  EXPECT_EQ(rs[1].body, "7");
}

TEST(Connection, BodyTimeoutAnswers408) {
  FakeStream s = serve({"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc", stall});
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 408u);
}

TEST(Connection, IdleTimeoutClosesSilently) {
  FakeStream s = serve({get("/"), stall, get("/")});
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_TRUE(s.closed);
  EXPECT_FALSE(s.shut);
}

// The next request arrives in the instant the idle deadline ends the wait (the core saw both in
// one loop pass): it is answered and the connection goes on, instead of closing on a request
// the peer sent on an open connection.
TEST(Connection, IdleDeadlineWithTheNextRequestAlreadyHereAnswersIt) {
  FakeStream s = serve({get("/"), stall_then_arrive, get("/n/2"), stall, get("/n/3")});
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[1].body, "2");
  EXPECT_EQ(rs[1].header("Connection"), "");
  EXPECT_TRUE(s.closed);  // then idle again until the deadline: closed silently
  EXPECT_FALSE(s.shut);
}

TEST(Connection, GracefulStopClosesIdleAndFinishesBusy) {
  struct Outcome {
    FakeStream idle, busy;
    std::size_t registered = 0;
    int done = 0;
  };
  Outcome o = rt().block_on([]() -> kio::Task<Outcome> {
    Outcome out;
    http::Router router = make_router();
    http::ServerOptions opts = fast_options();
    opts.idle_timeout = 1h;
    http::detail::ConnRegistry reg;
    out.idle.script = {get("/"), stall};
    out.busy.script = {get("/sleep") + get("/n/9"), stall};
    http::detail::Connection<FakeStream> c1(out.idle, router, opts, reg);
    http::detail::Connection<FakeStream> c2(out.busy, router, opts, reg);
    auto run = [](http::detail::Connection<FakeStream>& c, int& done) -> kio::Task<void> {
      co_await c.run();
      ++done;
    };
    kio::spawn(run(c1, out.done));
    kio::spawn(run(c2, out.done));
    co_await kio::yield();  // c1 answered and is idle; c2 sleeps inside its handler
    co_await kio::yield();
    out.registered = reg.size();
    reg.stop();
    co_await reg.drained();
    co_return out;
  }());
  EXPECT_EQ(o.registered, 2u);
  EXPECT_EQ(o.done, 2);
  auto r1 = parse_responses(o.idle.sent);
  ASSERT_EQ(r1.size(), 1u);
  EXPECT_EQ(r1[0].header("Connection"), "");  // answered before the stop
  EXPECT_TRUE(o.idle.closed);
  auto r2 = parse_responses(o.busy.sent);
  // The request at hand finished; the one pipelined behind it was received in full before the
  // stop, so it is answered too, and carries the close.
  ASSERT_EQ(r2.size(), 2u);
  EXPECT_EQ(r2[0].body, "slept");
  EXPECT_EQ(r2[0].header("Connection"), "");
  EXPECT_EQ(r2[1].body, "9");
  EXPECT_EQ(r2[1].header("Connection"), "close");
  EXPECT_TRUE(o.busy.shut);
}

TEST(Connection, StopRacingWithArrivingDataStillAnswersIt) {
  // The stop cancels the idle wait in the same instant its bytes are delivered: the request is
  // answered (the send must not inherit the cancellation) and the connection then closes.
  FakeStream s = rt().block_on([]() -> kio::Task<FakeStream> {
    FakeStream st;
    st.script = {get("/"), get("/n/2") + get("/n/3"), get("/n/4")};
    http::Router router = make_router();
    http::ServerOptions o = fast_options();
    http::detail::ConnRegistry reg;
    st.on_recv = [&reg](std::size_t i) {
      if (i == 1) reg.stop();
    };
    http::detail::Connection<FakeStream> conn(st, router, o, reg);
    co_await conn.run();
    co_return st;
  }());
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 3u);  // both requests of the batch that arrived; /n/4 came after
  EXPECT_EQ(rs[1].body, "2");
  EXPECT_EQ(rs[1].header("Connection"), "");
  EXPECT_EQ(rs[2].body, "3");
  EXPECT_EQ(rs[2].header("Connection"), "close");
  EXPECT_TRUE(s.closed);
}

// A connection accepted just before a stop starts serving after it, with its first request
// already received: the request is answered (with close), not dropped unread (which would reset
// the connection on a client that sent a request to an open server).
TEST(Connection, StopBeforeTheFirstWaitAnswersARequestAlreadyReceived) {
  FakeStream s = rt().block_on([]() -> kio::Task<FakeStream> {
    FakeStream st;
    st.script = {get("/n/1"), get("/n/2")};
    st.pending = true;  // the first request is in the socket
    http::Router router = make_router();
    http::ServerOptions o = fast_options();
    http::detail::ConnRegistry reg;
    reg.stop();
    http::detail::Connection<FakeStream> conn(st, router, o, reg);
    co_await conn.run();
    co_return st;
  }());
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].body, "1");
  EXPECT_EQ(rs[0].header("Connection"), "close");
  EXPECT_TRUE(s.closed);
}

// Under a stop every request received in full is answered, whatever its framing (the look-ahead
// for a complete request must not disturb a chunked body, which the parser decodes in place);
// an unfinished one after them is not waited for: the last complete one carries the close.
TEST(Connection, StopAnswersEveryRequestReceivedInFull) {
  FakeStream s = rt().block_on([]() -> kio::Task<FakeStream> {
    FakeStream st;
    st.script = {get("/"),
                 get("/n/2") +
                     "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n" +
                     get("/slow/4") + get("/n/5") + "GET /n/6 HTTP/1.1\r\nHo",
                 "st: t\r\n\r\n"};
    http::Router router = make_router();
    http::ServerOptions o = fast_options();
    http::detail::ConnRegistry reg;
    st.on_recv = [&reg](std::size_t i) {
      if (i == 1) reg.stop();
    };
    http::detail::Connection<FakeStream> conn(st, router, o, reg);
    co_await conn.run();
    co_return st;
  }());
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 5u);
  EXPECT_EQ(rs[1].body, "2");
  EXPECT_EQ(rs[2].body, "abcde");
  EXPECT_EQ(rs[3].body, "slow 4");
  EXPECT_EQ(rs[4].body, "5");
  for (std::size_t i = 0; i + 1 < rs.size(); ++i)
    EXPECT_EQ(rs[i].header("Connection"), "") << i;
  EXPECT_EQ(rs[4].header("Connection"), "close");
  EXPECT_TRUE(s.shut);
  EXPECT_TRUE(s.closed);
}

// A stop ends the idle wait in the instant the next request arrives: a graceful stop answers
// requests it has received (with "Connection: close"), so this one is answered too.
TEST(Connection, StopEndingTheIdleWaitAsARequestArrivesAnswersIt) {
  FakeStream s = rt().block_on([]() -> kio::Task<FakeStream> {
    FakeStream st;
    st.script = {get("/"), stall_then_arrive, get("/n/2"), get("/n/3")};
    http::Router router = make_router();
    http::ServerOptions o = fast_options();
    o.idle_timeout = 1h;
    http::detail::ConnRegistry reg;
    http::detail::Connection<FakeStream> conn(st, router, o, reg);
    kio::spawn([](http::detail::ConnRegistry& r) -> kio::Task<void> {
      co_await kio::sleep_for(20ms);  // the connection waits idle in its stall
      r.stop();
    }(reg));
    co_await conn.run();
    co_return st;
  }());
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[1].body, "2");
  EXPECT_EQ(rs[1].header("Connection"), "close");
  EXPECT_TRUE(s.shut);  // the closing response is lingered over, then the stream closed
  EXPECT_TRUE(s.closed);
}

// A stop cancels the idle wait in the instant the first part of a request arrives: the request
// is in progress, so the stop lets it finish (answered with close) instead of dropping it.
TEST(Connection, StopAsAPartialRequestArrivesLetsItFinish) {
  FakeStream s = rt().block_on([]() -> kio::Task<FakeStream> {
    FakeStream st;
    st.script = {get("/"), "GET /n/2 HTTP/1.1\r\nHo", "st: t\r\n\r\n", get("/n/4")};
    http::Router router = make_router();
    http::ServerOptions o = fast_options();
    http::detail::ConnRegistry reg;
    st.on_recv = [&reg](std::size_t i) {
      if (i == 1) reg.stop();
    };
    http::detail::Connection<FakeStream> conn(st, router, o, reg);
    co_await conn.run();
    co_return st;
  }());
  auto rs = parse_responses(s.sent);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[1].body, "2");
  EXPECT_EQ(rs[1].header("Connection"), "close");
  EXPECT_TRUE(s.closed);
}

}  // namespace
