// kio::TaskGroup — a nursery: spawn child tasks on this core, then join them all.
//
//   kio::Task<void> serve_all(std::vector<Conn> conns) {
//     kio::TaskGroup group(co_await kio::this_cancel_token());
//     for (auto& c : conns) group.spawn(serve(std::move(c)));
//     co_await group.join();              // every child finished; rethrows the first failure
//   }
//
//   // or, exception-safe by construction (preferred):
//   co_await kio::task_scope([&](kio::TaskGroup& g) -> kio::Task<void> {
//     g.spawn(a());
//     g.spawn(b());
//     co_return;
//   });
//
// Runs on / resumes on: the calling core. spawn() queues the child on the core's ready queue (it
// starts after the caller's next suspension); join() resumes the caller when the last child ends.
// Cancellation: the group owns one CancelSource, linked to the token given to the constructor;
// every child runs with the group's token. cancel() cancels all children (and children spawned
// later start cancelled). A child that throws cancels the group. While join() waits, cancelling
// the joiner's ambient token cancels the group too, but join() still waits for every child to
// finish: structured concurrency never leaves a child running behind the caller's back.
// Errors: the first exception thrown by a child (or recorded by task_scope for its body) is
// rethrown by join(); later ones are discarded. Children's return values are discarded.
// Lifetime: a child's frame belongs to the group and is freed when the child ends. The group
// must stay alive until its children have finished, i.e. until a join() returned:
//   * destroying a group with running children during runtime teardown (frames destroyed after
//     all I/O completed) is safe: the children's frames are destroyed with it;
//   * at any other time it is a programming error: it is logged and std::terminate() is called
//     (like destroying a joinable std::thread). An exception escaping between spawn() and join()
//     leads there, which is why kio::task_scope exists: it always joins.
// Threading: per-core, NOT thread-safe; spawn, cancel and join on the group's core only.
#pragma once

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/log.hpp"
#include "kio/core/task.hpp"
#include "kio/core/with_cancel.hpp"

namespace kio {

class TaskGroup;

namespace detail {

class GroupChild;

struct GroupChildPromise : PromiseBase {
  template <class... A>
  explicit GroupChildPromise(TaskGroup& g, A&&...) noexcept : group(&g) {}
  inline ~GroupChildPromise();

  GroupChild get_return_object() noexcept;
  void return_void() const noexcept {}
  void unhandled_exception() noexcept { error = std::current_exception(); }

  struct Final {
    bool await_ready() const noexcept { return false; }
    inline std::coroutine_handle<> await_suspend(
        std::coroutine_handle<GroupChildPromise> h) noexcept;
    void await_resume() const noexcept {}
  };
  Final final_suspend() const noexcept { return {}; }

  TaskGroup* group;
  GroupChildPromise* prev = nullptr;
  GroupChildPromise* next = nullptr;
  bool linked = false;
  std::exception_ptr error;
};

class GroupChild {
 public:
  using promise_type = GroupChildPromise;
  explicit GroupChild(std::coroutine_handle<GroupChildPromise> h) noexcept : h_(h) {}
  GroupChild(GroupChild&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  GroupChild(const GroupChild&) = delete;
  ~GroupChild() {
    if (h_) h_.destroy();
  }
  std::coroutine_handle<GroupChildPromise> release() noexcept { return std::exchange(h_, {}); }

 private:
  std::coroutine_handle<GroupChildPromise> h_;
};

inline GroupChild GroupChildPromise::get_return_object() noexcept {
  return GroupChild(std::coroutine_handle<GroupChildPromise>::from_promise(*this));
}

template <class T>
GroupChild group_child(TaskGroup& /*group: read by the promise*/, Task<T> task) {
  co_await std::move(task);
}

/// True while a stopping runtime destroys the frames still suspended, after every in-flight
/// operation completed and the ready queue was dropped: then destroying a suspended frame is
/// safe. (Derived from public executor state; see the sync module's report.)
inline bool frames_being_torn_down() noexcept {
  Executor* ex = current_executor();
  return ex != nullptr && ex->tearing_down() && ex->inflight() == 0;
}

[[noreturn]] inline void task_group_misuse(std::size_t running) noexcept {
  log_error(
      "kio::TaskGroup destroyed with {} running child task(s); co_await join() before leaving "
      "its scope (kio::task_scope does it for you). Terminating.",
      running);
  std::terminate();
}

}  // namespace detail

class TaskGroup {
 public:
  /// `parent`: cancelling it cancels the group (usually co_await kio::this_cancel_token()).
  explicit TaskGroup(CancelToken parent) : src_(parent) {}
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;
  ~TaskGroup() {
    if (running_ == 0) return;
    if (!detail::frames_being_torn_down()) detail::task_group_misuse(running_);
    while (head_)  // the promise destructor unlinks
      std::coroutine_handle<detail::GroupChildPromise>::from_promise(*head_).destroy();
  }

