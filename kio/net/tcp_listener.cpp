#include "kio/net/tcp_listener.hpp"

#include <unistd.h>

#include "kio/core/log.hpp"
#include "kio/net/detail/socket.hpp"

namespace kio::net {

// ---- accept() -------------------------------------------------------------------------------

AcceptAwaiter::~AcceptAwaiter() {
  if (w_.state) w_.state->unlink(&w_);
  if (w_.fd >= 0) ::close(w_.fd);  // handed over but never resumed (runtime teardown)
}

bool AcceptAwaiter::await_ready() noexcept {
  if (!s_) {
    w_.ec = std::make_error_code(std::errc::bad_file_descriptor);
    return true;
  }
  if (s_->pending() != 0) {
    w_.fd = s_->pop();
    s_->maybe_arm();
    return true;
  }
  if (s_->fatal) {
    w_.ec = s_->fatal;
    return true;
  }
  return false;
}

bool AcceptAwaiter::suspend(std::coroutine_handle<> h, CancelToken token) noexcept {
  w_.handle = h;
  if (!w_.reg.arm(token, &on_cancel, this)) {
    canceled_ = true;
    return false;
  }
  s_->link(&w_);
  s_->started = true;
  s_->maybe_arm();
  return true;
}

void AcceptAwaiter::on_cancel(void* p) noexcept {
  auto* self = static_cast<AcceptAwaiter*>(p);
  detail::ListenerState* s = self->w_.state;
  s->unlink(&self->w_);
  self->canceled_ = true;
  s->ex.schedule(self->w_.handle);
}

Result<TcpStream> AcceptAwaiter::await_resume() {
  if (w_.fd >= 0) return TcpStream::adopt(std::exchange(w_.fd, -1));
  if (canceled_) return std::errc::operation_canceled;
  return w_.ec;
}

// ---- TcpListener ----------------------------------------------------------------------------

Result<TcpListener> TcpListener::bind(const Address& addr, const ListenOptions& opts) {
  auto fd = detail::open_listener(addr, opts);
  if (!fd) return fd.error();
  return adopt(*fd, opts);
}

TcpListener TcpListener::adopt(int fd, const ListenOptions& opts) {
  kio::detail::Executor& ex = kio::detail::this_executor("kio::net::TcpListener");
  return TcpListener(new detail::ListenerState(ex, fd, opts));
}

Result<Address> TcpListener::local_address() const noexcept {
  if (!s_) return std::errc::bad_file_descriptor;
  return detail::local_address(s_->fd);
}

void TcpListener::close() noexcept {
  detail::ListenerState* s = std::exchange(s_, nullptr);
  if (!s) return;
  if (&s->ex == kio::detail::current_executor()) [[likely]] {
    s->detach();
    return;
  }
  // Off its core: only safe once the runtime stopped (nothing in flight, timers cleared).
  while (s->pending() != 0)
    ::close(s->pop());
  ::close(s->fd);
  if (s->armed) {
    kio::log_warn(
        "kio::net::TcpListener closed off its core with an accept in flight; "
        "leaking its state");
    return;
  }
  delete s;
}

}  // namespace kio::net
