// kio::when_any — race tasks on this core: the first to finish wins, the others are cancelled.
//
//   auto r = co_await kio::when_any(fetch(primary), fetch(backup));   // same value type
//   use(r.index, std::move(r.value));
//   auto m = co_await kio::when_any(read_msg(sock), tick());           // different types:
//   if (m.index == 0) handle(std::get<0>(m.value));                    //   value is a variant
//
// Returns: WhenAnyResult<T>{index, value} where index is the winner's position and value its
// result. When all tasks have the same value type T, value is a T (WhenAnyResult<void> has only
// index); otherwise value is a std::variant<R0, R1, ...> (std::monostate for void) whose active
// alternative is the winner's. The vector form returns WhenAnyResult<T>.
// Winner: the first child to finish, by returning or by throwing. Children are started inline, in
// order; if one finishes during its start, the later ones still start but already cancelled.
// Cancellation: the children share one CancelSource linked to the caller's ambient token. As soon
// as the winner is known the source is cancelled, so every loser's kio waits end with
// operation_canceled; when_any returns only after every loser has finished (nothing keeps
// running in the background). Cancelling the caller cancels all children; the first to finish
// still wins (usually with a cancellation result).
// Errors: if the winner threw, its exception is rethrown (after the losers finished). Losers'
// results and exceptions are discarded, so do not race a task whose result must not be lost.
// Lifetime: as for when_all: the children never outlive the co_await; the awaiter may be moved
// only before it is awaited. The vector form must not be empty (std::invalid_argument).
// Threading: per-core.
#pragma once

#include <array>
#include <cassert>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "kio/core/cancel.hpp"
#include "kio/core/task.hpp"
#include "kio/sync/detail/child_runner.hpp"
#include "kio/sync/when_all.hpp"

namespace kio {

template <class T>
struct WhenAnyResult {
  std::size_t index;
  T value;
};
template <>
struct WhenAnyResult<void> {
  std::size_t index;
};

namespace detail {

struct WhenAnyState : JoinCounter {
  static constexpr std::size_t none = static_cast<std::size_t>(-1);
  std::optional<CancelSource> src;  // created when awaited: linked to the caller's token
  std::size_t winner = none;
  std::exception_ptr error;

  /// True for the first caller only; cancels everybody else.
  bool claim(std::size_t i) noexcept {
    if (winner != none) return false;
    winner = i;
    src->request_cancel();
    return true;
  }
};

template <class... Ts>
inline constexpr bool all_same_v = true;
template <class T, class... Ts>
inline constexpr bool all_same_v<T, Ts...> = (std::is_same_v<T, Ts> && ...);

template <bool Same, class... Ts>
struct any_value;
template <class T, class... Ts>
struct any_value<true, T, Ts...> {
  using result = WhenAnyResult<T>;
  using slot = child_value_t<T>;
};
template <class... Ts>
struct any_value<false, Ts...> {
  using result = WhenAnyResult<std::variant<child_value_t<Ts>...>>;
  using slot = std::variant<child_value_t<Ts>...>;
};

template <std::size_t I, bool AsVariant, class Out, class... A>
void emplace_winner(std::optional<Out>& out, A&&... a) {
  if constexpr (AsVariant) {
    out.emplace(std::in_place_index<I>, std::forward<A>(a)...);
  } else {
    out.emplace(std::forward<A>(a)...);
  }
}

template <std::size_t I, bool AsVariant, class T, class Out>
ChildRunner when_any_child(WhenAnyState& st, std::size_t index, Task<T>& task,
                           std::optional<Out>& out) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await task;
      if (st.claim(index)) emplace_winner<I, AsVariant>(out);
    } else {
      T v = co_await task;
      if (st.claim(index)) emplace_winner<I, AsVariant>(out, std::move(v));
    }
  } catch (...) {
    if (st.claim(index)) st.error = std::current_exception();
  }
}

