// kio::http::Handler — a request handler: synchronous `Response(Request&)` or asynchronous
// `Task<Response>(Request&)`.
//
//   router.get("/", [](kio::http::Request&) { return kio::http::Response::text("hi"); });  // sync
//   router.get("/slow", [](kio::http::Request&) -> kio::Task<kio::http::Response> {       // async
//     co_await kio::sleep_for(10ms);
//     co_return kio::http::Response::text("done");
//   });
//
//   router.get("/hello", kio::http::Response::text("Hello, World!"));                  // fixed
//
// A fixed response (a Response given instead of a function) is the same for every request: its
// head is serialised once, when the route is added, and each request only copies it with the
// current Date (HTTP/1.0, HEAD and closing connections take the general path). It cannot have a
// file body (std::invalid_argument); a borrowed body is copied.
// The signature: anything callable with a `kio::http::Request&` (a `Request&`, `const
// Request&` or `auto&` parameter) that returns exactly `kio::http::Response` (by value) or
// `kio::Task<kio::http::Response>`. The concept kio::http::RequestHandler<F> checks it; a route
// given anything else fails to compile with a static_assert that says which part is wrong
// ("must be callable with kio::http::Request&" / "must return kio::http::Response or
// kio::Task<kio::http::Response>"), pointing at the route() / get() call. A coroutine lambda
// needs its return type spelled out (`-> kio::Task<kio::http::Response>`).
// Synchronous handlers are the fast path: called inline while the receive batch is processed,
// no coroutine frame. Asynchronous handlers are awaited in order (HTTP/1.1 responses must keep
// request order); the connection waits for each one before the next request of the batch.
// Runs on: the core that accepted the connection; handlers run on every core concurrently, so
// shared state they touch must be thread-safe (or per core).
// Lifetime: the handler object (and a lambda's captures) lives in the Router, which the server
// keeps until every connection finished — so an async lambda may use its captures. The Request&
// is valid until the handler returns (sync) or its Task completes (async).
// Errors: an exception escaping a handler becomes a 500 response and the connection is closed.
#pragma once

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

#include <memory>

#include "kio/core/task.hpp"
#include "kio/http/detail/serialize.hpp"
#include "kio/http/request.hpp"
#include "kio/http/response.hpp"

namespace kio::http {

template <class F>
concept SyncHandler =
    std::invocable<F&, Request&> && std::same_as<std::invoke_result_t<F&, Request&>, Response>;
template <class F>
concept AsyncHandler = std::invocable<F&, Request&> &&
                       std::same_as<std::invoke_result_t<F&, Request&>, Task<Response>>;
/// What a route accepts: a copy-constructible callable, `Response(Request&)` or
/// `Task<Response>(Request&)` (see above).
template <class F>
concept RequestHandler = std::copy_constructible<std::decay_t<F>> &&
                         (SyncHandler<std::decay_t<F>> || AsyncHandler<std::decay_t<F>>);

namespace detail {
/// The static_asserts behind Handler's constructor: one per rule, so the message names the rule
/// that F breaks (the compiler prints F's type in the instantiation context).
template <class F>
constexpr bool check_handler() {
  static_assert(std::copy_constructible<F>,
                "kio::http handler: must be copy-constructible (the Router stores a copy); "
                "capture move-only state through a std::shared_ptr");
  static_assert(std::invocable<F&, Request&>,
                "kio::http handler: must be callable with kio::http::Request&; write "
                "[](kio::http::Request& req) { ... } (const Request& or auto& work too)");
  if constexpr (std::invocable<F&, Request&>) {
    using R = std::invoke_result_t<F&, Request&>;
    static_assert(std::same_as<R, Response> || std::same_as<R, Task<Response>>,
                  "kio::http handler: must return kio::http::Response (synchronous) or "
                  "kio::Task<kio::http::Response> (asynchronous, declare it with "
                  "-> kio::Task<kio::http::Response>); wrap a string with "
                  "kio::http::Response::text(...)");
  }
  return true;
}
}  // namespace detail

class Handler {
 public:
  /// Any callable; one that is not a RequestHandler fails to compile with a message saying why.
  template <class F>
    requires(!std::same_as<std::remove_cvref_t<F>, Handler> &&
             !std::same_as<std::remove_cvref_t<F>, Response>)
  Handler(F&& f) {  // NOLINT: implicit by design, so routes take lambdas directly
    static_assert(detail::check_handler<std::decay_t<F>>());
    if constexpr (RequestHandler<F>) {
      if constexpr (SyncHandler<std::decay_t<F>>)
        sync_ = std::forward<F>(f);
      else
        async_ = std::forward<F>(f);
    }
  }

  /// A fixed response (see above).
  Handler(Response fixed)  // NOLINT: implicit by design, like the function forms
      : fixed_(std::make_shared<const detail::FixedResponse>(std::move(fixed))) {}

  bool is_async() const noexcept { return static_cast<bool>(async_); }
  /// The fixed response, or nullptr for a function handler.
  const detail::FixedResponse* fixed() const noexcept { return fixed_.get(); }
  Response call(Request& req) const { return fixed_ ? fixed_->response : sync_(req); }
  Task<Response> call_async(Request& req) const { return async_(req); }

 private:
  std::shared_ptr<const detail::FixedResponse> fixed_;
  std::function<Response(Request&)> sync_;
  std::function<Task<Response>(Request&)> async_;
};

}  // namespace kio::http
