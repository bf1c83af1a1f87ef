// Server: per-core listeners and connection registries, orchestrated from the core running run().
//
// Shared state is reference-counted only by run() and by the per-core tasks it starts and the stop
// tasks stop() queues — never per connection: a connection refers to its core's state, which
// outlives it because the core's serve task waits for every connection before it ends.
#include "kio/http/server.hpp"

#include <algorithm>
#include <chrono>
#include <coroutine>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/detail/root_task.hpp"
#include "kio/core/log.hpp"
#include "kio/core/runtime.hpp"
#include "kio/core/spawn_on.hpp"
#include "kio/core/submit_to.hpp"
#include "kio/core/timeout.hpp"
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
  CancelSource force;                     // cancels every connection: the drain deadline passed
  bool stop_requested = false;
};

struct ServerShared : std::enable_shared_from_this<ServerShared> {
  ServerShared(Router r, ServerOptions o) : router(std::move(r)), options(std::move(o)) {}
  const Router router;
  const ServerOptions options;
  std::vector<std::unique_ptr<CoreState>> cores;  // sized by bind() before any core task starts
  std::atomic<Runtime*> runtime{nullptr};         // set while run() serves
  std::atomic<bool> stopping{false};
  std::atomic<std::uint16_t> port{0};
  // the core that called bind()/run() only
  bool bound = false;
  bool ran = false;
  unsigned remaining = 0;
  std::coroutine_handle<> run_waiter{};
  kio::detail::Executor* home = nullptr;
};

namespace {

using Clock = kio::detail::Clock;

/// One connection's task tree, started on the accepting core. It is a root itself (what
/// kio::spawn would wrap in a second frame), so an idle connection holds two frames: this one,
/// with the stream and the Connection, and Connection::run()'s.
kio::detail::RootTask serve_connection(net::TcpStream stream, const ServerShared* sh,
                                       CoreState* cs) {
  Connection<net::TcpStream> conn(stream, sh->router, sh->options, cs->registry);
  try {
    // Not under the runtime's shutdown token: a stop is graceful (ConnRegistry::stop), and only
    // the drain deadline cancels a connection outright.
    co_await with_cancel(cs->force.token(), conn.run());
  } catch (const std::exception& e) {  // run() handles everything but an allocation failure
    kio::detail::log_task_exception(e.what());
  } catch (...) {
    kio::detail::log_task_exception(nullptr);
  }
}

/// Runs on core `c`: stop accepting, close idle connections, let busy ones finish.
Task<void> stop_core(std::shared_ptr<ServerShared> sh, unsigned c) {
  CoreState& cs = *sh->cores[c];
  cs.stop_requested = true;
  if (cs.accept_cancel) cs.accept_cancel->request_cancel();
  cs.registry.stop();
  co_return;
}

/// Graceful stop of every core; safe from any thread, any number of times.
void stop_all(ServerShared& sh) noexcept {
  sh.stopping.store(true);
  Runtime* rt = sh.runtime.load();
  if (!rt) return;  // not serving yet (serve_core checks the flag) or already finished
  std::shared_ptr<ServerShared> self = sh.shared_from_this();
  for (unsigned c = 0; c < rt->workers(); ++c) {
    try {
      (void)rt->spawn_on(c, stop_core(self, c));
    } catch (...) {
      // allocation failure: the flag is set; nothing else to do from here
    }
  }
}

/// Resumes run() once every core has reported (home core only). Cancelling run()'s ambient token
/// (kio::timeout, when_any, a runtime stop) stops the server gracefully, but run() still returns
/// only after every core's connections and handlers are done: nothing of the server runs after.
class AllCoresDone {
 public:
  explicit AllCoresDone(ServerShared& sh) noexcept : sh_(sh) {}
  bool await_ready() const noexcept { return sh_.remaining == 0; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    sh_.run_waiter = h;
    if (!reg_.arm(kio::detail::token_of(h), &on_cancel, this)) stop_all(sh_);
    return true;
  }
  void await_resume() noexcept { reg_.disarm(); }

