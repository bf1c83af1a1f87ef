// kio::net::TcpServer / kio::net::serve — one listener per core, a task per connection.
//
//   kio::Task<void> echo(kio::net::TcpStream s) {
//     for (;;) {
//       auto buf = co_await s.recv();
//       if (!buf || buf->empty() || !co_await s.send_all(buf->bytes())) co_return;
//     }
//   }
//   int main() {
//     kio::Runtime rt({.workers = 2, .stop_on_signals = true});
//     auto r = rt.block_on(kio::net::serve(kio::net::Address::any_v4(8080), {}, echo));
//     if (!r) std::fprintf(stderr, "%s\n", r.error().message().c_str());
//   }
//
// What: bind() opens one SO_REUSEPORT listening socket per core (synchronously, so bind errors
// such as address_in_use come back at once; with port 0 every socket gets the port the kernel
// picked for the first). The first socket requires a free port: a port held by another server
// (of this process or another, SO_REUSEPORT or not) is address_in_use, never silently shared;
// the other cores' sockets then join the first (ListenOptions::share_port explains the check
// and how to share a port with other processes on purpose).
// serve(handler) hands socket i to core i, where a TcpListener accepts (multishot)
// independently — the kernel spreads connections over the cores, there is no shared accept
// queue — and runs `handler(stream)` as a task on that core for every connection.
// Runs on / resumes on: serve() is awaited on any worker and resumes there; handlers run on the
// core that accepted their connection.
// Cancellation: cancelling serve()'s ambient token (kio::with_cancel, kio::timeout, stop() on
// the serving core, or the runtime stopping) closes every listener and cancels the ambient token
// of every connection handler; serve() returns once all handlers finished.
// Lifetime: the handler is copied once per core; the copies (and anything they capture) live
// until serve() returns, which is after every handler task ended. The TcpServer must outlive
// serve(). A server serves once.
// Errors: bind: the socket call's error. serve: {} when stopped by cancellation, or the first
// error that made a listener fail. Exceptions escaping a handler are logged with the core id;
// the server keeps running.
#pragma once

#include <unistd.h>

#include <concepts>
#include <coroutine>
#include <exception>
#include <system_error>
#include <utility>
#include <vector>

#include "kio/core/cancel.hpp"
#include "kio/core/log.hpp"
#include "kio/core/spawn.hpp"
#include "kio/core/submit_to.hpp"
#include "kio/core/task.hpp"
#include "kio/core/this_core.hpp"
#include "kio/core/with_cancel.hpp"
#include "kio/net/address.hpp"
#include "kio/net/options.hpp"
#include "kio/net/tcp_listener.hpp"
#include "kio/net/tcp_stream.hpp"

namespace kio::net {

/// A per-connection handler: copyable, called as `Task<void> handler(TcpStream)`.
template <class H>
concept ConnectionHandler = std::copy_constructible<H> && requires(H& h, TcpStream s) {
  { h(std::move(s)) } -> std::same_as<Task<void>>;
};

namespace detail {

/// Counts live tasks and lets one coroutine wait until there are none (single core).
struct TaskGroup {
  unsigned active = 0;
  std::coroutine_handle<> waiter{};
  void done() noexcept {
    if (--active == 0 && waiter) kio::detail::this_executor("kio::net").schedule(waiter);
  }
  struct Wait {
    TaskGroup& g;
    bool await_ready() const noexcept { return g.active == 0; }
    void await_suspend(std::coroutine_handle<> h) noexcept { g.waiter = h; }
    void await_resume() const noexcept { g.waiter = {}; }
  };
  Wait wait() noexcept { return Wait{*this}; }
};

/// One core's part of a running server; touched only by that core.
struct ServerSlot {
  CancelSource* stop = nullptr;
  bool stop_requested = false;
  std::error_code error;
};

}  // namespace detail

class TcpServer {
 public:
  TcpServer(TcpServer&& o) noexcept
      : fds_(std::move(o.fds_)), address_(o.address_), opts_(o.opts_) {}
  TcpServer& operator=(TcpServer&&) = delete;
  TcpServer(const TcpServer&) = delete;
  ~TcpServer() {
    for (int fd : fds_)
      ::close(fd);
  }

  /// One listening socket per core: `cores` of them, or (0) one for every core of the calling
  /// worker's runtime. Needs opts.reuse_port when cores > 1.
  static Result<TcpServer> bind(const Address& addr, const ListenOptions& opts = {},
                                unsigned cores = 0);

  /// The bound address (the kernel's port when bound to port 0).
  const Address& local_address() const noexcept { return address_; }
  unsigned cores() const noexcept { return static_cast<unsigned>(fds_.size()); }

  /// Accepts on every core and runs `handler` per connection until cancelled; see above.
  template <ConnectionHandler H>
  Task<Result<void>> serve(H handler);

