// TaskScope — the tasks one service instance spawned through its Context.
//
// Like kio::TaskGroup, but for a service: a child's exception is logged with the service's name
// and does not cancel its siblings; join() is not cancellable (the registry joins before stop()
// and again after it, so nothing spawned by a service outlives it). Children run with the scope's
// token, linked to the core's shutdown token.
// Threading: one core. Lifetime: joined before it is destroyed (the destructor terminates with a
// message otherwise, except while a stopping runtime destroys suspended frames).
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <string_view>
#include <utility>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/task.hpp"

namespace kio::di::detail {

class TaskScope;
class ScopeChild;
struct ServiceDef;

struct ScopeChildPromise : kio::detail::PromiseBase {
  template <class... A>
  explicit ScopeChildPromise(TaskScope& s, A&&...) noexcept : scope(&s) {}
  ~ScopeChildPromise();
  ScopeChild get_return_object() noexcept;
  void return_void() const noexcept {}
  void unhandled_exception() noexcept { error = std::current_exception(); }
  struct Final {
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<ScopeChildPromise> h) noexcept;
    void await_resume() const noexcept {}
  };
  Final final_suspend() const noexcept { return {}; }

  TaskScope* scope;
  ScopeChildPromise* prev = nullptr;
  ScopeChildPromise* next = nullptr;
  bool linked = false;
  std::exception_ptr error;
};

class ScopeChild {
 public:
  using promise_type = ScopeChildPromise;
  explicit ScopeChild(std::coroutine_handle<ScopeChildPromise> h) noexcept : h_(h) {}
  ScopeChild(ScopeChild&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  ~ScopeChild() {
    if (h_) h_.destroy();
  }
  std::coroutine_handle<ScopeChildPromise> release() noexcept { return std::exchange(h_, {}); }

 private:
  std::coroutine_handle<ScopeChildPromise> h_;
};

inline ScopeChild ScopeChildPromise::get_return_object() noexcept {
  return ScopeChild(std::coroutine_handle<ScopeChildPromise>::from_promise(*this));
}

template <class T>
ScopeChild scope_child(TaskScope& /*read by the promise*/, Task<T> task) {
  co_await std::move(task);
}

class TaskScope {
 public:
  /// `owner` names the service in log lines (read only when something is logged).
  TaskScope(CancelToken parent, const ServiceDef* owner)
      : src_(parent), owner_(owner), ex_(&kio::detail::this_executor("kio::di::Context")) {}
  TaskScope(const TaskScope&) = delete;
  TaskScope& operator=(const TaskScope&) = delete;
  ~TaskScope();

  /// Call on the scope's core (where it was created).
  template <class T>
  void spawn(Task<T> task) {
    auto h = scope_child(*this, std::move(task)).release();
    h.promise().token = src_.token();
    link(h.promise());
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
  friend struct ScopeChildPromise;
  void link(ScopeChildPromise& p) noexcept {
    p.next = head_;
    if (head_) head_->prev = &p;
    head_ = &p;
    p.linked = true;
    ++running_;
  }
  void unlink(ScopeChildPromise& p) noexcept {
    if (p.prev)
      p.prev->next = p.next;
    else
      head_ = p.next;
    if (p.next) p.next->prev = p.prev;
    p.linked = false;
    --running_;
  }
  std::coroutine_handle<> child_done(std::coroutine_handle<ScopeChildPromise> h) noexcept;

  CancelSource src_;
  const ServiceDef* owner_;
  kio::detail::Executor* ex_;
  ScopeChildPromise* head_ = nullptr;
  std::size_t running_ = 0;
  std::coroutine_handle<> joiner_{};
};

inline ScopeChildPromise::~ScopeChildPromise() {
  if (linked) scope->unlink(*this);
}

inline std::coroutine_handle<> ScopeChildPromise::Final::await_suspend(
    std::coroutine_handle<ScopeChildPromise> h) noexcept {
  return h.promise().scope->child_done(h);
}

}  // namespace kio::di::detail
