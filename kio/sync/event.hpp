// kio::Event — a flag that tasks on one core can wait for.
//
//   kio::Event ready;                                  // manual-reset, initially clear
//   kio::spawn(producer(ready));                       // ... calls ready.set()
//   if (auto r = co_await ready.wait(); !r) co_return; // cancelled
//
// Modes:
//   * EventMode::manual_reset (default): set() wakes every waiter and the event stays set until
//     reset(); waits on a set event complete at once.
//   * EventMode::auto_reset: set() wakes exactly one waiter (FIFO); with no waiter the event
//     stays set until one wait consumes it. Several set() calls without a waiter in between count
//     once.
// Runs on / resumes on: the calling core. Woken waiters are pushed on the core's ready queue in
// FIFO order; set() never resumes a waiter inline.
// Cancellation: a wait that has to suspend observes the waiter's ambient token; when it is
// cancelled the waiter leaves the queue and wait() returns std::errc::operation_canceled. A wait
// on an event that is already set succeeds even if the token is cancelled (nothing to wait for).
// A waiter that was woken by set() before the cancellation keeps its success.
// Lifetime: the waiter node lives in the awaiting frame; no allocation per wait. The event must
// outlive its waits; destroying it with waiters queued wakes them with std::errc::broken_pipe.
// Threading: per-core, NOT thread-safe. Use one Event from one core only.
// Errors: Result<void>; operation_canceled or broken_pipe.
#pragma once

#include <coroutine>
#include <cstddef>

#include "kio/core/result.hpp"
#include "kio/sync/detail/wait_list.hpp"

namespace kio {

enum class EventMode : unsigned char { manual_reset, auto_reset };

class Event {
 public:
  explicit Event(EventMode mode = EventMode::manual_reset, bool initially_set = false) noexcept
      : mode_(mode), set_(initially_set) {}
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event() = default;  // waiters_ wakes leftover waiters with broken_pipe

  class [[nodiscard]] WaitAwaiter : detail::SyncWaiter {
   public:
    explicit WaitAwaiter(Event& ev) noexcept : ev_(&ev) {}
    WaitAwaiter(WaitAwaiter&&) noexcept = default;

    bool await_ready() noexcept { return ev_->try_consume(); }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      return enqueue(h, ev_->waiters_);
    }
    Result<void> await_resume() const noexcept { return ec; }

   private:
    Event* ev_;
  };

  /// Waits until the event is set (consuming it in auto-reset mode).
  WaitAwaiter wait() noexcept { return WaitAwaiter(*this); }

  /// Sets the event: wakes all waiters (manual-reset) or one waiter (auto-reset).
  void set() {
    if (mode_ == EventMode::manual_reset) {
      set_ = true;
      waiters_.wake_all();
    } else if (!waiters_.empty()) {
      waiters_.wake(waiters_.front());  // handed over: the event stays clear
    } else {
      set_ = true;
    }
  }

  /// Clears the event. Waiters already woken keep their success.
  void reset() noexcept { set_ = false; }

  bool is_set() const noexcept { return set_; }
  EventMode mode() const noexcept { return mode_; }
  /// Number of tasks currently suspended in wait().
  std::size_t waiters() const noexcept { return waiters_.size(); }

 private:
  bool try_consume() noexcept {
    if (!set_) return false;
    if (mode_ == EventMode::auto_reset) set_ = false;
    return true;
  }

  detail::WaitList waiters_;
  EventMode mode_;
  bool set_;
};

}  // namespace kio
