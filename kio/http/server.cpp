// Server: per-core listeners and connection registries, orchestrated from the core running run().
//
// Shared state is reference-counted only by run() and by the per-core tasks it starts and the stop
// tasks stop() queues — never per connection: a connection refers to its core's state, which
// outlives it because the core's serve task waits for every connection before it ends.
#include "kio/http/server.hpp"

#include <coroutine>
#include <exception>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/log.hpp"
#include "kio/core/runtime.hpp"
#include "kio/core/spawn.hpp"
#include "kio/core/spawn_on.hpp"
#include "kio/core/submit_to.hpp"
#include "kio/core/with_cancel.hpp"
#include "kio/http/detail/conn_registry.hpp"
#include "kio/http/detail/connection.hpp"
#include "kio/net/address.hpp"
#include "kio/net/tcp_listener.hpp"
#include "kio/net/tcp_stream.hpp"

namespace kio::http {

namespace detail {

/// One core's part of the server; touched only on that core once run() created it.
struct CoreState {
  net::TcpListener listener;
  ConnRegistry registry;
  CancelSource* accept_cancel = nullptr;  // set while the accept loop runs
  bool stop_requested = false;
};

struct ServerShared {
  ServerShared(Router r, ServerOptions o) : router(std::move(r)), options(std::move(o)) {}
  const Router router;
  const ServerOptions options;
  std::vector<std::unique_ptr<CoreState>> cores;  // sized by run() before any core task starts
  std::atomic<Runtime*> runtime{nullptr};
  std::atomic<bool> stopping{false};
  std::atomic<std::uint16_t> port{0};
  // home core only (the core running run())
  unsigned remaining = 0;
  std::coroutine_handle<> run_waiter{};
  kio::detail::Executor* home = nullptr;
};

namespace {

Result<net::Address> listen_address(const ServerOptions& o) {
  const bool v6 = o.address.find(':') != std::string::npos;
  return net::Address::parse(v6 ? fmt::format("[{}]:{}", o.address, o.port)
                                : fmt::format("{}:{}", o.address, o.port));
}

Task<void> serve_connection(net::TcpStream stream, const Router* router, const ServerOptions* opts,
                            ConnRegistry* registry) {
  Connection<net::TcpStream> conn(stream, *router, *opts, *registry);
  co_await conn.run();
}

/// Runs on core `c`: stop accepting, close idle connections, let busy ones finish.
Task<void> stop_core(std::shared_ptr<ServerShared> sh, unsigned c) {
  CoreState& cs = *sh->cores[c];
  cs.stop_requested = true;
  if (cs.accept_cancel) cs.accept_cancel->request_cancel();
  cs.registry.stop();
  co_return;
}

/// Resumes run() once every core has reported (home core only), or when run()'s ambient token
/// is cancelled (runtime shutdown: a core's report may then never arrive). The core tasks own
/// the shared state, so run() may return before they end.
class AllCoresDone {
 public:
  explicit AllCoresDone(ServerShared& sh) noexcept : sh_(sh) {}
  bool await_ready() const noexcept { return sh_.remaining == 0; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    if (!reg_.arm(kio::detail::token_of(h), &on_cancel, this)) return false;
    sh_.run_waiter = h;
    return true;
  }
  void await_resume() noexcept { reg_.disarm(); }

