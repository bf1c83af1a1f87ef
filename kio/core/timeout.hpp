// kio::timeout — bound how long an awaitable may take.
//
//   auto r = co_await kio::timeout(500ms, kio::read(fd, buf));
//   if (!r && r.error() == std::errc::timed_out) { ... }
//
// Returns a Result: for an awaitable producing Result<U> the result is Result<U> (not nested),
// for void it is Result<void>, otherwise Result<T>. When the deadline passes first, the operation
// is cancelled through its ambient token and timeout() returns only after it has finished; the
// result is then std::errc::timed_out, unless the operation still produced a value (an I/O that
// completed while being cancelled): a value is never dropped.
// Runs on / resumes on: the calling core.
// Cancellation: cancelling the caller cancels the operation too; the result is then
// operation_canceled, not timed_out.
// Lifetime: the operation runs in a child task owned by timeout(); buffers it uses must outlive
// the co_await, as for the operation itself.
// Errors: exceptions from the operation propagate, except a std::system_error carrying
// operation_canceled raised because of the timeout, which becomes timed_out.
#pragma once

#include <chrono>
#include <system_error>
#include <type_traits>
#include <utility>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/await_traits.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/result.hpp"
#include "kio/core/task.hpp"
#include "kio/core/with_cancel.hpp"

namespace kio {

namespace detail {

/// Cancels a source when its deadline passes.
class DeadlineTimer : TimerNode {
 public:
  DeadlineTimer(Executor& ex, Clock::time_point when, CancelSource& src) : ex_(ex), src_(src) {
    deadline = when;
    fire = &on_fire;
    ex_.add_timer(this);
  }
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;
  ~DeadlineTimer() { ex_.remove_timer(this); }
  bool fired() const noexcept { return fired_; }

 private:
  static void on_fire(TimerNode* n) noexcept {
    auto* self = static_cast<DeadlineTimer*>(n);
    self->fired_ = true;
    self->src_.request_cancel();
  }
  Executor& ex_;
  CancelSource& src_;
  bool fired_ = false;
};

inline bool is_cancel(std::error_code ec) noexcept {
  return ec == std::errc::operation_canceled;
}

template <class R, class Aw>
Task<R> timeout_impl(Clock::duration d, Aw aw) {
  CancelSource src(co_await this_cancel_token());
  DeadlineTimer timer(this_executor("kio::timeout"), Clock::now() + d, src);
  using T = await_result_t<Aw>;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await with_cancel(src.token(), std::move(aw));
      if (timer.fired()) co_return std::errc::timed_out;
      co_return R{};
    } else if constexpr (is_result_v<T>) {
      T r = co_await with_cancel(src.token(), std::move(aw));
      if (!r && timer.fired() && is_cancel(r.error())) co_return std::errc::timed_out;
      co_return r;
    } else {
      co_return R(co_await with_cancel(src.token(), std::move(aw)));
    }
  } catch (const std::system_error& e) {
    if (!timer.fired() || !is_cancel(e.code())) throw;
  }
  co_return std::errc::timed_out;
}

}  // namespace detail

template <class Rep, class Period, class Aw>
auto timeout(std::chrono::duration<Rep, Period> d, Aw&& aw)
    -> Task<flat_result_t<std::conditional_t<std::is_void_v<detail::await_result_t<Aw>>,
                                             Result<void>, detail::await_result_t<Aw>>>> {
  using T = detail::await_result_t<Aw>;
  using R = flat_result_t<std::conditional_t<std::is_void_v<T>, Result<void>, T>>;
  return detail::timeout_impl<R, std::remove_cvref_t<Aw>>(
      std::chrono::duration_cast<detail::Clock::duration>(d), std::forward<Aw>(aw));
}

}  // namespace kio
