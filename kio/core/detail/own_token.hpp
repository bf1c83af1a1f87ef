// set_own_token — replaces the ambient cancellation token of the calling coroutine.
//
//   CancelSource waits(co_await kio::this_cancel_token());
//   co_await kio::detail::set_own_token(waits.token());  // what follows waits under `waits`
//   ... co_await stream.recv(); co_await child(); ...
//   co_await kio::detail::set_own_token(outer);           // before `waits` goes away
//
// kio::with_cancel runs what it awaits as a child task under another token: a frame for as long
// as the wait lasts. Swapping the caller's own token costs nothing, for code that waits under a
// scope of its own many times (an HTTP connection's idle wait: idle connections are many).
// Every kio awaiter reads the ambient token when it suspends, and a child Task copies it then,
// so the swap affects exactly the waits that begin after it.
// Never suspends. Threading: the calling core. Lifetime: the source behind `token` must outlive
// every wait begun under it; put the previous token back before the source is destroyed.
#pragma once

#include <coroutine>
#include <type_traits>

#include "kio/core/cancel.hpp"
#include "kio/core/task.hpp"

namespace kio::detail {

struct [[nodiscard]] SetOwnTokenAwaiter {
  CancelToken token;
  bool await_ready() const noexcept { return false; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    static_assert(std::is_base_of_v<PromiseBase, P>, "set_own_token needs a kio coroutine");
    h.promise().token = token;
    return false;  // never actually suspends
  }
  void await_resume() const noexcept {}
};

inline SetOwnTokenAwaiter set_own_token(CancelToken token) noexcept {
  return SetOwnTokenAwaiter{token};
}

}  // namespace kio::detail
