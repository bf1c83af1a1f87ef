// kio::net::TcpListener — a listening TCP socket on the calling core, accepting with multishot
// accept.
//
//   auto l = kio::net::TcpListener::bind(*kio::net::Address::parse("0.0.0.0:8080"));
//   if (!l) { log(l.error().message()); co_return; }      // address_in_use, ...
//   for (;;) {
//     auto s = co_await l->accept();                      // Result<TcpStream>
//     if (!s) break;                                      // cancelled, or the listener failed
//     kio::spawn(handle(std::move(*s)));
//   }
//
// What: bind() creates, binds and listens (SO_REUSEADDR, SO_REUSEPORT and TCP_NODELAY by
// default; see ListenOptions). A port held by any other socket, another server's SO_REUSEPORT
// group included, is address_in_use unless ListenOptions::share_port asks to join it. The
// first accept() arms one IORING_OP_ACCEPT with IORING_ACCEPT_MULTISHOT; it stays armed and
// is re-armed whenever the kernel ends it. Accepted sockets go to the oldest waiting accept(),
// or into a preallocated queue (`accept_queue`); a full queue pauses accepting until accept()
// drains it. Out of file descriptors (EMFILE/ENFILE): logged
// once, accepting pauses (timer back-off) and resumes by itself; accept() keeps waiting. For one
// listener per core see TcpServer (tcp_server.hpp).
// Runs on / resumes on: the core that bound (or adopted) the listener; accepted streams belong
// to that core.
// Cancellation: accept() observes the ambient token and then returns operation_canceled; a
// connection accepted later stays queued for the next accept().
// Lifetime: move-only handle; the kernel-facing state outlives it while the multishot accept is
// armed (see detail/listener_state.hpp). The listener must outlive pending accept() calls; if
// it is closed anyway they resume with bad_file_descriptor. Destroy it on its core.
// Errors: bind: the failing call's errno (address_in_use, permission_denied, ...). accept:
// operation_canceled, or the error that stopped the listener (then every later call too).
#pragma once

#include <coroutine>
#include <utility>

#include "kio/core/result.hpp"
#include "kio/net/address.hpp"
#include "kio/net/detail/listener_state.hpp"
#include "kio/net/options.hpp"
#include "kio/net/tcp_stream.hpp"

namespace kio::net {

/// co_await listener.accept() -> Result<TcpStream>.
class [[nodiscard]] AcceptAwaiter {
 public:
  explicit AcceptAwaiter(detail::ListenerState* s) noexcept : s_(s) {}
  /// Moving is allowed only before the awaiter is awaited.
  AcceptAwaiter(AcceptAwaiter&& o) noexcept : s_(o.s_) {}
  AcceptAwaiter& operator=(AcceptAwaiter&&) = delete;
  ~AcceptAwaiter();

  bool await_ready() noexcept;
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    return suspend(h, kio::detail::token_of(h));
  }
  Result<TcpStream> await_resume();

 private:
  bool suspend(std::coroutine_handle<> h, CancelToken token) noexcept;
  static void on_cancel(void* self) noexcept;
  detail::ListenerState* s_;
  detail::AcceptWaiter w_;
  bool canceled_ = false;
};

class TcpListener {
 public:
  TcpListener() noexcept = default;
  TcpListener(TcpListener&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  TcpListener& operator=(TcpListener&& o) noexcept {
    if (this != &o) {
      close();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  ~TcpListener() { close(); }

  /// Creates a listening socket on the calling core (call on a worker).
  static Result<TcpListener> bind(const Address& addr, const ListenOptions& opts = {});
  /// Takes ownership of a socket that is already listening; `opts` supplies the accept settings.
  static TcpListener adopt(int fd, const ListenOptions& opts = {});

  /// The next accepted connection.
  AcceptAwaiter accept() noexcept { return AcceptAwaiter(s_); }

  bool is_open() const noexcept { return s_ != nullptr; }
  int fd() const noexcept { return s_ ? s_->fd : -1; }
  /// The bound address (with the kernel's port when bound to port 0).
  Result<Address> local_address() const noexcept;
  /// Accepted connections waiting for accept().
  std::size_t pending() const noexcept { return s_ ? s_->pending() : 0; }
  /// Times accepting paused because descriptors or memory ran out (EMFILE/ENFILE/...).
  unsigned exhaustion_count() const noexcept { return s_ ? s_->exhaustion_count : 0; }

  /// Stops listening: queued connections are closed, pending accept() calls resume with
  /// bad_file_descriptor. Synchronous; idempotent.
  void close() noexcept;

 private:
  explicit TcpListener(detail::ListenerState* s) noexcept : s_(s) {}
  detail::ListenerState* s_ = nullptr;
};

}  // namespace kio::net
