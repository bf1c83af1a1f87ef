// kio::spawn_on — run a task detached on another core.
//
//   for (unsigned c = 0; c < kio::core_count(); ++c)
//     co_await kio::spawn_on(c, serve_on_this_core(port));
//
// Runs on: the target core; the caller continues on its own core once the task is queued there
// (for the caller's own core: at once, like kio::spawn).
// Backpressure: the task travels through the lock-free ring from this core to the target. If the
// ring is full the caller is suspended until its task is in the ring; work is never dropped.
// Cancellation: on the target core the task's ambient token is that core's shutdown token. The
// wait for ring space is not cancellable (it is bounded by the target draining its ring).
// Lifetime: the frame is created on the calling core and from then on owned by the runtime (see
// spawn.hpp); arguments must be safe to use from the target core. If the runtime shuts down
// before the task starts, the frame is destroyed without running.
// Stopping: while the runtime drains (its grace period), spawn_on still delivers: every core keeps
// serving cross-core work until all cores are done, and the task starts with its core's shutdown
// token already cancelled, so it should only clean up.
// Errors: Result<void> is operation_canceled once the calling core tore down (no user code runs
// then; the task is destroyed, not sent); an exception escaping the task is logged with the target
// core.
#pragma once

#include <coroutine>
#include <stdexcept>
#include <string>
#include <utility>

#include "kio/core/detail/root_task.hpp"
#include "kio/core/result.hpp"
#include "kio/core/runtime.hpp"
#include "kio/core/task.hpp"

namespace kio {

class [[nodiscard]] SpawnOnAwaiter {
 public:
  SpawnOnAwaiter(detail::Executor& home, unsigned target, detail::RootTask root)
      : home_(home), target_(target), root_(std::move(root)) {}

  bool await_ready() noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    if (home_.tearing_down()) {
      canceled_ = true;  // root_'s destructor frees the unstarted frame
      return false;
    }
    if (target_ == home_.index()) {
      std::move(root_).start_on(home_);
      return false;
    }
    detail::Message* m = root_.release_as_message();
    if (home_.send(target_, m)) return false;
    m->blocked = h;  // resumed by the executor once the message is in the ring
    return true;
  }
  Result<void> await_resume() const noexcept {
    if (canceled_) return std::errc::operation_canceled;
    return {};
  }

 private:
  detail::Executor& home_;
  unsigned target_;
  detail::RootTask root_;
  bool canceled_ = false;
};

/// Queues `task` on worker `core` of the calling worker's runtime. Throws std::out_of_range for
/// a core that does not exist.
template <class T>
SpawnOnAwaiter spawn_on(unsigned core, Task<T> task) {
  detail::Executor& home = detail::this_executor("kio::spawn_on");
  if (core >= home.runtime().workers())
    throw std::out_of_range("kio::spawn_on: no such core " + std::to_string(core));
  return SpawnOnAwaiter(home, core, detail::detached_root(std::move(task)));
}

}  // namespace kio
