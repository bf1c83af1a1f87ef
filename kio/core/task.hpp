// kio::Task<T> — a lazy, move-only coroutine producing a T (or void).
//
// A Task does nothing until it is awaited (`co_await std::move(task)` or `co_await task`), handed
// to `kio::spawn` / `Runtime::block_on`, or composed with when_all/when_any/timeout. The awaiting
// coroutine is resumed by symmetric transfer when the task finishes, so arbitrarily long chains of
// awaits do not grow the stack.
//
// Runs on / resumes on: a task runs on the core of the coroutine that started it and resumes its
// awaiter there (kio never migrates a task between cores; use kio::submit_to for that).
// Cancellation: a task inherits the ambient CancelToken of its awaiter; kio awaitables inside it
// observe that token (see cancel.hpp).
// Lifetime: frames come from a per-thread recycling pool (zero malloc in steady state). A started
// task can only be destroyed after it finished: it is started only by being awaited (its awaiter
// is suspended until it completes), by the runtime (spawn/block_on), or by a scope that owns it
// and learns of its end through a FinalHook (kio::di's Context::spawn); each owns it. When a
// runtime stops, it first cancels every in-flight I/O and waits for the kernel's completions, and
// only then destroys frames that are still suspended. Destroying an unstarted task is fine.
// Errors: an exception escaping the body is rethrown from the `co_await`.
#pragma once

#include <cassert>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <type_traits>
#include <utility>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/frame_pool.hpp"

namespace kio {

template <class T = void>
class Task;

namespace detail {

/// A continuation that is not a coroutine: a task handed to a scope that owns it without awaiting
/// it (kio::di's TaskScope) ends by calling its hook instead of resuming an awaiter, so the scope
/// needs no wrapper coroutine of its own. The hook is stored in `PromiseBase::continuation` with
/// its low bit set; a real continuation is a frame address, never odd.
/// Lifetime: the hook must outlive the task; `done` may destroy the task's frame.
struct FinalHook {
  /// The task finished and is suspended at its final point; returns what to resume next.
  std::coroutine_handle<> (*done)(FinalHook* self, std::coroutine_handle<> task) noexcept;
  /// The task's body threw (called from its unhandled_exception, before `done`).
  void (*failed)(FinalHook* self, std::exception_ptr e) noexcept;
};
static_assert(alignof(FinalHook) >= 2);

/// `hook` as a continuation (see FinalHook).
inline std::coroutine_handle<> hook_continuation(FinalHook* hook) noexcept {
  return std::coroutine_handle<>::from_address(
      reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(hook) | 1));
}
/// The hook a continuation stands for, or nullptr when it is a coroutine (or empty).
inline FinalHook* final_hook(std::coroutine_handle<> c) noexcept {
  const auto a = reinterpret_cast<std::uintptr_t>(c.address());
  return (a & 1) ? reinterpret_cast<FinalHook*>(a - 1) : nullptr;
}

/// State shared by every kio promise: continuation, ambient cancel token, pooled frames.
struct PromiseBase {
  std::coroutine_handle<> continuation{};
  CancelToken token{};

  static void* operator new(std::size_t n) { return frame_alloc(n); }
  static void operator delete(void* p, std::size_t n) noexcept { frame_free(p, n); }

  std::suspend_always initial_suspend() const noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) const noexcept {
      std::coroutine_handle<> c = h.promise().continuation;
      if (FinalHook* hook = final_hook(c)) [[unlikely]]
        return hook->done(hook, h);
      return c ? c : std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };
  FinalAwaiter final_suspend() const noexcept { return {}; }
};

/// The ambient cancel token of an awaiting coroutine (none for foreign coroutine types).
template <class P>
CancelToken token_of(std::coroutine_handle<P> h) noexcept {
  if constexpr (std::is_base_of_v<PromiseBase, P>) {
    return h.promise().token;
  } else {
    (void)h;
    return {};
  }
}

template <class T>
struct TaskPromise : PromiseBase {
  TaskPromise() noexcept {}
  ~TaskPromise() {
    if (state_ == State::value)
      value_.~T();
    else if (state_ == State::exception)
      exception_.~exception_ptr();
  }
  Task<T> get_return_object() noexcept;
  void unhandled_exception() noexcept {
    if (FinalHook* hook = final_hook(continuation)) [[unlikely]]
      return hook->failed(hook, std::current_exception());
    ::new (&exception_) std::exception_ptr(std::current_exception());
    state_ = State::exception;
  }
  template <class U = T>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    ::new (&value_) T(std::forward<U>(v));
    state_ = State::value;
  }
  T take() {
    if (state_ == State::exception) std::rethrow_exception(exception_);
    assert(state_ == State::value);
    return std::move(value_);
  }

 private:
  enum class State : unsigned char { empty, value, exception };
  union {
    T value_;
    std::exception_ptr exception_;
  };
  State state_ = State::empty;
};

template <>
struct TaskPromise<void> : PromiseBase {
  Task<void> get_return_object() noexcept;
  void unhandled_exception() noexcept {
    if (FinalHook* hook = final_hook(continuation)) [[unlikely]]
      return hook->failed(hook, std::current_exception());
    exception_ = std::current_exception();
  }
  void return_void() const noexcept {}
  void take() {
    if (exception_) std::rethrow_exception(exception_);
  }

 private:
  std::exception_ptr exception_;
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::TaskPromise<T>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  Task() noexcept = default;
  explicit Task(handle_type h) noexcept : h_(h) {}
  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&& o) noexcept {
    if (this != &o) {
      destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { destroy(); }

  bool valid() const noexcept { return static_cast<bool>(h_); }
  bool done() const noexcept { return h_ && h_.done(); }

  struct Awaiter {
    handle_type h;
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> awaiting) noexcept {
      h.promise().continuation = awaiting;
      h.promise().token = detail::token_of(awaiting);
      return h;
    }
    T await_resume() { return h.promise().take(); }
  };
  Awaiter operator co_await() & noexcept {
    assert(h_ && "awaiting an empty Task");
    return Awaiter{h_};
  }
  Awaiter operator co_await() && noexcept {
    assert(h_ && "awaiting an empty Task");
    return Awaiter{h_};
  }

  /// Runtime internals: the coroutine handle (ownership stays with the Task).
  handle_type handle() const noexcept { return h_; }
  /// Runtime internals: gives up ownership of the frame.
  handle_type release() noexcept { return std::exchange(h_, {}); }

 private:
  void destroy() noexcept {
    if (h_) std::exchange(h_, {}).destroy();
  }
  handle_type h_{};
};

namespace detail {
template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}
}  // namespace detail

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<Task<T>> : std::true_type {};
template <class T>
inline constexpr bool is_task_v = is_task<std::remove_cvref_t<T>>::value;

}  // namespace kio
