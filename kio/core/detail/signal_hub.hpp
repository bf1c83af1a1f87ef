// SignalHub — the process's one owner of the signals kio handles (SIGINT/SIGTERM for
// RuntimeOptions::stop_on_signals, and whatever kio::signal() awaits).
//
// Design note
// -----------
// * Signals are process-wide, so the hub is a process-wide singleton (never destroyed). It
//   installs a sigaction handler for a signal while some runtime has an interest in it and
//   restores the previous action when the last interest goes (a runtime's interests end with it).
//   Signal masks are never touched: worker threads and child processes see the default mask.
// * The handler is async-signal-safe: it bumps the signal's counter and writes one byte to a
//   self-pipe. A dedicated thread ("kio-signals") reads the pipe and delivers each new signal, in
//   order: to every kio::signal() waiter of that signal if there is one; else, for SIGINT/SIGTERM,
//   to the runtimes with stop_on_signals (request_stop; a runtime that is already stopping makes
//   the process exit at once with 128 + signal); else it is kept pending for the next waiter.
//   After a signal-triggered stop the handler itself exits on the next SIGINT/SIGTERM, so "press
//   Ctrl-C again to quit" works even when every kio thread is busy.
// * Waiters are intrusive (they live in the awaiting frame) and are resumed on their own core by
//   Executor::inject, called under the hub's mutex; a waiter unlinks itself under the same mutex
//   when it is cancelled or destroyed, so the hub never touches a frame that is gone.
// Threading: every member function is safe from any thread.
#pragma once

#include <coroutine>
#include <cstdint>
#include <system_error>

#include "kio/core/detail/executor.hpp"

namespace kio {
class Runtime;
}

namespace kio::detail {

/// Signals 1..63 as bits of a mask.
inline constexpr int max_signal = 63;
inline std::uint64_t signal_bit(int sig) noexcept {
  return std::uint64_t{1} << sig;
}

struct SignalWaiter : Injected {
  std::uint64_t mask = 0;  // the signals waited for
  int delivered = 0;       // the signal that ended the wait; 0: none (cancelled)
  bool linked = false;     // in the hub's list (guarded by the hub's mutex)
  Executor* ex = nullptr;  // the waiter's core
  std::coroutine_handle<> waiter{};
  SignalWaiter* prev = nullptr;
  SignalWaiter* next = nullptr;
};

class SignalHub {
 public:
  static SignalHub& get();

  /// `rt` wants SIGINT/SIGTERM to stop it. Throws SetupError when the handler cannot be installed.
  void add_stopper(Runtime* rt);
  /// Drops `rt` as a stopper and every interest it registered. After it returns the hub no longer
  /// calls into `rt`.
  void remove_runtime(Runtime* rt) noexcept;

  /// Registers `rt`'s interest in the signals of `mask` (installs their handlers). Returns
  /// invalid_argument for a signal that cannot be caught, or the sigaction error.
  std::error_code watch(Runtime* rt, std::uint64_t mask) noexcept;

  /// Completes `w` at once with a pending signal of its mask (returns true), or links it to wait
  /// (returns false). Call on the waiter's core, after watch().
  bool wait_or_take(SignalWaiter* w) noexcept;
  /// Unlinks `w` if it still waits; returns whether it did (then nobody else resumes it).
  bool unlink(SignalWaiter* w) noexcept;

 private:
  SignalHub() = default;
  struct Impl;
  Impl& impl() noexcept;
};

}  // namespace kio::detail
