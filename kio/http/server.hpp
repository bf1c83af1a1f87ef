// kio::http::Server — an HTTP/1.1 server running on every core, one listener per core.
//
// clang-format off
//   int main() {
//     kio::http::Router router;
//     router.get("/", [](kio::http::Request&) { return kio::http::Response::text("Hello, World!"); });
//     kio::http::Server server(std::move(router), {.address = kio::net::Address::any_v4(8080)});
//     kio::Runtime rt({.stop_on_signals = true});          // Ctrl-C: graceful stop
//     kio::Result<void> r = rt.block_on([&]() -> kio::Task<kio::Result<void>> {
//       if (auto b = co_await server.bind(); !b) co_return b;  // port() is known from here on
//       std::printf("listening on port %u\n", server.port());
//       co_return co_await server.run();                   // serves until stopped
//     }());
//     if (!r) std::fprintf(stderr, "%s\n", r.error().message().c_str());
//   }
// clang-format on
//
// What: bind() opens the listeners — on the calling core first (so port 0 resolves to one port),
// then on every other core (the kernel spreads connections over the cores' listeners) — and
// returns the bind error at once. run() binds if bind() was not called, then serves until
// stopped. Each accepted connection lives on its core for good: requests are parsed in place,
// handlers run there, and all responses produced from one receive batch leave in one vectored
// send (see detail/connection.hpp for the connection's rules, timeouts and error handling).
// Runs on: bind() and run() are awaited on a worker (e.g. Runtime::block_on), run() on the same
// runtime as bind(); run() resumes there once every core has finished. stop() may be called from
// any thread, any number of times.
// Stopping: every way of stopping is graceful and run() returns only after every core's
// connections and handlers are done, so nothing of the server runs after run() returns (per-core
// state the handlers use may be torn down right after it). The ways: stop(); cancelling run()'s
// ambient token (kio::timeout, when_any); a runtime stop (Runtime::stop, or a signal with
// stop_on_signals). Listeners close, idle keep-alive connections close, requests in progress
// finish and are answered with "Connection: close". Connections still busy after
// ServerOptions::drain_timeout (or, in a runtime stop, shortly before the runtime's grace period
// ends) are closed. run() then returns success.
// Lifetime: the Server must outlive run(). Handlers and their captures live in the Router inside
// the Server and are used from every core at the same time (see handler.hpp).
// Errors: bind()/run() return the bind error (address_in_use, permission_denied, ...) without
// serving; listener failures after start are logged and end that core's accepting. Bad requests
// never surface as errors: they are answered (4xx/5xx).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "kio/core/result.hpp"
#include "kio/core/task.hpp"
#include "kio/http/router.hpp"
#include "kio/http/server_options.hpp"

namespace kio::http {

namespace detail {
struct ServerShared;
}

class Server {
 public:
  explicit Server(Router router, ServerOptions options = {});
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  /// Opens the listeners on every core of the calling worker's runtime; see above. Idempotent.
  Task<Result<void>> bind();
  /// Serves on every core (binding first if needed) until stopped; see above. Call once.
  Task<Result<void>> run();

  /// Graceful stop (see above). Thread-safe; returns at once. Before run() it makes run() return
  /// right after binding.
  void stop() noexcept;

  /// The port the listeners are bound to (the kernel's choice for port 0); 0 until bind().
  std::uint16_t port() const noexcept;

  const Router& router() const noexcept;
  const ServerOptions& options() const noexcept;

 private:
  std::shared_ptr<detail::ServerShared> shared_;
};

}  // namespace kio::http
