// kio::interval — a periodic timer that does not drift, with a policy for missed ticks.
//
//   kio::Task<void> report_stats() {
//     auto every = kio::interval(std::chrono::seconds(1), kio::MissedTick::skip);
//     for (;;) {
//       auto t = co_await every.tick();  // the first tick is at once, then every second
//       if (!t) co_return;               // cancelled (runtime stopping, kio::timeout, ...)
//       print_stats();                   // may take a while: the schedule does not move
//     }
//   }
//
// What: tick k is due at start + k * period (steady_clock), however long the work between
// ticks takes, unlike `for (;;) co_await sleep_for(period)`, which adds the work's time (and the
// wake-up latency) to every period. tick() returns at once when the tick is already due and
// otherwise sleeps until it is; its value is the time the tick was scheduled for.
// Missed ticks: a tick is missed when the one after it is due too by the time tick() takes it
// (the work took longer than a period). Then, like Tokio's MissedTickBehavior:
//   * MissedTick::burst (default): the missed ticks follow at once, one per tick() call, until
//     the schedule is caught up; the schedule never moves (as many ticks as periods elapsed).
//   * MissedTick::delay: the next tick is one period after the late one was taken; the schedule
//     moves later (ticks are always at least a period apart).
//   * MissedTick::skip: the missed ticks are dropped; the next tick is the first one of the
//     original schedule still in the future.
// A tick that is merely late (the next one is not due yet) never triggers the policy, so
// scheduler jitter does not shift a delay schedule.
// Runs on / resumes on: the calling core; the sleep is a node on that core's timer heap (no
// allocation, no system call).
// Cancellation: a tick() that has to wait observes the ambient token and then returns
// operation_canceled; the tick is not consumed, so the next tick() returns it (kio::timeout
// around tick() loses no tick). A tick that is already due is returned even if the token is
// cancelled.
// Lifetime: Interval is a plain value owned by one core. The awaiter refers to its Interval, so
// the Interval must outlive the co_await; move an Interval only while no tick() is pending. A
// pending tick's timer node lives in the awaiting frame and is unlinked when the awaiter goes
// away (fired, cancelled, or cleared by a stopping runtime).
// Errors: tick() -> Result<steady_clock::time_point>; the only error is operation_canceled.
// interval() throws std::invalid_argument for a period that is not positive.
#pragma once

#include <chrono>
#include <coroutine>
#include <stdexcept>
#include <system_error>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/result.hpp"
#include "kio/core/task.hpp"

namespace kio {

/// What an Interval does with ticks it could not deliver on time (see above).
enum class MissedTick : unsigned char { burst, delay, skip };

class Interval;

/// co_await interval.tick() -> Result<steady_clock::time_point> (the tick's scheduled time).
class [[nodiscard]] TickAwaiter : detail::TimerNode {
 public:
  explicit TickAwaiter(Interval& iv) noexcept : iv_(iv) {}
  /// Moving is allowed only before the awaiter is awaited.
  TickAwaiter(TickAwaiter&& o) noexcept : iv_(o.iv_) {}
  TickAwaiter& operator=(TickAwaiter&&) = delete;
  ~TickAwaiter() {
    if (queued()) ex_->remove_timer(this);
  }

  bool await_ready() const noexcept;
  template <class P>
  void await_suspend(std::coroutine_handle<P> h) {
    ex_ = &detail::this_executor("kio::Interval::tick");
    waiter_ = h;
    if (!reg_.arm(detail::token_of(h), &on_cancel, this)) {
      ec_ = std::make_error_code(std::errc::operation_canceled);
      ex_->schedule(h);
      return;
    }
    arm_timer();
  }
  Result<std::chrono::steady_clock::time_point> await_resume() noexcept;

 private:
  void arm_timer();
  static void on_fire(detail::TimerNode* n) noexcept {
    auto* self = static_cast<TickAwaiter*>(n);
    self->reg_.disarm();
    self->ex_->schedule(self->waiter_);
  }
  static void on_cancel(void* p) noexcept {
    auto* self = static_cast<TickAwaiter*>(p);
    self->ex_->remove_timer(self);
    self->ec_ = std::make_error_code(std::errc::operation_canceled);
    self->ex_->schedule(self->waiter_);
  }

  Interval& iv_;
  detail::Executor* ex_ = nullptr;
  std::coroutine_handle<> waiter_;
  CancelRegistration reg_;
  std::error_code ec_;
};

class Interval {
 public:
  using clock = std::chrono::steady_clock;

  /// First tick at `start`, then every `period`. Throws std::invalid_argument if period <= 0.
  Interval(clock::time_point start, clock::duration period, MissedTick missed = MissedTick::burst)
      : next_(start), period_(period), missed_(missed) {
    if (period <= clock::duration::zero())
      throw std::invalid_argument("kio::interval: the period must be positive");
  }

  /// Waits for the next tick (see the header comment).
  TickAwaiter tick() noexcept { return TickAwaiter(*this); }

  /// The scheduled time of the next tick.
  clock::time_point next_tick() const noexcept { return next_; }
  clock::duration period() const noexcept { return period_; }
  MissedTick missed_tick() const noexcept { return missed_; }
  void set_missed_tick(MissedTick m) noexcept { missed_ = m; }
  /// Restarts the schedule: the next tick is one period from now.
  void reset() noexcept { next_ = clock::now() + period_; }

  /// Takes the due tick at time `now`: returns its scheduled time and advances the schedule
  /// (applying the missed-tick policy). Used by TickAwaiter; public for tests of the policy.
  clock::time_point take(clock::time_point now) noexcept {
    const clock::time_point due = next_;
    next_ += period_;
    if (now >= next_) {  // the following tick is due as well: at least one was missed
      switch (missed_) {
        case MissedTick::burst:
          break;
        case MissedTick::delay:
          next_ = now + period_;
          break;
        case MissedTick::skip:
          next_ += period_ * ((now - next_) / period_ + 1);
          break;
      }
    }
    return due;
  }

 private:
  clock::time_point next_;
  clock::duration period_;
  MissedTick missed_;
};

inline bool TickAwaiter::await_ready() const noexcept {
  return iv_.next_tick() <= detail::Clock::now();
}

inline void TickAwaiter::arm_timer() {
  deadline = iv_.next_tick();
  fire = &on_fire;
  ex_->add_timer(this);
}

inline Result<std::chrono::steady_clock::time_point> TickAwaiter::await_resume() noexcept {
  if (ec_) return ec_;
  return iv_.take(detail::Clock::now());
}

/// An Interval whose first tick is due at once, then one every `period`.
template <class Rep, class Period>
Interval interval(std::chrono::duration<Rep, Period> period,
                  MissedTick missed = MissedTick::burst) {
  return Interval(std::chrono::steady_clock::now(),
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(period), missed);
}

/// An Interval whose first tick is due at `start`, then one every `period`.
template <class Rep, class Period>
Interval interval_at(std::chrono::steady_clock::time_point start,
                     std::chrono::duration<Rep, Period> period,
                     MissedTick missed = MissedTick::burst) {
  return Interval(start, std::chrono::duration_cast<std::chrono::steady_clock::duration>(period),
                  missed);
}

}  // namespace kio
