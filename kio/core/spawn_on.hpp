// kio::spawn_on — run a task detached on another core.
//
//   for (unsigned c = 0; c < kio::core_count(); ++c)
//     co_await kio::spawn_on(c, serve_on_this_core(port));
//
// Runs on: the target core; the caller continues on its own core once the task is queued there.
// Backpressure: if the target's queue is full, the caller waits until there is room; work is
// never dropped. The result is an error (operation_canceled) only if the target core has already
// shut down; the task is then destroyed without running.
// Cancellation: on the target core the task's ambient token is that core's shutdown token.
// Lifetime: the frame is created on the calling core and from then on owned by the target
// runtime (see spawn.hpp). Arguments must be safe to use from the target core.
// Errors: an exception escaping the task is logged with the target core's id.
#pragma once

#include <coroutine>
#include <stdexcept>
#include <utility>

#include "kio/core/detail/root_task.hpp"
#include "kio/core/result.hpp"
#include "kio/core/runtime.hpp"
#include "kio/core/task.hpp"

namespace kio {

class [[nodiscard]] SpawnOnAwaiter {
 public:
  SpawnOnAwaiter(detail::Executor& target, detail::RootTask root)
      : target_(target), root_(std::move(root)) {}

  bool await_ready() noexcept {
    ok_ = std::move(root_).launch_on(target_);
    return true;
  }
  void await_suspend(std::coroutine_handle<>) noexcept {}
  Result<void> await_resume() const noexcept {
    if (ok_) return {};
    return std::errc::operation_canceled;
  }

 private:
  detail::Executor& target_;
  detail::RootTask root_;
  bool ok_ = false;
};

/// Queues `task` on worker `core` of the calling worker's runtime. Throws std::out_of_range for
/// a core that does not exist.
template <class T>
SpawnOnAwaiter spawn_on(unsigned core, Task<T> task) {
  Runtime& rt = detail::this_executor("kio::spawn_on").runtime();
  if (core >= rt.workers())
    throw std::out_of_range("kio::spawn_on: no such core " + std::to_string(core));
  return SpawnOnAwaiter(rt.executor(core), detail::detached_root(std::move(task)));
}

}  // namespace kio