 private:
  static void on_cancel(void* self) noexcept { stop_all(static_cast<AllCoresDone*>(self)->sh_); }
  ServerShared& sh_;
  CancelRegistration reg_;
};

void core_finished(ServerShared& sh) noexcept {
  if (--sh.remaining == 0 && sh.run_waiter) sh.home->schedule(std::exchange(sh.run_waiter, {}));
}

/// Waits until the core's connections are gone: up to drain_timeout (and, in a runtime stop, until
/// shortly before the grace period ends), then cancels the rest and waits for them to close.
/// Runs under no token: in a runtime stop the caller's token is already cancelled.
Task<void> drain(CoreState& cs, const ServerOptions& opts) {
  if (cs.registry.size() == 0) co_return;
  const Clock::time_point now = Clock::now();
  Clock::time_point until = now + opts.drain_timeout;
  const Clock::time_point grace = kio::detail::this_executor("kio::http").grace_deadline();
  if (grace != Clock::time_point::max()) {
    // Leave time to close the connections cleanly before the runtime destroys what is left.
    const auto left = grace > now ? grace - now : Clock::duration::zero();
    until = std::min(until,
                     grace - std::min<Clock::duration>(std::chrono::milliseconds(100), left / 4));
  }
  if (until > now) (void)co_await kio::timeout(until - now, cs.registry.drained());
  if (cs.registry.size() == 0) co_return;
  kio::log_warn("http server: closing {} connection(s) still busy after the drain deadline",
                cs.registry.size());
  cs.force.request_cancel();
  co_await cs.registry.drained();
}

/// Core `c`'s accept loop; reports to the home core when all its connections are gone.
Task<void> serve_core(std::shared_ptr<ServerShared> sh, unsigned c, unsigned home) {
  CoreState& cs = *sh->cores[c];
  kio::detail::Executor& ex = kio::detail::this_executor("kio::http::Server");
  if (sh->stopping.load()) cs.stop_requested = true;
  {
    CancelSource stop(co_await this_cancel_token());  // the runtime's shutdown token
    cs.accept_cancel = &stop;
    while (!cs.stop_requested && !stop.cancelled()) {
      Result<net::TcpStream> s = co_await with_cancel(stop.token(), cs.listener.accept());
      if (!s) {
        if (s.error() != std::errc::operation_canceled)
          kio::log_error("http server: accepting stopped: {}", s.error().message());
        break;
      }
      serve_connection(std::move(*s), sh.get(), &cs).start_on(ex);
    }
    cs.accept_cancel = nullptr;
  }
  cs.listener.close();
  cs.registry.stop();
  co_await with_cancel(CancelToken{}, drain(cs, sh->options));
  // Cores keep serving each other's messages until every core is done, so this always arrives.
  co_await kio::submit_to(home, [&sh = *sh] { core_finished(sh); });
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

Task<Result<void>> Server::bind() {
  std::shared_ptr<detail::ServerShared> sh = shared_;
  if (sh->bound) co_return Result<void>{};
  kio::detail::Executor& ex = kio::detail::this_executor("kio::http::Server::bind");
  const unsigned n = ex.runtime().workers();
  const unsigned home = ex.index();
  sh->cores.clear();
  for (unsigned c = 0; c < n; ++c)
    sh->cores.push_back(std::make_unique<detail::CoreState>());

  net::Address addr = sh->options.address;
  net::ListenOptions lo;
  lo.backlog = sh->options.backlog;
  lo.share_port = sh->options.share_port;
  net::ListenOptions join = lo;  // the other cores join the home core's listener
  join.share_port = true;

  // Bind here first: with port 0 the kernel picks the port every other core then binds.
  Result<net::TcpListener> first = net::TcpListener::bind(addr, lo);
  if (!first) co_return first.error();
  sh->cores[home]->listener = std::move(*first);
  if (auto local = sh->cores[home]->listener.local_address()) addr.set_port(local->port());

  std::error_code bind_error;
  for (unsigned c = 0; c < n && !bind_error; ++c) {
    if (c == home) continue;
    bind_error = co_await kio::submit_to(c, [&, c]() -> std::error_code {
      auto l = net::TcpListener::bind(addr, join);
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
  sh->port.store(addr.port());
  sh->bound = true;
  co_return Result<void>{};
}

Task<Result<void>> Server::run() {
  std::shared_ptr<detail::ServerShared> sh = shared_;
  if (sh->ran) throw std::logic_error("kio::http::Server::run called twice; a Server serves once");
  sh->ran = true;
  if (!sh->bound) {
    Result<void> b = co_await bind();
    if (!b) co_return b;
  }
  kio::detail::Executor& ex = kio::detail::this_executor("kio::http::Server::run");
  Runtime& rt = ex.runtime();
  const unsigned n = rt.workers();
  if (sh->cores.size() != n)
    throw std::logic_error("kio::http::Server::run on another runtime than bind()");
  const unsigned home = ex.index();
  sh->home = &ex;

  // stop() publishes `stopping` then reads `runtime`; we publish `runtime` then each core task
  // reads `stopping` (both seq_cst), so a concurrent stop() is seen by one side or the other.
  sh->runtime.store(&rt);
  sh->remaining = n;
  for (unsigned c = 0; c < n; ++c) {
    if (!co_await kio::spawn_on(c, detail::serve_core(sh, c, home)))
      detail::core_finished(*sh);  // this core is tearing down: the task was not sent
  }
  co_await detail::AllCoresDone(*sh);
  sh->runtime.store(nullptr);
  co_return Result<void>{};
}

void Server::stop() noexcept {
  detail::stop_all(*shared_);
}

}  // namespace kio::http
