// Description: user code instantiating kio's public templates the way programs do (every module,
// the issue-14 patterns such as `co_return http::Response(...)`), compiled by check_warnings.sh
// with -Wall -Wextra -Werror at -O2 and -O3: kio's headers must not warn in users' builds.
// It is only compiled, never run.
#include <kio/kio.hpp>

#include <fcntl.h>
#include <signal.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace http = kio::http;
namespace net = kio::net;
using namespace std::chrono_literals;

namespace {

struct Stats {
  std::size_t hits = 0;
};

kio::Task<http::Response> async_handler(http::Request& req) {
  co_await kio::sleep_for(1ms);
  co_return http::Response(http::Status::created)
      .header("Location", std::string(req.path))
      .json(R"({"ok":true})");
}

http::Router make_router(kio::Sharded<Stats>& stats) {
  http::Router r;
  r.get("/", [](http::Request&) { return http::Response::text("hi"); });
  r.get("/async", async_handler);
  r.get("/users/:id", [](const http::Request& q) -> http::Response {
    return http::Response::text(std::string(q.param("id")));
  });
  r.post("/echo", [](http::Request& q) { return http::Response().body_view(q.body); });
  r.get("/stats", [&stats](http::Request&) -> kio::Task<http::Response> {
    stats.local().hits++;
    std::size_t total =
        co_await stats.map_reduce([](Stats& s) { return s.hits; }, std::size_t{0}, std::plus<>{});
    std::vector<std::size_t> per_core = co_await stats.map([](Stats& s) { return s.hits; });
    co_return http::Response::text(std::to_string(total) + "/" + std::to_string(per_core.size()));
  });
  r.static_dir("/assets", "/srv/www");
  r.get("/slow", [](http::Request&) -> kio::Task<http::Response> {
    auto t = co_await kio::timeout(10ms, kio::sleep_for(1s));
    if (!t) co_return http::Response(http::Status::gateway_timeout);
    co_return http::Response(http::Status::no_content);
  });
  return r;
}

kio::Task<void> line_session(net::TcpStream s) {
  net::BufferedReader in(s);
  for (;;) {
    auto line = co_await kio::timeout(30s, in.read_line(4096));
    if (!line) co_return;
    auto frame = co_await in.read_exact(4);
    if (!frame) co_return;
    auto rec = co_await in.read_until("\r\n\r\n", 1 << 16);
    if (!rec) co_return;
    if (!co_await s.send_all(*line)) co_return;
  }
}

kio::Task<void> echo(net::TcpStream s) {
  for (;;) {
    auto buf = co_await s.recv();
    if (!buf || buf->empty() || !co_await s.send_all(buf->bytes())) co_return;
  }
}

kio::Task<int> sync_primitives() {
  kio::Event ev;
  kio::Semaphore sem(2);
  kio::Mutex mu;
  kio::Channel<std::string> ch(4);
  kio::CrossChannel<int> cross(8);
  ev.set();
  (void)co_await ev.wait();
  if (auto a = co_await sem.acquire()) sem.release();
  if (auto lock = co_await mu.lock()) {
  }
  (void)co_await ch.send("x");
  auto got = co_await ch.recv();
  (void)co_await cross.send(1);
  auto n = co_await cross.recv();
  auto [x, y] = co_await kio::when_all([]() -> kio::Task<int> { co_return 1; }(),
                                       []() -> kio::Task<std::string> { co_return "two"; }());
  auto first = co_await kio::when_any([]() -> kio::Task<int> { co_return 3; }(),
                                      []() -> kio::Task<int> {
                                        co_await kio::sleep_for(1s);
                                        co_return 4;
                                      }());
  co_await kio::task_scope([](kio::TaskGroup& g) -> kio::Task<void> {
    g.spawn([]() -> kio::Task<void> { co_await kio::yield(); }());
    co_return;
  });
  co_return x + static_cast<int>(y.size()) + (got ? 1 : 0) + (n ? *n : 0) +
      static_cast<int>(first.index) + first.value;
}

kio::Task<int> shutdown_on_signal(http::Server& server) {
  kio::Result<int> sig = co_await kio::timeout(1ms, kio::signal(SIGINT, SIGTERM));
  server.stop();
  co_return sig ? *sig : 0;
}

kio::Task<std::size_t> files() {
  auto f = co_await kio::fs::File::open("/etc/hostname", O_RDONLY);
  if (!f) co_return 0;
  std::array<std::byte, 256> buf{};
  auto n = co_await f->read_exact_at(buf, 0);
  co_await f->close();
  co_return n ? *n : 0;
}

kio::Task<void> periodic() {
  auto every = kio::interval(100ms, kio::MissedTick::skip);
  for (int i = 0; i < 3; ++i)
    if (!co_await every.tick()) co_return;
}

kio::Task<int> io_and_net() {
  std::array<std::byte, 64> buf{};
  auto r = co_await kio::read(0, buf);
  auto w = co_await kio::write(1, std::span<const std::byte>(buf).first(0));
  auto u = net::UdpSocket::bind(net::Address::loopback_v4(0));
  if (u) {
    auto d = co_await kio::timeout(1ms, u->recv_from(buf));
    (void)d;
  }
  auto c = co_await kio::timeout(100ms, net::TcpStream::connect(net::Address::loopback_v4(9)));
  kio::CancelSource src(co_await kio::this_cancel_token());
  auto z = co_await kio::with_cancel(src.token(), kio::sleep_for(1ms));
  auto v = co_await kio::submit_to(0, [] { return 7; });
  auto t = co_await kio::submit_to(0, []() -> kio::Task<int> { co_return 8; });
  (void)co_await kio::spawn_on(0, periodic());
  co_return (r ? 1 : 0) + (w ? 1 : 0) + (c ? 1 : 0) + (z ? 1 : 0) + v + t;
}

kio::Task<int> program() {
  kio::Sharded<Stats> stats;
  co_await stats.start();
  co_await stats.invoke_on_all([](Stats& s) { s.hits = 0; });
  http::Server server(make_router(stats), {.address = net::Address::loopback_v4(0)});
  auto bound = co_await server.bind();
  int sig = co_await shutdown_on_signal(server);
  auto served = co_await server.run();
  (void)bound;
  auto tcp = net::TcpServer::bind(net::Address::loopback_v4(0));
  if (tcp) {
    tcp->stop();
    (void)co_await tcp->serve(echo);
  }
  auto lines =
      co_await kio::timeout(1ms, net::serve(net::Address::loopback_v4(0), {}, line_session));
  int n = co_await sync_primitives() + co_await io_and_net() + static_cast<int>(co_await files());
  co_await stats.stop();
  co_return n + sig + (served ? 1 : 0) + (lines ? 1 : 0);
}

}  // namespace

int main() {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  std::printf("%d\n", rt.block_on(program()));
}
