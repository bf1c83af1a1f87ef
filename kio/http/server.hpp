// kio::http::Server — an HTTP/1.1 server running on every core, one listener per core.
//
//   kio::http::Router router;
//   router.get("/", [](kio::http::Request&) { return kio::http::Response::text("Hello, World!");
//   }); kio::http::Server server(std::move(router), {.port = 8080}); kio::Runtime
//   rt({.stop_on_signals = true}); auto r = rt.block_on(server.run());     // serves until
//   server.stop() or SIGINT/SIGTERM if (!r) std::fprintf(stderr, "%s\n",
//   r.error().message().c_str());
//
// What run() does: binds the address on the calling core first (so port 0 resolves to one port),
// then on every other core (SO_REUSEPORT: the kernel spreads connections over the cores'
// listeners), and serves until stopped. Each accepted connection lives on its core for good:
// requests are parsed in place, handlers run there, and all responses produced from one receive
// batch leave in one vectored send (see detail/connection.hpp for the connection's rules,
// timeouts and error handling).
// Runs on: run() is awaited on a worker (e.g. Runtime::block_on); it resumes there once every
// core has finished. stop() may be called from any thread, any number of times.
// Cancellation / stopping: stop() is graceful — listeners close, idle keep-alive connections
// close, requests in progress finish and are answered with "Connection: close"; run() then
// returns success. A runtime stop (Runtime::stop, or a signal with stop_on_signals) cancels
// everything at once (also ends run(), with success).
// Lifetime: the Server must outlive run(). Handlers and their captures live in the Router inside
// the Server and are used from every core at the same time (see handler.hpp).
// Errors: run() returns the bind error (address_in_use, permission_denied, an AddressError for a
// malformed ServerOptions::address) without serving; listener failures after start are logged
// and end that core's accepting. Bad requests never surface as errors: they are answered (4xx/5xx).
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

  /// Serves on every core of the calling worker's runtime until stopped; see above. Call once.
  Task<Result<void>> run();

  /// Graceful stop (see above). Thread-safe; returns at once. Before run() it makes run() return
  /// right after binding.
  void stop() noexcept;

  /// The port the listeners are bound to (the kernel's choice for port 0); 0 until bound.
  std::uint16_t port() const noexcept;

  const Router& router() const noexcept;
  const ServerOptions& options() const noexcept;

 private:
  std::shared_ptr<detail::ServerShared> shared_;
};

}  // namespace kio::http
