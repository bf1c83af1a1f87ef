// Runner — an eager, detached coroutine for one asynchronous transition of one instance (an
// async factory, start() or stop(), or waiting for the Context's tasks).
//
// It starts running inside the call that creates it, so a transition whose awaits all complete
// at once finishes before that call returns; when it does suspend, the registry carries on with
// other work and the runner reports back when it resumes. It is registered as a root of the
// core's executor (like a spawned task), so a stopping runtime waits for it during its grace
// period and destroys it at teardown if it is still suspended. Frames come from the core's
// frame pool. Bodies must catch everything.
#pragma once

#include <coroutine>
#include <exception>

#include "kio/core/detail/executor.hpp"
#include "kio/core/task.hpp"

namespace kio::di::detail {

struct Runner {
  struct promise_type : kio::detail::PromiseBase {
    kio::detail::RootNode root;
    kio::detail::Executor* ex;
    promise_type() : ex(&kio::detail::this_executor("kio::di")) {
      root.frame = std::coroutine_handle<promise_type>::from_promise(*this);
      ex->add_root(&root);
      token = ex->shutdown_token();
    }
    ~promise_type() { ex->remove_root(&root); }
    Runner get_return_object() const noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };
};

}  // namespace kio::di::detail