 private:
  static void on_cancel(void* self) noexcept {
    ServerShared& sh = static_cast<AllCoresDone*>(self)->sh_;
    if (sh.run_waiter) sh.home->schedule(std::exchange(sh.run_waiter, {}));
  }
  ServerShared& sh_;
  CancelRegistration reg_;
};

void core_finished(ServerShared& sh) noexcept {
  if (--sh.remaining == 0 && sh.run_waiter) sh.home->schedule(std::exchange(sh.run_waiter, {}));
}

/// Core `c`'s accept loop; reports to the home core when all its connections are gone.
Task<void> serve_core(std::shared_ptr<ServerShared> sh, unsigned c, unsigned home) {
  CoreState& cs = *sh->cores[c];
  {
    CancelSource stop(co_await this_cancel_token());
    cs.accept_cancel = &stop;
    while (!cs.stop_requested && !stop.cancelled()) {
      Result<net::TcpStream> s = co_await with_cancel(stop.token(), cs.listener.accept());
      if (!s) {
        if (s.error() != std::errc::operation_canceled)
          kio::log_error("http server: accepting stopped: {}", s.error().message());
        break;
      }
      kio::spawn(serve_connection(std::move(*s), &sh->router, &sh->options, &cs.registry));
    }
    cs.accept_cancel = nullptr;
  }
  cs.listener.close();
  cs.registry.stop();
  co_await cs.registry.drained();
  try {
    co_await kio::submit_to(home, [&sh = *sh] { core_finished(sh); });
  } catch (const std::system_error&) {
    // the home core is shutting down: run() is being torn down with the runtime
  }
}

}  // namespace
}  // namespace detail

Server::Server(Router router, ServerOptions options)
    : shared_(std::make_shared<detail::ServerShared>(std::move(router), std::move(options))) {}

Server::~Server() = default;

const Router& Server::router() const noexcept {
  return shared_->router;
}
const ServerOptions& Server::options() const noexcept {
  return shared_->options;
}
std::uint16_t Server::port() const noexcept {
  return shared_->port.load();
}

Task<Result<void>> Server::run() {
  std::shared_ptr<detail::ServerShared> sh = shared_;
  kio::detail::Executor& ex = kio::detail::this_executor("kio::http::Server::run");
  Runtime& rt = ex.runtime();
  const unsigned n = rt.workers();
  const unsigned home = ex.index();
  sh->home = &ex;
  sh->cores.clear();
  for (unsigned c = 0; c < n; ++c)
    sh->cores.push_back(std::make_unique<detail::CoreState>());

  Result<net::Address> addr = detail::listen_address(sh->options);
  if (!addr) co_return addr.error();
  net::ListenOptions lo;
  lo.backlog = sh->options.backlog;

  // Bind here first: with port 0 the kernel picks the port every other core then binds.
  Result<net::TcpListener> first = net::TcpListener::bind(*addr, lo);
  if (!first) co_return first.error();
  sh->cores[home]->listener = std::move(*first);
  if (auto local = sh->cores[home]->listener.local_address()) addr->set_port(local->port());
  sh->port.store(addr->port());

  std::error_code bind_error;
  for (unsigned c = 0; c < n && !bind_error; ++c) {
    if (c == home) continue;
    bind_error = co_await kio::submit_to(c, [&, c]() -> std::error_code {
      auto l = net::TcpListener::bind(*addr, lo);
      if (!l) return l.error();
      sh->cores[c]->listener = std::move(*l);
      return {};
    });
  }
  if (bind_error) {
    for (unsigned c = 0; c < n; ++c)
      co_await kio::submit_to(c, [&, c] { sh->cores[c]->listener.close(); });
    co_return bind_error;
  }

  // stop() publishes `stopping` then reads `runtime`; we publish `runtime` then read `stopping`
  // (both seq_cst), so a concurrent stop() is seen by one side or the other.
  sh->runtime.store(&rt);
  sh->remaining = n;
  for (unsigned c = 0; c < n; ++c) {
    if (sh->stopping.load()) sh->cores[c]->stop_requested = true;
    if (!co_await kio::spawn_on(c, detail::serve_core(sh, c, home)))
      detail::core_finished(*sh);  // this core is shutting down: the task was not sent
  }
  co_await detail::AllCoresDone(*sh);
  sh->runtime.store(nullptr);
  co_return Result<void>{};
}

void Server::stop() noexcept {
  shared_->stopping.store(true);
  Runtime* rt = shared_->runtime.load();
  if (!rt) return;  // not serving yet (run() checks the flag) or already finished
  for (unsigned c = 0; c < rt->workers(); ++c) {
    try {
      (void)rt->spawn_on(c, detail::stop_core(shared_, c));
    } catch (...) {
      // allocation failure: the flag is set; nothing else to do from here
    }
  }
}

}  // namespace kio::http