  /// Starts `task` as a child of the group on this core (queued on the ready queue). Its value,
  /// if any, is discarded; an exception cancels the group and is rethrown by join().
  template <class T>
  void spawn(Task<T> task) {
    detail::Executor& ex = detail::this_executor("kio::TaskGroup::spawn");
    auto h = detail::group_child(*this, std::move(task)).release();
    h.promise().token = src_.token();
    link(h.promise());
    ex.schedule(h);
  }

  class [[nodiscard]] JoinAwaiter {
   public:
    explicit JoinAwaiter(TaskGroup& g) noexcept : g_(&g) {}
    JoinAwaiter(JoinAwaiter&& o) noexcept : g_(o.g_) { assert(!o.reg_.armed()); }

    bool await_ready() const noexcept { return g_->running_ == 0; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      assert(!g_->joiner_ && "kio::TaskGroup: only one task may join at a time");
      handle_ = h;
      g_->joiner_ = this;
      if (!reg_.arm(detail::token_of(h), &on_cancel, g_)) g_->cancel();
      return true;
    }
    void await_resume() {
      if (g_->error_) std::rethrow_exception(std::exchange(g_->error_, nullptr));
    }

   private:
    friend class TaskGroup;
    static void on_cancel(void* g) noexcept { static_cast<TaskGroup*>(g)->cancel(); }
    TaskGroup* g_;
    std::coroutine_handle<> handle_;
    CancelRegistration reg_;
  };

  /// Waits until every child finished; rethrows the first child exception.
  JoinAwaiter join() noexcept { return JoinAwaiter(*this); }

  /// Cancels every child, including ones spawned later. Idempotent.
  void cancel() noexcept { src_.request_cancel(); }
  bool cancelled() const noexcept { return src_.cancelled(); }
  /// The token the children run with.
  CancelToken token() noexcept { return src_.token(); }
  /// Children spawned and not yet finished.
  std::size_t running() const noexcept { return running_; }

  /// Records `e` as the group's failure if it is the first, and cancels the group (task_scope
  /// uses it for its body's exception).
  void fail(std::exception_ptr e) noexcept {
    if (!error_) error_ = std::move(e);
    cancel();
  }

 private:
  friend struct detail::GroupChildPromise;

  void link(detail::GroupChildPromise& p) noexcept {
    p.prev = nullptr;
    p.next = head_;
    if (head_) head_->prev = &p;
    head_ = &p;
    p.linked = true;
    ++running_;
  }
  void unlink(detail::GroupChildPromise& p) noexcept {
    if (p.prev)
      p.prev->next = p.next;
    else
      head_ = p.next;
    if (p.next) p.next->prev = p.prev;
    p.linked = false;
    --running_;
  }

  // A child ended: record its failure, free its frame, resume the joiner after the last one.
  std::coroutine_handle<> child_done(std::coroutine_handle<detail::GroupChildPromise> h) noexcept {
    detail::GroupChildPromise& p = h.promise();
    unlink(p);
    if (p.error) fail(std::move(p.error));
    h.destroy();
    if (running_ == 0 && joiner_) {
      JoinAwaiter* j = std::exchange(joiner_, nullptr);
      j->reg_.disarm();
      return j->handle_;
    }
    return std::noop_coroutine();
  }

  CancelSource src_;  // first: child frames (destroyed in ~TaskGroup) point into it
  detail::GroupChildPromise* head_ = nullptr;
  std::size_t running_ = 0;
  JoinAwaiter* joiner_ = nullptr;
  std::exception_ptr error_;
};

namespace detail {

inline GroupChildPromise::~GroupChildPromise() {
  if (linked) group->unlink(*this);
}

inline std::coroutine_handle<> GroupChildPromise::Final::await_suspend(
    std::coroutine_handle<GroupChildPromise> h) noexcept {
  return h.promise().group->child_done(h);
}

template <class R, class F>
Task<R> task_scope_impl(F fn) {
  TaskGroup group(co_await this_cancel_token());
  std::optional<std::conditional_t<std::is_void_v<R>, bool, R>> result;
  try {
    if constexpr (std::is_void_v<R>) {
      co_await with_cancel(group.token(), fn(group));
      result.emplace(true);
    } else {
      result.emplace(co_await with_cancel(group.token(), fn(group)));
    }
  } catch (...) {
    group.fail(std::current_exception());
  }
  co_await group.join();  // rethrows the first failure (the body's or a child's)
  if constexpr (!std::is_void_v<R>) co_return std::move(*result);
}

}  // namespace detail

/// Runs `fn(group)` (returning a Task) with a fresh TaskGroup and joins the group before
/// returning, whether the body returned or threw: children can never outlive the scope. The body
/// runs with the group's token, so a failing child cancels it too. Returns the body's value;
/// rethrows the first exception of the body or a child. `fn` is stored in the scope's frame, so a
/// capturing lambda is safe.
template <class F>
  requires std::is_invocable_v<F&, TaskGroup&> && is_task_v<std::invoke_result_t<F&, TaskGroup&>>
auto task_scope(F fn) -> Task<typename std::invoke_result_t<F&, TaskGroup&>::value_type> {
  using R = typename std::invoke_result_t<F&, TaskGroup&>::value_type;
  return detail::task_scope_impl<R, F>(std::move(fn));
}

}  // namespace kio