  /// Stops a running serve(); call on the core that awaits serve(). Idempotent.
  void stop() noexcept {
    if (stop_) stop_->request_cancel();
  }

 private:
  TcpServer(std::vector<int> fds, Address a, const ListenOptions& o)
      : fds_(std::move(fds)), address_(a), opts_(o) {}

  struct Shared {
    std::vector<detail::ServerSlot> slots;
    detail::TaskGroup group;  // per-core runners and stop broadcasts, on the serving core
  };

  template <class H>
  static Task<void> accept_loop(TcpListener& l, detail::ServerSlot& slot, CancelToken conns,
                                H& handler, detail::TaskGroup& group);
  template <class H>
  static Task<void> run_connection(H& handler, TcpStream s, CancelToken token,
                                   detail::TaskGroup& group);
  template <class H>
  static Task<void> core_loop(detail::ServerSlot& slot, int fd, ListenOptions opts, H handler);
  template <class H>
  static Task<void> run_core(Shared& sh, unsigned core, int fd, ListenOptions opts, H& handler);
  static Task<void> stop_all(Shared& sh);
  static void on_stop(void* shared) noexcept;

  std::vector<int> fds_;
  Address address_;
  ListenOptions opts_;
  CancelSource* stop_ = nullptr;
};

/// Binds a TcpServer on every core of the calling worker's runtime and serves until cancelled.
template <ConnectionHandler H>
Task<Result<void>> serve(Address addr, ListenOptions opts, H handler) {
  auto server = TcpServer::bind(addr, opts);
  if (!server) co_return server.error();
  co_return co_await server->serve(std::move(handler));
}

// ---- implementation -------------------------------------------------------------------------

template <class H>
Task<void> TcpServer::run_connection(H& handler, TcpStream s, CancelToken token,
                                     detail::TaskGroup& group) {
  try {
    co_await with_cancel(token, handler(std::move(s)));
  } catch (const std::exception& e) {
    kio::log_error("kio::net::TcpServer: connection handler threw: {}", e.what());
  } catch (...) {
    kio::log_error("kio::net::TcpServer: connection handler threw a non-std exception");
  }
  group.done();
}

template <class H>
Task<void> TcpServer::accept_loop(TcpListener& l, detail::ServerSlot& slot, CancelToken conns,
                                  H& handler, detail::TaskGroup& group) {
  for (;;) {
    auto s = co_await l.accept();
    if (!s) {
      if (s.error() != std::errc::operation_canceled) {
        kio::log_error("kio::net::TcpServer: listener stopped: {}", s.error().message());
        slot.error = s.error();
      }
      co_return;
    }
    ++group.active;
    kio::spawn(run_connection(handler, std::move(*s), conns, group));
  }
}

template <class H>
Task<void> TcpServer::core_loop(detail::ServerSlot& slot, int fd, ListenOptions opts, H handler) {
  TcpListener listener = TcpListener::adopt(fd, opts);
  CancelSource src(co_await this_cancel_token());
  slot.stop = &src;
  if (slot.stop_requested) src.request_cancel();
  detail::TaskGroup connections;
  co_await with_cancel(src.token(), accept_loop(listener, slot, src.token(), handler, connections));
  slot.stop = nullptr;
  listener.close();
  co_await connections.wait();  // the handler copy and `src` must outlive every connection
}

template <class H>
Task<void> TcpServer::run_core(Shared& sh, unsigned core, int fd, ListenOptions opts, H& handler) {
  bool started = false;
  try {
    co_await submit_to(core, [&]() {
      started = true;
      return core_loop(sh.slots[core], fd, opts, handler);
    });
  } catch (const std::exception& e) {
    if (!started)
      ::close(fd);  // that core is stopping: its listener never started
    else
      kio::log_error("kio::net::TcpServer: core {} failed: {}", core, e.what());
  }
  sh.group.done();
}

template <ConnectionHandler H>
Task<Result<void>> TcpServer::serve(H handler) {
  if (fds_.empty()) co_return std::errc::bad_file_descriptor;
  std::vector<int> fds = std::move(fds_);
  fds_.clear();
  Shared sh;
  sh.slots.resize(fds.size());
  CancelSource src(co_await this_cancel_token());
  CancelRegistration on_stop_reg;
  stop_ = &src;
  if (src.cancelled()) {
    for (int fd : fds)
      ::close(fd);
    stop_ = nullptr;
    co_return Result<void>{};
  }
  for (unsigned c = 0; c < fds.size(); ++c) {
    ++sh.group.active;
    kio::spawn(run_core(sh, c, fds[c], opts_, handler));
  }
  on_stop_reg.arm(src.token(), &TcpServer::on_stop, &sh);
  co_await sh.group.wait();
  stop_ = nullptr;
  for (auto& slot : sh.slots)
    if (slot.error) co_return slot.error;
  co_return Result<void>{};
}

}  // namespace kio::net
