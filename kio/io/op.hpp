// kio::IoOp — the awaitable behind every single-shot io_uring operation.
//
// `IoOp<Prep, Map>` prepares one SQE with `Prep` (a callable taking io_uring_sqe*) when awaited,
// suspends, and resumes with `Map(res, cqe_flags)` once the operation's CQE arrives. kio's
// read/write/nop/... are thin functions returning IoOps; extend kio with your own opcodes the
// same way:
//
//   auto fsync(int fd) {
//     return kio::make_io_op([fd](io_uring_sqe* s) { io_uring_prep_fsync(s, fd, 0); },
//                            kio::map_status);
//   }
//
// Runs on / resumes on: the calling core (its ring); the waiter is resumed from the ready queue.
// Cancellation: when the ambient token is cancelled, an IORING_OP_ASYNC_CANCEL is issued; the
// waiter resumes only after the kernel's CQE for the operation arrived (normally -ECANCELED, or
// the real result when the operation won the race: data is never dropped).
// Lifetime: the operation's state lives in the awaiter, in the awaiting frame; everything the SQE
// points at (buffers, iovecs, addresses) must stay valid until the co_await returns. A frame
// suspended here is destroyed only by a stopping runtime after the CQE arrived; as a last resort
// the destructor cancels and waits for the CQE.
// Errors: Map turns a negative res into a std::error_code.
#pragma once

#include <liburing.h>

#include <coroutine>
#include <cstddef>
#include <utility>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/result.hpp"
#include "kio/core/task.hpp"

namespace kio {

namespace detail {

/// The most one read/write/send/recv moves (Linux's MAX_RW_COUNT). An SQE's length is 32 bits:
/// longer spans are clamped to this, so the operation completes short (callers that loop, like
/// send_all, go on from there) instead of having its length silently wrapped (4 GiB became 0).
inline constexpr std::size_t max_io_length = 0x7ffff000;
constexpr unsigned io_length(std::size_t n) noexcept {
  return static_cast<unsigned>(n < max_io_length ? n : max_io_length);
}

class IoOpBase : public Completion {
 public:
  IoOpBase() noexcept { on_cqe = &IoOpBase::complete; }
  /// Moving is allowed only before the operation is awaited.
  IoOpBase(IoOpBase&&) noexcept : IoOpBase() {}
  IoOpBase& operator=(IoOpBase&&) = delete;
  ~IoOpBase() {
    if (in_flight_) [[unlikely]] {
      abandoned_ = true;
      ex_->cancel_and_wait(this, in_flight_);
    }
  }

 protected:
  template <class P, class Prep>
  void start(std::coroutine_handle<P> h, Prep& prep) {
    ex_ = &this_executor("kio I/O operation");
    waiter_ = h;
    if (!reg_.arm(token_of(h), &on_cancel, this)) {
      res_ = -ECANCELED;
      ex_->schedule(h);
      return;
    }
    prep(ex_->prepare(this));
    in_flight_ = true;
  }
  int res_ = 0;
  unsigned flags_ = 0;

 private:
  static void complete(Completion* c, int res, unsigned flags) noexcept {
    auto* self = static_cast<IoOpBase*>(c);
    self->in_flight_ = false;
    self->res_ = res;
    self->flags_ = flags;
    self->reg_.disarm();
    if (!self->abandoned_) self->ex_->schedule(self->waiter_);
  }
  static void on_cancel(void* p) noexcept {
    auto* self = static_cast<IoOpBase*>(p);
    self->ex_->cancel(self);
  }

  Executor* ex_ = nullptr;
  std::coroutine_handle<> waiter_;
  CancelRegistration reg_;
  bool in_flight_ = false;
  bool abandoned_ = false;
};

}  // namespace detail

template <class Prep, class Map>
class [[nodiscard]] IoOp : detail::IoOpBase {
 public:
  IoOp(Prep prep, Map map) : prep_(std::move(prep)), map_(std::move(map)) {}
  IoOp(IoOp&& o) noexcept = default;

  bool await_ready() const noexcept { return false; }
  template <class P>
  void await_suspend(std::coroutine_handle<P> h) {
    start(h, prep_);
  }
  decltype(auto) await_resume() { return map_(res_, flags_); }

 private:
  Prep prep_;
  Map map_;
};

template <class Prep, class Map>
IoOp<Prep, Map> make_io_op(Prep prep, Map map) {
  return IoOp<Prep, Map>(std::move(prep), std::move(map));
}

/// res >= 0 is a byte count.
inline Result<std::size_t> map_size(int res, unsigned) noexcept {
  if (res < 0) return errno_code(res);
  return static_cast<std::size_t>(res);
}
/// res >= 0 is success without a value.
inline Result<void> map_status(int res, unsigned) noexcept {
  if (res < 0) return errno_code(res);
  return {};
}
/// res >= 0 is a file descriptor or other integer.
inline Result<int> map_int(int res, unsigned) noexcept {
  if (res < 0) return errno_code(res);
  return res;
}

}  // namespace kio
