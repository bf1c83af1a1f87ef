// Description: a program outside kio, the way a user builds it: against the installed kio
// (pkg-config) and against kio as a Meson subproject (tests/consumer/check_consumer.py).
// Runs a channel, an HTTP handler coroutine and a TCP round trip over loopback (user code as
// users write it: the warnings of kio's headers show up here); prints "consumer: ok".
#include <kio/kio.hpp>

#include <cstdio>
#include <string>
#include <string_view>

namespace {

kio::Task<kio::http::Response> hello(kio::http::Request& req) {
  co_await kio::yield();
  co_return kio::http::Response(kio::http::Status::ok)
      .header("X-Path", req.path)
      .text_body("hello " + std::string(req.path));
}

kio::Task<kio::http::Response> not_found(kio::http::Request&) {
  co_return kio::http::Response(kio::http::Status::not_found);  // a temporary without headers
}

kio::Task<std::string> serve_once(kio::net::TcpListener& listener) {
  auto conn = co_await listener.accept();
  if (!conn) co_return "accept: " + conn.error().message();
  auto buf = co_await conn->recv();
  if (!buf || buf->empty()) co_return "server recv failed";
  if (!co_await conn->send_all(buf->view())) co_return "server send failed";
  co_return "";
}

kio::Task<std::string> ping(kio::net::Address addr) {
  auto conn = co_await kio::net::TcpStream::connect(addr);
  if (!conn) co_return "connect: " + conn.error().message();
  if (!co_await conn->send_all(std::string_view("ping"))) co_return "client send failed";
  std::string got;
  while (got.size() < 4) {
    auto buf = co_await conn->recv();
    if (!buf || buf->empty()) co_return "client recv failed";
    got += buf->view();
  }
  co_return got == "ping" ? "" : "echoed '" + got + "'";
}

kio::Task<std::string> run() {
  kio::Channel<int> numbers(4);
  for (int i = 1; i <= 3; ++i)
    if (!co_await numbers.send(i)) co_return "channel send failed";
  numbers.close();
  int sum = 0;
  while (auto n = co_await numbers.recv())
    sum += *n;
  if (sum != 6) co_return "channel sum " + std::to_string(sum);

  kio::http::Request req;
  req.path = "/consumer";
  kio::http::Handler handler(hello);
  kio::http::Response res = co_await handler.call_async(req);
  if (res.body() != "hello /consumer") co_return "handler body '" + std::string(res.body()) + "'";
  if ((co_await not_found(req)).status() != kio::http::Status::not_found) co_return "not found";

  auto listener = kio::net::TcpListener::bind(kio::net::Address::loopback_v4(0));
  if (!listener) co_return "bind: " + listener.error().message();
  auto addr = listener->local_address();
  if (!addr) co_return "local_address: " + addr.error().message();
  kio::log_debug("consumer: {:>6} on {}", "ping", addr->to_string());  // off unless KIO_LOG=debug
  auto [server, client] = co_await kio::when_all(serve_once(*listener), ping(*addr));
  co_return server.empty() ? client : server;
}

}  // namespace

int main() {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  const std::string error = rt.block_on(run());
  std::printf("consumer: %s\n", error.empty() ? "ok" : error.c_str());
  return error.empty() ? 0 : 1;
}
