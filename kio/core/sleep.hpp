// kio::sleep_for / kio::sleep_until — suspend the calling task until a time.
//
//   co_await kio::sleep_for(10ms);
//   if (auto r = co_await kio::sleep_until(deadline); !r) co_return;  // cancelled
//
// Runs on / resumes on: the calling core. The timer lives in the core's timer heap; the worker
// waits on its ring no longer than the earliest deadline. Resumes no earlier than the deadline
// (std::chrono::steady_clock). A deadline in the past still yields once.
// Cancellation: when the ambient token is cancelled the timer is removed and the task resumes
// with std::errc::operation_canceled.
// Lifetime: the timer node lives in the awaiter, in the awaiting frame; it is unlinked before the
// awaiter goes away (fired, cancelled, or cleared by a stopping runtime).
// Errors: Result<void>; the only error is operation_canceled.
#pragma once

#include <chrono>
#include <coroutine>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/result.hpp"
#include "kio/core/task.hpp"

namespace kio {

class [[nodiscard]] SleepAwaiter : detail::TimerNode {
 public:
  explicit SleepAwaiter(detail::Clock::time_point when) noexcept { deadline = when; }
  /// Moving is allowed only before the awaiter is awaited (e.g. into kio::timeout).
  SleepAwaiter(SleepAwaiter&& o) noexcept { deadline = o.deadline; }
  SleepAwaiter& operator=(SleepAwaiter&&) = delete;
  ~SleepAwaiter() {
    if (queued()) ex_->remove_timer(this);
  }

  bool await_ready() const noexcept { return false; }
  template <class P>
  void await_suspend(std::coroutine_handle<P> h) {
    ex_ = &detail::this_executor("kio::sleep");
    waiter_ = h;
    if (!reg_.arm(detail::token_of(h), &on_cancel, this)) {
      ec_ = std::make_error_code(std::errc::operation_canceled);
      ex_->schedule(h);
      return;
    }
    fire = &on_fire;
    ex_->add_timer(this);
  }
  Result<void> await_resume() const noexcept { return ec_; }

 private:
  static void on_fire(detail::TimerNode* n) noexcept {
    auto* self = static_cast<SleepAwaiter*>(n);
    self->reg_.disarm();
    self->ex_->schedule(self->waiter_);
  }
  static void on_cancel(void* p) noexcept {
    auto* self = static_cast<SleepAwaiter*>(p);
    self->ex_->remove_timer(self);
    self->ec_ = std::make_error_code(std::errc::operation_canceled);
    self->ex_->schedule(self->waiter_);
  }

  detail::Executor* ex_ = nullptr;
  std::coroutine_handle<> waiter_;
  CancelRegistration reg_;
  std::error_code ec_ = detail::no_error;
};

template <class Clock, class Duration>
  requires std::is_same_v<Clock, std::chrono::steady_clock>
SleepAwaiter sleep_until(std::chrono::time_point<Clock, Duration> when) noexcept {
  return SleepAwaiter(std::chrono::time_point_cast<detail::Clock::duration>(when));
}

template <class Rep, class Period>
SleepAwaiter sleep_for(std::chrono::duration<Rep, Period> d) noexcept {
  return SleepAwaiter(detail::Clock::now() +
                      std::chrono::duration_cast<detail::Clock::duration>(d));
}

}  // namespace kio
