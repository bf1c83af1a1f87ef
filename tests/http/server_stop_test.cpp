// Description: every way of stopping kio::http::Server is graceful and run() returns only after
// every core's handlers finished — SIGINT under load with per-core state torn down right after
// run() (50 runs), a cancelled run(), a runtime stop with a request in flight; a slow-body client
// cannot hold a stop past drain_timeout; request_timeout bounds a trickled body; bind() before
// run() knows the port.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "kio/kio.hpp"
#include "response_reader.hpp"
#include "test_client.hpp"

namespace http = kio::http;
using http_test::Client;
using http_test::get;
using http_test::parse_responses;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

http::ServerOptions loopback(http::ServerOptions o = {}) {
  o.address = kio::net::Address::loopback_v4(0);
  return o;
}

/// Per-core state that handlers use; destroyed by Sharded::stop() right after run() returns.
struct CoreCounter {
  long hits = 0;
};

struct LoadCheck {
  std::atomic<int> active{0};  // handlers running now
  std::atomic<int> late{0};    // handlers that started after run() returned
  std::atomic<bool> returned{false};
  std::atomic<long> answered{0};
};

// The crash a newcomer hit: with stop_on_signals, Ctrl-C under load, then `co_await
// shards.stop()` right after run() returned destroyed a shard that a handler on the other core
// was still using. Here run() must return only when no handler runs any more, on any core.
TEST(ServerStop, SigintUnderLoadThenPerCoreStateTornDown) {
  for (int round = 0; round < 50; ++round) {
    LoadCheck check;
    kio::Sharded<CoreCounter> shards;
    http::Router router;
    router.get("/work", [&](http::Request&) -> kio::Task<http::Response> {
      if (check.returned.load()) check.late.fetch_add(1);
      check.active.fetch_add(1);
      co_await kio::with_cancel(kio::CancelToken{}, kio::sleep_for(1ms));
      ++shards.local().hits;  // must still exist
      check.active.fetch_sub(1);
      co_return http::Response::text("ok");
    });
    http::Server server(std::move(router), loopback());
    kio::Runtime rt(kio::RuntimeOptions{
        .workers = 2, .oversubscribe = true, .shutdown_grace = 5s, .stop_on_signals = true});
    std::atomic<bool> bound{false};
    std::atomic<int> still_active_at_return{-1};
    std::thread serving([&] {
      rt.block_on([](http::Server& server, kio::Sharded<CoreCounter>& shards, LoadCheck& check,
                     std::atomic<bool>& bound, std::atomic<int>& still_active) -> kio::Task<void> {
        co_await shards.start();
        if (co_await server.bind()) bound.store(true);
        (void)co_await server.run();
        check.returned.store(true);
        still_active.store(check.active.load());
        co_await shards.stop();
      }(server, shards, check, bound, still_active_at_return));
    });
    while (!bound.load())
      std::this_thread::sleep_for(1ms);
    std::vector<std::thread> clients;
    for (int c = 0; c < 6; ++c)
      clients.emplace_back([&, port = server.port()] {
        Client cl(port);
        const std::string two = get("/work") + get("/work");
        while (cl.connected() && cl.send(two)) {
          auto rs = parse_responses(cl.read_responses(2), -1, true);
          check.answered.fetch_add(static_cast<long>(rs.size()));
          if (rs.size() < 2) break;
        }
      });
    // Under load: requests are being answered (however busy the machine is).
    for (int i = 0; i < 5000 && check.answered.load() < 20; ++i)
      std::this_thread::sleep_for(1ms);
    testing::internal::CaptureStderr();
    ::kill(::getpid(), SIGINT);
    serving.join();
    (void)testing::internal::GetCapturedStderr();
    for (auto& t : clients)
      t.join();
    ASSERT_EQ(still_active_at_return.load(), 0) << "round " << round;
    ASSERT_EQ(check.late.load(), 0) << "round " << round;
    ASSERT_GT(check.answered.load(), 0) << "round " << round;
  }
}

// Cancelling run() (here by a timeout) stops the server: once the co_await returns, the port no
// longer answers and connections are closed (it used to keep serving, out of stop()'s reach).
TEST(ServerStop, CancellingRunStopsTheServer) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true});
  http::Router router;
  router.get("/", [](http::Request&) { return http::Response::text("hi"); });
  http::Server server(std::move(router), loopback());
  Client* kept = nullptr;
  auto r = rt.block_on([](http::Server& s, Client*& kept) -> kio::Task<kio::Result<void>> {
    if (auto b = co_await s.bind(); !b) co_return b;
    kept = new Client(s.port());  // an idle keep-alive connection, open when run() is cancelled
    co_return co_await kio::timeout(300ms, s.run());
  }(server, kept));
  EXPECT_TRUE(r) << r.error().message();  // run() finished its graceful stop: its value is kept
  Client late(server.port());
  EXPECT_FALSE(late.connected()) << "the server still accepts after run() was cancelled";
  int err = -1;
  EXPECT_EQ(kept->read_to_eof(&err), "");
  EXPECT_EQ(err, 0) << "the idle connection was not closed";
  delete kept;
  server.stop();  // harmless now
}

