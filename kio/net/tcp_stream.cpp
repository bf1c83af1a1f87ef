#include "kio/net/tcp_stream.hpp"

#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "kio/core/log.hpp"
#include "kio/net/detail/socket.hpp"
#include "kio/net/net_metrics.hpp"

namespace kio::net {

// ---- recv() ---------------------------------------------------------------------------------

namespace {

Result<RecvBuffer> take_lease(detail::StreamState* s) noexcept {
  if (s->queued != 0) {
    std::uint32_t off, len;
    const std::uint16_t bid = s->pop(off, len);
    s->maybe_rearm();
    return RecvBuffer(s->ring, bid, s->ring->data(bid) + off, len);
  }
  if (s->error) return s->error;
  return RecvBuffer();
}

/// Makes sure the stream can use the core's buffer ring.
std::error_code attach_ring(detail::StreamState* s) noexcept {
  if (s->ring) return {};
  auto r = s->core.buffers();
  if (!r) return r.error();
  s->ring = *r;
  return {};
}

}  // namespace

bool RecvAwaiter::await_ready() noexcept {
  if (!s_) {
    ec_ = std::make_error_code(std::errc::bad_file_descriptor);
    return true;
  }
  if (s_->has_data()) return true;
  ec_ = attach_ring(s_);
  return static_cast<bool>(ec_);
}

bool RecvAwaiter::suspend(std::coroutine_handle<> h, CancelToken token) noexcept {
  w_.handle = h;
  if (!w_.reg.arm(token, &on_cancel, this)) {
    w_.canceled = true;
    return false;
  }
  w_.state = s_;
  s_->waiter = &w_;
  if (!s_->armed && !s_->waiting_for_buffers) s_->arm();
  return true;
}

void RecvAwaiter::on_cancel(void* p) noexcept {
  auto* self = static_cast<RecvAwaiter*>(p);
  detail::StreamState* s = self->w_.state;
  if (s->waiter == &self->w_) s->waiter = nullptr;
  self->w_.canceled = true;
  s->ex.schedule(self->w_.handle);
}

std::error_code RecvAwaiter::wait_result() noexcept {
  w_.state = nullptr;
  if (ec_) return ec_;
  if (w_.closed) return std::make_error_code(std::errc::bad_file_descriptor);
  if (w_.canceled) return std::make_error_code(std::errc::operation_canceled);
  return {};
}

Result<RecvBuffer> RecvAwaiter::await_resume() noexcept {
  if (std::error_code ec = wait_result()) return ec;
  return take_lease(s_);
}

// ---- recv(span) -----------------------------------------------------------------------------

bool RecvIntoAwaiter::await_ready() noexcept {
  if (!s_) {
    ec_ = std::make_error_code(std::errc::bad_file_descriptor);
    return true;
  }
  if (s_->has_data()) return true;
  if (s_->armed) {
    mode_ = Mode::wait;
  } else {
    // No multishot receive in the kernel: receive straight into the caller's buffer. A stream
    // waiting for ring buffers stops waiting (it re-arms on its next recv()).
    if (s_->ring) s_->ring->remove_waiter(s_);
    mode_ = Mode::direct;
  }
  return false;
}

bool RecvIntoAwaiter::suspend(std::coroutine_handle<> h, CancelToken token) noexcept {
  w_.handle = h;
  if (!w_.reg.arm(token, &on_cancel, this)) {
    w_.canceled = true;
    return false;
  }
  w_.state = s_;
  s_->waiter = &w_;
  return true;
}

void RecvIntoAwaiter::on_cancel(void* p) noexcept {
  auto* self = static_cast<RecvIntoAwaiter*>(p);
  detail::StreamState* s = self->w_.state;
  if (s->waiter == &self->w_) s->waiter = nullptr;
  self->w_.canceled = true;
  s->ex.schedule(self->w_.handle);
}

Result<std::size_t> RecvIntoAwaiter::await_resume() noexcept {
  w_.state = nullptr;
  if (ec_) return ec_;
  if (mode_ == Mode::direct) {
    if (d_.closed) return std::errc::bad_file_descriptor;  // the stream went away meanwhile
    s_->direct = nullptr;
    if (res_ > 0) detail::net_counters().bytes_received += static_cast<std::uint64_t>(res_);
    return map_size(res_, flags_);
  }
  if (w_.closed) return std::errc::bad_file_descriptor;
  if (w_.canceled) return std::errc::operation_canceled;
  if (s_->queued != 0) {
    const std::size_t n = s_->copy_out(buf_.data(), buf_.size());
    s_->maybe_rearm();
    return n;
  }
  if (s_->error) return s_->error;
  return std::size_t{0};
}

// ---- TcpStream ------------------------------------------------------------------------------

TcpStream TcpStream::adopt(int fd) {
  return TcpStream(detail::CoreNet::get("kio::net::TcpStream").new_stream(fd));
}

void TcpStream::reset() noexcept {
  detail::StreamState* s = std::exchange(s_, nullptr);
  if (!s) return;
  if (&s->ex == kio::detail::current_executor()) [[likely]] {
    s->detach(false);
    return;
  }
  // Not on the stream's core (a stream that outlived its runtime, or a misuse).
  if (s->fd >= 0) ::close(s->fd);
  if (s->armed) {
    kio::log_warn(
        "kio::net::TcpStream destroyed off its core with a receive in flight; "
        "leaking its state");
    return;
  }
  delete s;
}

Task<Result<TcpStream>> TcpStream::connect(Address addr, ConnectOptions opts) {
  if (!addr.valid()) co_return std::errc::invalid_argument;
  auto fd = detail::open_socket(addr.family(), SOCK_STREAM);
  if (!fd) co_return fd.error();
  TcpStream s = adopt(*fd);  // closes the socket on every error path below
  if (opts.nodelay)
    if (auto r = detail::set_option(*fd, IPPROTO_TCP, TCP_NODELAY, 1); !r) co_return r.error();
  if (opts.send_buffer_size > 0)
    if (auto r = detail::set_option(*fd, SOL_SOCKET, SO_SNDBUF, opts.send_buffer_size); !r)
      co_return r.error();
  if (opts.recv_buffer_size > 0)
    if (auto r = detail::set_option(*fd, SOL_SOCKET, SO_RCVBUF, opts.recv_buffer_size); !r)
      co_return r.error();
  const int sock = *fd;
  auto r = co_await make_io_op(
      [sock, &addr](io_uring_sqe* sqe) {
        io_uring_prep_connect(sqe, sock, addr.sockaddr_ptr(), addr.sockaddr_len());
      },
      map_status);
  if (!r) co_return r.error();
  ++detail::net_counters().connected;
  co_return std::move(s);
}

namespace {

/// Zero copy for this payload? Never towards a peer on this host (the kernel copies anyway).
bool use_zerocopy(detail::StreamState* s, std::size_t n) noexcept {
  if (n < s->zerocopy_threshold) return false;
  if (s->zerocopy_local) return true;
  if (s->peer_is_local < 0) {
    auto peer = detail::peer_address(s->fd);
    auto local = detail::local_address(s->fd);
    s->peer_is_local = (peer && local && (peer->is_loopback() || peer->same_ip(*local))) ? 1 : 0;
  }
  return s->peer_is_local == 0;
}

Task<Result<void>> send_all_impl(detail::StreamState* s, std::span<const std::byte> data) {
  if (!s) co_return std::errc::bad_file_descriptor;
  const int fd = s->fd;
  const bool zc = use_zerocopy(s, data.size());
  while (!data.empty()) {
    Result<std::size_t> r = std::errc::invalid_argument;
    if (zc) {
      SendZcOp op(fd, data);
      r = co_await op;
      ++s->core.zerocopy_sends;
      if (op.copied()) ++s->core.zerocopy_copied;
    } else {
      r = co_await make_io_op(
          [fd, data](io_uring_sqe* sqe) {
            io_uring_prep_send(sqe, fd, data.data(), kio::detail::io_length(data.size()),
                               MSG_NOSIGNAL | MSG_WAITALL);
          },
          map_size);
      if (r) detail::net_counters().bytes_sent += *r;
    }
    if (!r) co_return r.error();
    if (*r == 0) co_return std::errc::broken_pipe;  // no progress on a non-empty send
    data = data.subspan(*r);
  }
  co_return Result<void>{};
}

Task<Result<void>> send_all_iov(detail::StreamState* s, std::span<const iovec> iov) {
  if (!s) co_return std::errc::bad_file_descriptor;
  const int fd = s->fd;
  std::size_t i = 0;
  std::size_t offset = 0;  // bytes of iov[i] already sent
  for (;;) {
    while (i < iov.size() && iov[i].iov_len == offset) {
      ++i;
      offset = 0;
    }
    if (i == iov.size()) co_return Result<void>{};
    if (offset != 0) {
      // Finish a partly sent buffer on its own, then continue with whole ones.
      auto rest = std::span(static_cast<const std::byte*>(iov[i].iov_base) + offset,
                            iov[i].iov_len - offset);
      if (auto r = co_await send_all_impl(s, rest); !r) co_return r;
      offset = iov[i].iov_len;
      continue;
    }
    msghdr msg{};
    msg.msg_iov = const_cast<iovec*>(iov.data() + i);
    msg.msg_iovlen = std::min<std::size_t>(iov.size() - i, IOV_MAX);
    auto r = co_await make_io_op(
        [fd, &msg](io_uring_sqe* sqe) {
          io_uring_prep_sendmsg(sqe, fd, &msg, MSG_NOSIGNAL | MSG_WAITALL);
        },
        map_size);
    if (!r) co_return r.error();
    std::size_t sent = *r;
    detail::net_counters().bytes_sent += sent;
    if (sent == 0) co_return std::errc::broken_pipe;
    while (sent > 0) {
      const std::size_t left = iov[i].iov_len - offset;
      if (sent >= left) {
        sent -= left;
        ++i;
        offset = 0;
      } else {
        offset += sent;
        sent = 0;
      }
    }
  }
}

}  // namespace

Task<Result<void>> TcpStream::send_all(std::span<const std::byte> data) {
  return send_all_impl(s_, data);
}

Task<Result<void>> TcpStream::send_all(std::span<const iovec> iov) {
  if (iov.size() == 1)  // the common case (an HTTP batch of small responses): no sendmsg
    return send_all_impl(s_,
                         std::span(static_cast<const std::byte*>(iov[0].iov_base), iov[0].iov_len));
  return send_all_iov(s_, iov);
}

namespace {
enum class Peek { data, closed, nothing, failed };
/// What the socket holds right now, without taking it: one non-blocking recv(MSG_PEEK).
Peek peek_socket(int fd) noexcept {
  char c;
  const ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return Peek::data;
  if (n == 0) return Peek::closed;  // FIN, nothing left to read
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? Peek::nothing
                                                                   : Peek::failed;  // ECONNRESET
}
}  // namespace

bool TcpStream::input_pending() const noexcept {
  if (!s_) return false;
  if (s_->queued != 0) return true;
  if (s_->eof || s_->error) return false;
  return peek_socket(s_->fd) == Peek::data;
}

bool TcpStream::peer_gone() const noexcept {
  if (!s_) return true;
  if (s_->queued != 0) return false;
  if (s_->eof || s_->error) return true;
  const Peek p = peek_socket(s_->fd);
  return p == Peek::closed || p == Peek::failed;
}

Result<void> TcpStream::shutdown_write() noexcept {
  if (!s_) return std::errc::bad_file_descriptor;
  if (::shutdown(s_->fd, SHUT_WR) != 0) return detail::last_error();
  return {};
}

Task<Result<void>> TcpStream::close() {
  return close_impl(std::move(*this));
}

Task<Result<void>> TcpStream::close_impl(TcpStream self) {
  detail::StreamState* s = std::exchange(self.s_, nullptr);
  if (!s) co_return std::errc::bad_file_descriptor;
  const int fd = s->detach(/*keep_fd=*/true);
  co_return co_await make_io_op([fd](io_uring_sqe* sqe) { io_uring_prep_close(sqe, fd); },
                                map_status);
}

Result<Address> TcpStream::peer_address() const noexcept {
  if (!s_) return std::errc::bad_file_descriptor;
  return detail::peer_address(s_->fd);
}

Result<Address> TcpStream::local_address() const noexcept {
  if (!s_) return std::errc::bad_file_descriptor;
  return detail::local_address(s_->fd);
}

Result<void> TcpStream::set_nodelay(bool on) noexcept {
  if (!s_) return std::errc::bad_file_descriptor;
  return detail::set_option(s_->fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
}

Result<void> TcpStream::set_keepalive(bool on) noexcept {
  if (!s_) return std::errc::bad_file_descriptor;
  return detail::set_option(s_->fd, SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0);
}

Result<void> TcpStream::set_send_buffer_size(int bytes) noexcept {
  if (!s_) return std::errc::bad_file_descriptor;
  return detail::set_option(s_->fd, SOL_SOCKET, SO_SNDBUF, bytes);
}

Result<void> TcpStream::set_recv_buffer_size(int bytes) noexcept {
  if (!s_) return std::errc::bad_file_descriptor;
  return detail::set_option(s_->fd, SOL_SOCKET, SO_RCVBUF, bytes);
}

// ---- receive buffers ------------------------------------------------------------------------

Result<void> configure_recv_buffers(const RecvBufferOptions& opts) {
  return detail::CoreNet::get("kio::net::configure_recv_buffers").configure(opts);
}

RecvBufferStats recv_buffer_stats() noexcept {
  detail::CoreNet* c = detail::CoreNet::find();
  if (!c || !c->has_buffers()) return {};
  auto r = c->buffers();
  return {(*r)->size(), (*r)->available(), (*r)->buffer_size(), (*r)->exhausted};
}

ZeroCopyStats zerocopy_stats() noexcept {
  detail::CoreNet* c = detail::CoreNet::find();
  if (!c) return {};
  return {c->zerocopy_sends, c->zerocopy_copied};
}

namespace detail {
void abort_connection(int fd) noexcept {
  sockaddr sa{};
  sa.sa_family = AF_UNSPEC;
  (void)::connect(fd, &sa, sizeof sa);
}
}  // namespace detail

}  // namespace kio::net
