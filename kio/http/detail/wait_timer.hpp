// WaitTimer — the deadline of a connection's current wait, with lazy re-arming.
//
// A connection waits (receive, send) many times per second, each time with a deadline seconds
// away. Instead of inserting and removing a timer per wait, the heap entry stays queued at its
// first deadline: arm() only records the new deadline and cancel source (and moves the entry
// only when the new deadline is earlier). When the entry fires it checks the recorded deadline:
// passed -> mark expired and cancel the wait; later -> re-queue there; no wait -> drop out until
// the next arm(). In steady keep-alive traffic that is a couple of heap operations per timeout
// period per connection, not two per request.
// Runs on: one core (the connection's); `fire` runs in the executor's timer pass, and only
// requests a cancellation (whose callbacks schedule, never resume).
// Lifetime: must be destroyed on its core; the destructor unqueues the entry. The CancelSource
// given to arm() must outlive the wait (until disarm()).
#pragma once

#include <utility>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/detail/timer_heap.hpp"

namespace kio::http::detail {

class WaitTimer : kio::detail::TimerNode {
 public:
  using Clock = kio::detail::Clock;

  WaitTimer() noexcept { fire = &on_fire; }
  WaitTimer(const WaitTimer&) = delete;
  WaitTimer& operator=(const WaitTimer&) = delete;
  ~WaitTimer() {
    if (queued()) ex_->remove_timer(this);
  }

  /// The wait starting now ends, by cancelling `src`, at `when` unless disarmed first.
  void arm(Clock::time_point when, CancelSource& src) {
    if (!ex_) ex_ = &kio::detail::this_executor("kio::http connection timer");
    when_ = when;
    src_ = &src;
    expired_ = false;
    if (!queued()) {
      deadline = when;
      ex_->add_timer(this);
    } else if (when < deadline) {
      ex_->remove_timer(this);
      deadline = when;
      ex_->add_timer(this);
    }
  }
  /// The wait ended by itself.
  void disarm() noexcept { src_ = nullptr; }
  /// The last wait was ended by its deadline.
  bool expired() const noexcept { return expired_; }

 private:
  static void on_fire(kio::detail::TimerNode* n) noexcept {
    auto* self = static_cast<WaitTimer*>(n);
    if (!self->src_) return;              // no wait in progress
    if (self->when_ <= self->deadline) {  // the deadline of the current wait has passed
      self->expired_ = true;
      std::exchange(self->src_, nullptr)->request_cancel();
    } else {  // the wait was re-armed further out: follow it
      self->deadline = self->when_;
      self->ex_->add_timer(self);
    }
  }

  kio::detail::Executor* ex_ = nullptr;
  CancelSource* src_ = nullptr;
  Clock::time_point when_{};
  bool expired_ = false;
};

}  // namespace kio::http::detail
