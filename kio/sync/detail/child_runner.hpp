// ChildRunner — the coroutine that runs one child of when_all / when_any.
//
// A runner's body awaits its child Task and stores the outcome; its promise's first constructor
// argument is the JoinCounter of the combinator, whose `remaining` its final suspension
// decrements. The runner that brings the count to zero resumes the parent by symmetric transfer.
// Children are started by `start_children` in the parent's await_suspend with the "+1" scheme:
// the count starts one above the number of children and await_suspend removes that extra unit
// after starting them all, so a child that finishes synchronously never resumes the parent while
// its await_suspend is still running; if all finished synchronously the parent does not suspend.
// Frames come from the per-thread frame pool (PromiseBase). The combinator owns the runners
// (RAII); they are destroyed only after finishing, or at runtime teardown while suspended.
// Threading: per-core.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <iterator>
#include <utility>

#include "kio/core/cancel.hpp"
#include "kio/core/task.hpp"

namespace kio::detail {

struct JoinCounter {
  std::size_t remaining = 0;
  std::coroutine_handle<> parent{};
};

class ChildRunner {
 public:
  struct promise_type : PromiseBase {
    template <class... A>
    explicit promise_type(JoinCounter& c, A&&...) noexcept : counter(&c) {}

    ChildRunner get_return_object() noexcept {
      return ChildRunner(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }  // bodies catch everything

    struct Final {
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        JoinCounter* c = h.promise().counter;
        if (--c->remaining == 0) return c->parent;
        return std::noop_coroutine();
      }
      void await_resume() const noexcept {}
    };
    Final final_suspend() const noexcept { return {}; }

    JoinCounter* counter;
  };
  using handle_type = std::coroutine_handle<promise_type>;

  ChildRunner() noexcept = default;
  explicit ChildRunner(handle_type h) noexcept : h_(h) {}
  ChildRunner(ChildRunner&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  ChildRunner& operator=(ChildRunner&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  ChildRunner(const ChildRunner&) = delete;
  ChildRunner& operator=(const ChildRunner&) = delete;
  ~ChildRunner() {
    if (h_) h_.destroy();
  }

  /// Runs the child inline until its first suspension, with `token` as its ambient token.
  void start(CancelToken token) {
    h_.promise().token = token;
    h_.resume();
  }

 private:
  handle_type h_{};
};

/// Starts every runner of `rs` (a range of ChildRunner) under `token`; returns whether the parent
/// must suspend (false: every child already finished).
template <class Runners>
bool start_children(JoinCounter& c, Runners& rs, CancelToken token,
                    std::coroutine_handle<> parent) {
  c.remaining = std::size(rs) + 1;
  c.parent = parent;
  for (auto& r : rs)
    r.start(token);
  return --c.remaining != 0;
}

}  // namespace kio::detail