/// A 2-worker runtime serving in a background thread; `stop_server()` or `stop_runtime()` ends
/// it and returns how long run() took to return.
class Serving {
 public:
  explicit Serving(http::ServerOptions o) : server_(router(), loopback(o)) {
    thread_ = std::thread([this] {
      result_ = rt_.block_on(
          [](http::Server& s, std::atomic<bool>& bound) -> kio::Task<kio::Result<void>> {
            if (auto b = co_await s.bind(); !b) co_return b;
            bound.store(true);
            co_return co_await s.run();
          }(server_, bound_));
    });
    while (!bound_.load())
      std::this_thread::sleep_for(1ms);
  }
  ~Serving() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::uint16_t port() const { return server_.port(); }
  Clock::duration stop_server() {
    const auto t0 = Clock::now();
    server_.stop();
    thread_.join();
    return Clock::now() - t0;
  }
  Clock::duration stop_runtime() {
    const auto t0 = Clock::now();
    rt_.request_stop();
    thread_.join();
    return Clock::now() - t0;
  }
  kio::Result<void> result() const { return result_; }

 private:
  static http::Router router() {
    http::Router r;
    r.any("/echo", [](http::Request& q) { return http::Response().body_view(q.body); });
    r.get("/slow", [](http::Request&) -> kio::Task<http::Response> {
      co_await kio::sleep_for(300ms);
      co_return http::Response::text("slow done");
    });
    return r;
  }
  kio::Runtime rt_{kio::RuntimeOptions{.workers = 2, .oversubscribe = true, .shutdown_grace = 10s}};
  http::Server server_;
  std::atomic<bool> bound_{false};
  std::thread thread_;
  kio::Result<void> result_ = std::errc::operation_in_progress;
};

// A runtime stop is graceful too: a request in flight is answered before the connection closes.
TEST(ServerStop, RuntimeStopAnswersTheRequestInFlight) {
  Serving srv(http::ServerOptions{});
  Client busy(srv.port());
  ASSERT_TRUE(busy.send(get("/slow")));
  std::this_thread::sleep_for(50ms);  // the handler runs (300 ms)
  srv.stop_runtime();
  EXPECT_TRUE(srv.result());
  auto rs = parse_responses(busy.read_to_eof());
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].body, "slow done");
  EXPECT_EQ(rs[0].header("Connection"), "close");
}

// A client trickling a body (each byte well within body_timeout) cannot keep a stop waiting:
// after drain_timeout the connection is closed and run() returns.
TEST(ServerStop, SlowBodyClientDoesNotHoldTheStopPastDrainTimeout) {
  http::ServerOptions o;
  o.drain_timeout = 300ms;
  Serving srv(o);
  Client slow(srv.port());
  ASSERT_TRUE(slow.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\nab"));
  std::atomic<bool> stop_trickle{false};
  std::thread trickle([&] {
    while (!stop_trickle.load() && slow.send("x"))
      std::this_thread::sleep_for(50ms);
  });
  std::this_thread::sleep_for(100ms);
  const Clock::duration took = srv.stop_server();
  stop_trickle.store(true);
  trickle.join();
  EXPECT_TRUE(srv.result());
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 5s);
  int err = -1;
  slow.read_to_eof(&err);  // closed (EOF or reset), not left open
  SUCCEED();
}

// request_timeout bounds the whole request, however steadily its body arrives: 408.
TEST(ServerStop, RequestTimeoutCutsATrickledBody) {
  http::ServerOptions o;
  o.request_timeout = 400ms;
  o.linger_timeout = 100ms;
  Serving srv(o);
  Client slow(srv.port());
  ASSERT_TRUE(slow.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\nab"));
  std::atomic<bool> stop_trickle{false};
  std::thread trickle([&] {
    while (!stop_trickle.load() && slow.send("x"))
      std::this_thread::sleep_for(50ms);
  });
  const auto t0 = Clock::now();
  auto rs = parse_responses(slow.read_responses(1), -1, true);
  const auto took = Clock::now() - t0;
  stop_trickle.store(true);
  trickle.join();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 408u);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
}

// bind() first: the port is known (and printable) before serving starts.
TEST(ServerStop, BindThenServeKnowsThePortFirst) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true});
  http::Router router;
  router.get("/", [](http::Request&) { return http::Response::text("hi"); });
  http::Server server(std::move(router), loopback());
  EXPECT_EQ(server.port(), 0);
  std::uint16_t before_run = 0;
  std::thread client;
  std::string answer;
  auto r = rt.block_on([](http::Server& s, std::uint16_t& before_run, std::thread& client,
                          std::string& answer) -> kio::Task<kio::Result<void>> {
    if (auto b = co_await s.bind(); !b) co_return b;
    before_run = s.port();
    client = std::thread([&s, &answer, port = before_run] {
      Client c(port);
      if (c.send(get("/"))) answer = c.read_responses(1);
      s.stop();
    });
    co_return co_await s.run();
  }(server, before_run, client, answer));
  client.join();
  EXPECT_TRUE(r);
  EXPECT_NE(before_run, 0);
  EXPECT_EQ(before_run, server.port());
  auto rs = parse_responses(answer);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].body, "hi");
}

}  // namespace
