// kio::when_all — run several tasks concurrently on this core and wait for all of them.
//
//   auto [user, feed] = co_await kio::when_all(load_user(id), load_feed(id));
//   std::vector<int> sizes = co_await kio::when_all(std::move(size_tasks));  // vector form
//
// Returns: the variadic form a std::tuple of the results in argument order (std::monostate for a
// Task<void>); the vector form a std::vector<T> in input order (nothing for Task<void>).
// Runs on / resumes on: the calling core. The children are started inline, in order, when the
// co_await begins (each runs until its first suspension); the caller resumes when the last one
// finishes.
// Cancellation: the children share one CancelSource linked to the caller's ambient token, so
// cancelling the caller cancels them all. when_all itself never returns early: it always waits
// for every child, and a cancelled child reports cancellation through its own result.
// Errors: when a child throws, the others are cancelled, when_all still waits for all of them,
// then rethrows the first exception (later exceptions and the values are discarded).
// Lifetime: the children's frames are owned by the awaiter, in the caller's frame; they never
// outlive the co_await. The awaiter may be moved only before it is awaited (e.g. into
// kio::timeout). The vector form allocates its bookkeeping once per call; the variadic form
// allocates nothing beyond the children's pooled frames.
// Threading: per-core.
#pragma once

#include <array>
#include <cassert>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "kio/core/cancel.hpp"
#include "kio/core/task.hpp"
#include "kio/sync/detail/child_runner.hpp"

namespace kio {

namespace detail {

template <class T>
using child_value_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

struct WhenAllState : JoinCounter {
  std::optional<CancelSource> src;  // created when awaited: linked to the caller's token
  std::exception_ptr error;

  void fail(std::exception_ptr e) noexcept {
    if (error) return;
    error = std::move(e);
    src->request_cancel();
  }
};

template <class T>
ChildRunner when_all_child(WhenAllState& st, Task<T>& task, std::optional<child_value_t<T>>& out) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await task;
      out.emplace();
    } else {
      out.emplace(co_await task);
    }
  } catch (...) {
    st.fail(std::current_exception());
  }
}

template <class... Ts>
class [[nodiscard]] WhenAllAwaiter {
 public:
  explicit WhenAllAwaiter(Task<Ts>... tasks) noexcept : tasks_(std::move(tasks)...) {}
  /// Only before the co_await begins.
  WhenAllAwaiter(WhenAllAwaiter&& o) noexcept : tasks_(std::move(o.tasks_)) {
    assert(!o.st_.src && "moving a started when_all");
  }
  WhenAllAwaiter& operator=(WhenAllAwaiter&&) = delete;

  bool await_ready() const noexcept { return false; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    make_runners(std::index_sequence_for<Ts...>{});
    st_.src.emplace(token_of(h));
    return start_children(st_, runners_, st_.src->token(), h);
  }
  std::tuple<child_value_t<Ts>...> await_resume() {
    if (st_.error) std::rethrow_exception(st_.error);
    return take(std::index_sequence_for<Ts...>{});
  }

 private:
  template <std::size_t... I>
  void make_runners(std::index_sequence<I...>) {
    runners_ = {when_all_child(st_, std::get<I>(tasks_), std::get<I>(values_))...};
  }
  template <std::size_t... I>
  std::tuple<child_value_t<Ts>...> take(std::index_sequence<I...>) {
    return std::tuple<child_value_t<Ts>...>(std::move(*std::get<I>(values_))...);
  }

  // Destruction order matters (reverse of declaration): runners, then the children's frames
  // (whose cancel registrations point into st_.src), then the source.
  WhenAllState st_;
  std::tuple<Task<Ts>...> tasks_;
  std::tuple<std::optional<child_value_t<Ts>>...> values_;
  std::array<ChildRunner, sizeof...(Ts)> runners_;
};

template <class T>
class [[nodiscard]] WhenAllRangeAwaiter {
 public:
  explicit WhenAllRangeAwaiter(std::vector<Task<T>> tasks) noexcept : tasks_(std::move(tasks)) {}
  /// Only before the co_await begins.
  WhenAllRangeAwaiter(WhenAllRangeAwaiter&& o) noexcept : tasks_(std::move(o.tasks_)) {
    assert(!o.st_.src && "moving a started when_all");
  }
  WhenAllRangeAwaiter& operator=(WhenAllRangeAwaiter&&) = delete;

  bool await_ready() const noexcept { return tasks_.empty(); }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    values_.resize(tasks_.size());
    runners_.reserve(tasks_.size());
    for (std::size_t i = 0; i < tasks_.size(); ++i)
      runners_.push_back(when_all_child(st_, tasks_[i], values_[i]));
    st_.src.emplace(token_of(h));
    return start_children(st_, runners_, st_.src->token(), h);
  }
  auto await_resume() {
    if (st_.error) std::rethrow_exception(st_.error);
    if constexpr (!std::is_void_v<T>) {
      std::vector<T> out;
      out.reserve(values_.size());
      for (auto& v : values_)
        out.push_back(std::move(*v));
      return out;
    }
  }

 private:
  WhenAllState st_;
  std::vector<Task<T>> tasks_;
  std::vector<std::optional<child_value_t<T>>> values_;
  std::vector<ChildRunner> runners_;
};

}  // namespace detail

/// Runs `tasks` concurrently on this core; returns a tuple of their results.
template <class... Ts>
  requires(sizeof...(Ts) > 0)
detail::WhenAllAwaiter<Ts...> when_all(Task<Ts>... tasks) {
  return detail::WhenAllAwaiter<Ts...>(std::move(tasks)...);
}

/// Runs every task of `tasks` concurrently on this core; returns their results in order.
template <class T>
detail::WhenAllRangeAwaiter<T> when_all(std::vector<Task<T>> tasks) {
  return detail::WhenAllRangeAwaiter<T>(std::move(tasks));
}

}  // namespace kio
