// kio::net::UdpSocket — datagrams on the calling core.
//
//   auto sock = kio::net::UdpSocket::bind(kio::net::Address::loopback_v4(0));
//   std::array<std::byte, 1500> buf;
//   auto d = co_await sock->recv_from(buf);                   // Result<Datagram>
//   if (d) co_await sock->send_to(std::span(buf).first(d->size), d->from);
//
//   auto c = kio::net::UdpSocket::open(AF_INET);              // a client
//   c->connect(server_addr);                                  // fixes the peer (no I/O)
//   co_await c->send(query);  auto n = co_await c->recv(buf);
//
// What: send_to/recv_from use IORING_OP_SENDMSG/RECVMSG with the address in the awaiter;
// send/recv work on a connected socket (datagrams from other sources are then dropped by the
// kernel). A datagram larger than the buffer is cut: recv_from reports `truncated`.
// Runs on / resumes on: the calling core.
// Cancellation: every operation observes the ambient token (ASYNC_CANCEL, resumes after the
// kernel's completion; a datagram received while cancelling is still returned).
// Lifetime: move-only handle; buffers must outlive the co_await. Destroying the socket closes it
// synchronously; it must outlive operations awaited on it.
// Errors: std::error_code (connection_refused after an ICMP port unreachable on a connected
// socket, message_size for a datagram too large to send, ...).
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <coroutine>
#include <cstddef>
#include <span>
#include <utility>

#include "kio/core/result.hpp"
#include "kio/core/task.hpp"
#include "kio/io/op.hpp"
#include "kio/net/address.hpp"
#include "kio/net/options.hpp"

namespace kio::net {

struct Datagram {
  std::size_t size = 0;  // bytes stored in the buffer
  Address from;
  bool truncated = false;  // the datagram was larger than the buffer; the rest is lost
};

/// co_await sock.send_to(data, to) -> Result<std::size_t>.
class [[nodiscard]] SendToOp : kio::detail::IoOpBase {
 public:
  SendToOp(int fd, std::span<const std::byte> data, const Address& to) noexcept
      : fd_(fd), data_(data), to_(to) {}
  /// Moving is allowed only before the operation is awaited.
  SendToOp(SendToOp&& o) noexcept : IoOpBase(), fd_(o.fd_), data_(o.data_), to_(o.to_) {}
  SendToOp& operator=(SendToOp&&) = delete;

  bool await_ready() const noexcept { return false; }
  template <class P>
  void await_suspend(std::coroutine_handle<P> h) {
    auto prep = [this](io_uring_sqe* sqe) {
      iov_ = {const_cast<std::byte*>(data_.data()), data_.size()};
      msg_ = {};
      msg_.msg_name = const_cast<sockaddr*>(to_.sockaddr_ptr());
      msg_.msg_namelen = to_.sockaddr_len();
      msg_.msg_iov = &iov_;
      msg_.msg_iovlen = 1;
      io_uring_prep_sendmsg(sqe, fd_, &msg_, MSG_NOSIGNAL);
    };
    start(h, prep);
  }
  Result<std::size_t> await_resume() const noexcept { return map_size(res_, flags_); }

 private:
  int fd_;
  std::span<const std::byte> data_;
  Address to_;
  iovec iov_{};
  msghdr msg_{};
};

/// co_await sock.recv_from(buf) -> Result<Datagram>.
class [[nodiscard]] RecvFromOp : kio::detail::IoOpBase {
 public:
  RecvFromOp(int fd, std::span<std::byte> buf) noexcept : fd_(fd), buf_(buf) {}
  /// Moving is allowed only before the operation is awaited.
  RecvFromOp(RecvFromOp&& o) noexcept : IoOpBase(), fd_(o.fd_), buf_(o.buf_) {}
  RecvFromOp& operator=(RecvFromOp&&) = delete;

  bool await_ready() const noexcept { return false; }
  template <class P>
  void await_suspend(std::coroutine_handle<P> h) {
    auto prep = [this](io_uring_sqe* sqe) {
      iov_ = {buf_.data(), buf_.size()};
      msg_ = {};
      msg_.msg_name = &from_;
      msg_.msg_namelen = sizeof from_;
      msg_.msg_iov = &iov_;
      msg_.msg_iovlen = 1;
      // MSG_TRUNC: the result is the datagram's real length, so truncation is visible.
      io_uring_prep_recvmsg(sqe, fd_, &msg_, MSG_TRUNC);
    };
    start(h, prep);
  }
  Result<Datagram> await_resume() const noexcept;

 private:
  int fd_;
  std::span<std::byte> buf_;
  iovec iov_{};
  msghdr msg_{};
  sockaddr_storage from_{};
};

class UdpSocket {
 public:
  UdpSocket() noexcept = default;
  UdpSocket(UdpSocket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UdpSocket& operator=(UdpSocket&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  ~UdpSocket() { reset(); }

  /// A socket bound to `addr` (port 0: the kernel picks one).
  static Result<UdpSocket> bind(const Address& addr, const UdpOptions& opts = {});
  /// An unbound socket of `family` (AF_INET or AF_INET6); the kernel binds it on first send.
  static Result<UdpSocket> open(int family);

  bool is_open() const noexcept { return fd_ >= 0; }
  int fd() const noexcept { return fd_; }

  /// Sets the default peer: send/recv use it, and datagrams from elsewhere are dropped.
  Result<void> connect(const Address& peer) noexcept;

  SendToOp send_to(std::span<const std::byte> data, const Address& to) const noexcept {
    return SendToOp(fd_, data, to);
  }
  RecvFromOp recv_from(std::span<std::byte> buf) const noexcept { return RecvFromOp(fd_, buf); }

  /// Connected sockets: one datagram to / from the peer.
  auto send(std::span<const std::byte> data) const noexcept {
    const int fd = fd_;
    return make_io_op(
        [fd, data](io_uring_sqe* sqe) {
          io_uring_prep_send(sqe, fd, data.data(), kio::detail::io_length(data.size()),
                             MSG_NOSIGNAL);
        },
        map_size);
  }
  auto recv(std::span<std::byte> buf) const noexcept {
    const int fd = fd_;
    return make_io_op(
        [fd, buf](io_uring_sqe* sqe) {
          io_uring_prep_recv(sqe, fd, buf.data(), kio::detail::io_length(buf.size()), 0);
        },
        map_size);
  }

  Result<Address> local_address() const noexcept;
  /// Closes with IORING_OP_CLOSE; the socket is empty afterwards.
  Task<Result<void>> close();

 private:
  explicit UdpSocket(int fd) noexcept : fd_(fd) {}
  void reset() noexcept;
  static Task<Result<void>> close_impl(UdpSocket self);
  int fd_ = -1;
};

}  // namespace kio::net
