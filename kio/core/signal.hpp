// kio::signal / kio::ctrl_c — wait for a Unix signal, to write your own graceful shutdown.
//
//   kio::Task<void> serve_until_ctrl_c(kio::http::Server& server) {
//     kio::spawn(wait_and_stop(server));      // or await it beside run() with when_all
//     ...
//   }
//   kio::Task<void> wait_and_stop(kio::http::Server& server) {
//     kio::Result<int> sig = co_await kio::signal(SIGINT, SIGTERM);
//     if (sig) server.stop();                 // run() returns once every core is done
//   }
//
// Delivery: a signal goes to every task waiting for it at that moment (each gets its number). One
// that arrives while nobody waits is kept (once) for the next waiter — except SIGINT/SIGTERM with
// RuntimeOptions::stop_on_signals, which then stop the runtime as usual. So while a task awaits
// ctrl_c() the program decides what Ctrl-C does; when it does not, the runtime's default applies.
// The first kio::signal() for a signal installs kio's handler for it, which stays until the
// runtime is destroyed (the previous disposition is then restored). Signal masks are not changed.
// Runs on / resumes on: the awaiting core; the wait costs no thread of its own (one process-wide
// thread reads the signal pipe and wakes the waiters' cores).
// Cancellation: the wait observes the ambient token; cancelled, it returns operation_canceled and
// the signal, if one comes later, is not consumed.
// Lifetime: the awaiter lives in the awaiting frame; it unlinks itself when cancelled or destroyed.
// Errors: invalid_argument for a signal that cannot be caught (SIGKILL, SIGSTOP, out of range);
// the errno of a failed sigaction.
#pragma once

#include <signal.h>

#include <coroutine>
#include <cstdint>
#include <system_error>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/signal_hub.hpp"
#include "kio/core/result.hpp"
#include "kio/core/task.hpp"

namespace kio {

class [[nodiscard]] SignalAwaiter : detail::SignalWaiter {
 public:
  explicit SignalAwaiter(std::uint64_t signals) noexcept { mask = signals; }
  /// Only before it is awaited (kio::timeout and with_cancel move it into their task).
  SignalAwaiter(SignalAwaiter&& o) noexcept : SignalAwaiter(o.mask) {}
  SignalAwaiter(const SignalAwaiter&) = delete;
  SignalAwaiter& operator=(const SignalAwaiter&) = delete;
  ~SignalAwaiter() {
    if (waited_) detail::SignalHub::get().unlink(this);  // destroyed while waiting (teardown)
  }

  bool await_ready() noexcept {
    ex = &detail::this_executor("kio::signal");
    error_ = detail::SignalHub::get().watch(&ex->runtime(), mask);
    return static_cast<bool>(error_);
  }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    if (!reg_.arm(detail::token_of(h), &on_cancel, this)) return false;  // already cancelled
    waiter = h;
    run = &on_delivered;
    if (detail::SignalHub::get().wait_or_take(this)) return false;  // one was pending
    waited_ = true;
    return true;
  }
  Result<int> await_resume() noexcept {
    reg_.disarm();
    if (error_) return error_;
    if (delivered != 0) return delivered;
    return std::errc::operation_canceled;
  }

 private:
  static void on_cancel(void* self) noexcept {
    auto* s = static_cast<SignalAwaiter*>(self);
    if (detail::SignalHub::get().unlink(s)) s->ex->schedule(s->waiter);
    // else: a delivery already took it; on_delivered resumes it
  }
  static void on_delivered(detail::Injected* n, bool stopped) noexcept {
    auto* s = static_cast<SignalAwaiter*>(static_cast<detail::SignalWaiter*>(n));
    if (!stopped) s->ex->schedule(s->waiter);
  }

  CancelRegistration reg_;
  std::error_code error_;
  bool waited_ = false;
};

/// Waits for one of the given signals; yields its number.
template <class... More>
  requires(std::is_convertible_v<More, int> && ...)
SignalAwaiter signal(int sig, More... more) {
  std::uint64_t mask = 0;
  bool valid = true;
  for (int s : {sig, static_cast<int>(more)...}) {
    if (s <= 0 || s > detail::max_signal)
      valid = false;
    else
      mask |= detail::signal_bit(s);
  }
  return SignalAwaiter(valid ? mask : 0);  // 0: await_ready reports invalid_argument
}

/// Waits for SIGINT (Ctrl-C).
inline SignalAwaiter ctrl_c() {
  return signal(SIGINT);
}

}  // namespace kio
