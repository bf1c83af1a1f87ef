// kio::net zero-copy send (IORING_OP_SEND_ZC) and the size above which TcpStream::send_all uses it.
//
//   auto r = co_await stream.send_zc(big);   // Result<std::size_t>; `big` is free to reuse after
//
// What: the kernel sends straight from the caller's pages instead of copying them into socket
// buffers. It posts two CQEs on the same user_data: the send result (with IORING_CQE_F_MORE) and
// later a notification (IORING_CQE_F_NOTIF) once it no longer references the pages. The awaiter
// resumes only after the notification, so the buffer only has to outlive the co_await, as with
// any other send. With MSG_WAITALL (the default) the kernel retries partial sends itself.
// `copied()` tells whether the kernel fell back to copying (detail::send_zc_report_usage); it
// always does for loopback and same-host peers.
// Runs on / resumes on: the calling core.
// Cancellation: ambient token. Before the send completed, ASYNC_CANCEL. A notification can be
// held back indefinitely while the data waits in the socket (a peer that stops reading), so when
// the send already completed — or completes after the cancel — the connection is aborted
// (connect(AF_UNSPEC): the kernel drops the queued data, sends RST, and releases the pages). A
// cancelled zero-copy send therefore ends the connection; its result is operation_canceled, or
// the byte count that went out before the cancel took effect.
// Lifetime: `data` must stay valid until the co_await returns; the Completion lives in the
// awaiter until the final CQE (the destructor cancels and waits as a last resort).
// Errors: the send's errno (broken_pipe, connection_reset, ...).
//
// Threshold: `default_zerocopy_threshold` — see the measurement note below; per stream with
// TcpStream::set_zerocopy_threshold. TcpStream::send_all never uses zero copy towards a peer on
// this host (loopback or one of our own addresses): the kernel copies there anyway and the
// zero-copy bookkeeping only adds cost.
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <span>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/result.hpp"
#include "kio/core/task.hpp"
#include "kio/io/op.hpp"

namespace kio::net {

/// Smallest send_all payload sent with IORING_OP_SEND_ZC (to peers that are not on this host).
/// Measurement (benchmarks/echo/zerocopy_threshold.cpp): see its header and the value below.
inline constexpr std::size_t default_zerocopy_threshold = std::size_t{64} * 1024;

namespace detail {
// From Linux 6.2's uapi (liburing 2.3's headers predate them).
inline constexpr unsigned send_zc_report_usage = 1u << 3;    // IORING_SEND_ZC_REPORT_USAGE
inline constexpr unsigned notif_usage_zc_copied = 1u << 31;  // IORING_NOTIF_USAGE_ZC_COPIED
/// Aborts a TCP connection (RST, drops queued data); used to release pinned zero-copy pages.
void abort_connection(int fd) noexcept;
}  // namespace detail

/// Zero-copy sends TcpStream::send_all made on the calling core, and how many of them the kernel
/// reported as copied (IORING_NOTIF_USAGE_ZC_COPIED: loopback, or a NIC without support).
struct ZeroCopyStats {
  std::uint64_t sends = 0;
  std::uint64_t copied = 0;
};
ZeroCopyStats zerocopy_stats() noexcept;

class [[nodiscard]] SendZcOp : kio::detail::Completion {
 public:
  SendZcOp(int fd, std::span<const std::byte> data, int msg_flags = MSG_NOSIGNAL | MSG_WAITALL)
      : fd_(fd), data_(data), msg_flags_(msg_flags) {
    on_cqe = &SendZcOp::complete;
  }
  /// Moving is allowed only before the operation is awaited.
  SendZcOp(SendZcOp&& o) noexcept : SendZcOp(o.fd_, o.data_, o.msg_flags_) {}
  SendZcOp& operator=(SendZcOp&&) = delete;
  ~SendZcOp() {
    if (in_flight_) [[unlikely]] {
      abandoned_ = true;
      if (!sent_) ex_->cancel(this);
      detail::abort_connection(fd_);
      ex_->cancel_and_wait(this, in_flight_);
    }
  }

  bool await_ready() const noexcept { return false; }
  template <class P>
  void await_suspend(std::coroutine_handle<P> h) {
    ex_ = &kio::detail::this_executor("kio::net::send_zc");
    waiter_ = h;
    if (!reg_.arm(kio::detail::token_of(h), &on_cancel, this)) {
      res_ = -ECANCELED;
      ex_->schedule(h);
      return;
    }
    io_uring_sqe* sqe = ex_->prepare(this);
    io_uring_prep_send_zc(sqe, fd_, data_.data(), kio::detail::io_length(data_.size()), msg_flags_,
                          detail::send_zc_report_usage);
    in_flight_ = true;
  }
  Result<std::size_t> await_resume() const noexcept {
    if (res_ < 0) return errno_code(res_);
    return static_cast<std::size_t>(res_);
  }
  /// After completion: the kernel copied the data instead of sending from the caller's pages.
  bool copied() const noexcept { return copied_; }

 private:
  static void complete(kio::detail::Completion* c, int res, unsigned flags) noexcept {
    auto* self = static_cast<SendZcOp*>(c);
    if (flags & IORING_CQE_F_NOTIF) {
      if (static_cast<unsigned>(res) & detail::notif_usage_zc_copied) self->copied_ = true;
    } else {
      self->res_ = res;
      self->sent_ = true;
      if ((flags & IORING_CQE_F_MORE) && self->cancel_requested_)
        detail::abort_connection(self->fd_);
    }
    if (!(flags & IORING_CQE_F_MORE)) {
      self->in_flight_ = false;
      self->reg_.disarm();
      if (!self->abandoned_) self->ex_->schedule(self->waiter_);
    }
  }
  static void on_cancel(void* p) noexcept {
    auto* self = static_cast<SendZcOp*>(p);
    self->cancel_requested_ = true;
    if (self->sent_)
      detail::abort_connection(self->fd_);
    else
      self->ex_->cancel(self);
  }

  int fd_;
  std::span<const std::byte> data_;
  int msg_flags_;
  kio::detail::Executor* ex_ = nullptr;
  std::coroutine_handle<> waiter_;
  CancelRegistration reg_;
  int res_ = 0;
  bool in_flight_ = false;
  bool sent_ = false;
  bool copied_ = false;
  bool cancel_requested_ = false;
  bool abandoned_ = false;
};

}  // namespace kio::net
