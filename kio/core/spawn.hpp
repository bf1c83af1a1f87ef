// kio::spawn — run a task detached on the current core.
//
//   kio::spawn(handle_connection(std::move(stream)));
//
// Runs on: the calling worker's core; the task never migrates. Must be called on a worker thread
// (from inside a task); use Runtime::block_on to enter the runtime from outside.
// Cancellation: the task's ambient token is the core's shutdown token, cancelled when the runtime
// stops; kio awaitables inside it then end with operation_canceled.
// Lifetime: the runtime owns the frame. It is freed when the task ends, or at runtime teardown
// (after in-flight I/O completed) if it is still suspended then. Pass data into the task as
// parameters, not as lambda captures: a coroutine lambda's captures die with the lambda object.
// Errors: an exception escaping the task is logged to stderr with its what() and the core id; the
// worker keeps running.
#pragma once

#include <utility>

#include "kio/core/detail/root_task.hpp"
#include "kio/core/task.hpp"

namespace kio {

template <class T>
void spawn(Task<T> task) {
  detail::Executor& ex = detail::this_executor("kio::spawn");
  detail::detached_root(std::move(task)).start_on(ex);
}

}  // namespace kio
