// await_result_t<Aw>: the type `co_await aw` produces, for Tasks and any awaitable.
#pragma once

#include <coroutine>
#include <type_traits>
#include <utility>

namespace kio::detail {

template <class Aw>
decltype(auto) get_awaiter(Aw&& aw) {
  if constexpr (requires { std::forward<Aw>(aw).operator co_await(); }) {
    return std::forward<Aw>(aw).operator co_await();
  } else if constexpr (requires { operator co_await(std::forward<Aw>(aw)); }) {
    return operator co_await(std::forward<Aw>(aw));
  } else {
    return std::forward<Aw>(aw);
  }
}

template <class Aw>
using awaiter_t = decltype(get_awaiter(std::declval<Aw>()));

template <class Aw>
using await_result_t = decltype(std::declval<awaiter_t<Aw>&>().await_resume());

}  // namespace kio::detail
