// kio::yield — let the other ready tasks on this core run first.
//
//   for (auto& item : big_batch) { process(item); if (++n % 1024 == 0) co_await kio::yield(); }
//
// Runs on / resumes on: the calling core; the task goes to the back of the core's ready queue and
// resumes after the tasks that were ready before it (and after I/O completions are reaped).
// Cancellation: not a wait; never cancelled. Lifetime: nothing to keep alive.
#pragma once

#include <coroutine>

#include "kio/core/detail/executor.hpp"

namespace kio {

struct [[nodiscard]] YieldAwaiter {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) const {
    detail::this_executor("kio::yield").schedule(h);
  }
  void await_resume() const noexcept {}
};

inline YieldAwaiter yield() noexcept {
  return {};
}

}  // namespace kio