template <class... Ts>
class [[nodiscard]] WhenAnyAwaiter {
  static constexpr bool same = all_same_v<Ts...>;
  using Traits = any_value<same, Ts...>;

 public:
  using result_type = typename Traits::result;

  explicit WhenAnyAwaiter(Task<Ts>... tasks) noexcept : tasks_(std::move(tasks)...) {}
  /// Only before the co_await begins.
  WhenAnyAwaiter(WhenAnyAwaiter&& o) noexcept : tasks_(std::move(o.tasks_)) {
    assert(!o.st_.src && "moving a started when_any");
  }
  WhenAnyAwaiter& operator=(WhenAnyAwaiter&&) = delete;

  bool await_ready() const noexcept { return false; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    make_runners(std::index_sequence_for<Ts...>{});
    st_.src.emplace(token_of(h));
    return start_children(st_, runners_, st_.src->token(), h);
  }
  result_type await_resume() {
    assert(st_.winner != WhenAnyState::none);
    if (st_.error) std::rethrow_exception(st_.error);
    if constexpr (std::is_same_v<result_type, WhenAnyResult<void>>) {
      return result_type{st_.winner};
    } else {
      return result_type{st_.winner, std::move(*out_)};
    }
  }

 private:
  template <std::size_t... I>
  void make_runners(std::index_sequence<I...>) {
    runners_ = {when_any_child<I, !same>(st_, I, std::get<I>(tasks_), out_)...};
  }

  WhenAnyState st_;
  std::tuple<Task<Ts>...> tasks_;
  std::optional<typename Traits::slot> out_;
  std::array<ChildRunner, sizeof...(Ts)> runners_;
};

template <class T>
class [[nodiscard]] WhenAnyRangeAwaiter {
 public:
  using result_type = WhenAnyResult<T>;

  explicit WhenAnyRangeAwaiter(std::vector<Task<T>> tasks) : tasks_(std::move(tasks)) {
    if (tasks_.empty()) throw std::invalid_argument("kio::when_any: no tasks");
  }
  /// Only before the co_await begins.
  WhenAnyRangeAwaiter(WhenAnyRangeAwaiter&& o) noexcept : tasks_(std::move(o.tasks_)) {
    assert(!o.st_.src && "moving a started when_any");
  }
  WhenAnyRangeAwaiter& operator=(WhenAnyRangeAwaiter&&) = delete;

  bool await_ready() const noexcept { return false; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    runners_.reserve(tasks_.size());
    for (std::size_t i = 0; i < tasks_.size(); ++i)
      runners_.push_back(when_any_child<0, false>(st_, i, tasks_[i], out_));
    st_.src.emplace(token_of(h));
    return start_children(st_, runners_, st_.src->token(), h);
  }
  result_type await_resume() {
    assert(st_.winner != WhenAnyState::none);
    if (st_.error) std::rethrow_exception(st_.error);
    if constexpr (std::is_void_v<T>) {
      return result_type{st_.winner};
    } else {
      return result_type{st_.winner, std::move(*out_)};
    }
  }

 private:
  WhenAnyState st_;
  std::vector<Task<T>> tasks_;
  std::optional<child_value_t<T>> out_;
  std::vector<ChildRunner> runners_;
};

}  // namespace detail

/// Races `tasks` on this core; returns the first finisher's index and result after the others
/// were cancelled and finished.
template <class... Ts>
  requires(sizeof...(Ts) > 0)
detail::WhenAnyAwaiter<Ts...> when_any(Task<Ts>... tasks) {
  return detail::WhenAnyAwaiter<Ts...>(std::move(tasks)...);
}

/// Races every task of `tasks` (not empty) on this core.
template <class T>
detail::WhenAnyRangeAwaiter<T> when_any(std::vector<Task<T>> tasks) {
  return detail::WhenAnyRangeAwaiter<T>(std::move(tasks));
}

}  // namespace kio
