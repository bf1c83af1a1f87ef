// TaskScope — the tasks one service instance spawned through its Context.
//
// Like kio::TaskGroup, but for a service: a child's exception is logged with the service's name
// and does not cancel its siblings; join() is not cancellable (the registry joins before stop()
// and again after it, so nothing spawned by a service outlives it). Children run with the scope's
// token, linked to the core's shutdown token.
// A child is the spawned Task's own frame: the scope owns it and sets a small node of its own (kept
// for reuse) as the task's final hook (kio/core/task.hpp), so a spawn costs no wrapper coroutine
// and, in steady state, no allocation beyond the task's pooled frame.
// Threading: one core. Lifetime: joined before it is destroyed (the destructor terminates with a
// message otherwise, except while a stopping runtime destroys suspended frames, when it destroys
// its children's frames itself).
#pragma once

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <utility>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/task.hpp"

namespace kio::di::detail {

struct ServiceDef;

class TaskScope {
 public:
  /// `owner` names the service in log lines (read only when something is logged).
  TaskScope(CancelToken parent, const ServiceDef* owner)
      : src_(parent), owner_(owner), ex_(&kio::detail::this_executor("kio::di::Context")) {}
  TaskScope(const TaskScope&) = delete;
  TaskScope& operator=(const TaskScope&) = delete;
  ~TaskScope();

  /// Call on the scope's core (where it was created). The task is queued to run.
  template <class T>
  void spawn(Task<T> task) {
    auto h = task.release();
    assert(h && "kio::di::Context::spawn: an empty Task");
    Child* c = spare_ ? spare_ : new_child();
    spare_ = c->next_spare;
    c->frame = h;
    ++running_;
    h.promise().token = src_.token();
    h.promise().continuation = kio::detail::hook_continuation(c);
    ex_->schedule(h);
  }
  void cancel() noexcept { src_.request_cancel(); }
  CancelToken token() noexcept { return src_.token(); }
  std::size_t running() const noexcept { return running_; }

  struct [[nodiscard]] JoinAwaiter {
    TaskScope& s;
    bool await_ready() const noexcept { return s.running_ == 0; }
    void await_suspend(std::coroutine_handle<> h) noexcept { s.joiner_ = h; }
    void await_resume() const noexcept {}
  };
  /// Waits until every child finished (not cancellable; cancel() first to make them finish).
  JoinAwaiter join() noexcept { return JoinAwaiter{*this}; }

 private:
  // One per running child, recycled: a spawn takes a spare node, the child's end gives it back.
  // Every node ever made is on `all_` (freed with the scope); a running child's has its frame.
  struct Child : kio::detail::FinalHook {
    explicit Child(TaskScope* s) noexcept
        : FinalHook{&TaskScope::child_done, &TaskScope::child_failed}, scope(s) {}
    TaskScope* scope;
    std::coroutine_handle<> frame{};
    Child* next_spare = nullptr;
    Child* next_made = nullptr;
  };

  Child* new_child();
  static std::coroutine_handle<> child_done(kio::detail::FinalHook* hook,
                                            std::coroutine_handle<> task) noexcept {
    auto* c = static_cast<Child*>(hook);
    TaskScope& s = *c->scope;
    c->frame = {};
    c->next_spare = s.spare_;
    s.spare_ = c;
    task.destroy();
    if (--s.running_ == 0 && s.joiner_) [[unlikely]]
      return std::exchange(s.joiner_, {});
    return std::noop_coroutine();
  }
  static void child_failed(kio::detail::FinalHook* hook, std::exception_ptr e) noexcept;

  CancelSource src_;
  const ServiceDef* owner_;
  kio::detail::Executor* ex_;
  Child* spare_ = nullptr;
  Child* all_ = nullptr;
  std::size_t running_ = 0;
  std::coroutine_handle<> joiner_{};
};

}  // namespace kio::di::detail
