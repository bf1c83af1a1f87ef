// kio::this_cancel_token / kio::with_cancel — read or replace the ambient cancellation token.
//
//   kio::CancelSource src(co_await kio::this_cancel_token());  // linked: outer cancel still works
//   auto r = co_await kio::with_cancel(src.token(), kio::read(fd, buf));
//   ... elsewhere on this core: src.request_cancel();
//
// Runs on / resumes on: the calling core. with_cancel starts the awaitable as a child task whose
// ambient token is `token` (it replaces, not combines: link the source to the outer token as above
// to keep honouring it).
// Lifetime: the source behind `token` must outlive the awaited operation (keep it in the frame).
#pragma once

#include <coroutine>
#include <utility>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/await_traits.hpp"
#include "kio/core/task.hpp"

namespace kio {

struct [[nodiscard]] ThisCancelTokenAwaiter {
  CancelToken token;
  bool await_ready() const noexcept { return false; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    token = detail::token_of(h);
    return false;  // never actually suspends
  }
  CancelToken await_resume() const noexcept { return token; }
};

/// The ambient cancel token of the calling task.
inline ThisCancelTokenAwaiter this_cancel_token() noexcept {
  return {};
}

namespace detail {
template <class Aw>
Task<await_result_t<Aw>> as_task(Aw aw) {
  co_return co_await std::move(aw);
}

template <class T>
struct [[nodiscard]] WithCancelAwaiter {
  Task<T> task;
  CancelToken token;
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
    auto h = task.handle();
    h.promise().continuation = awaiting;
    h.promise().token = token;
    return h;
  }
  T await_resume() { return task.handle().promise().take(); }
};
}  // namespace detail

/// Awaits `aw` (a Task or any awaitable) with `token` as its ambient cancellation token.
template <class Aw>
auto with_cancel(CancelToken token, Aw&& aw) {
  using T = detail::await_result_t<Aw>;
  if constexpr (is_task_v<Aw>) {
    return detail::WithCancelAwaiter<T>{std::forward<Aw>(aw), token};
  } else {
    return detail::WithCancelAwaiter<T>{detail::as_task(std::forward<Aw>(aw)), token};
  }
}

}  // namespace kio
