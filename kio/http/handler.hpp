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

class Handler {
 public:
  template <class F>
    requires(SyncHandler<std::decay_t<F>> || AsyncHandler<std::decay_t<F>>)
  Handler(F&& f) {  // NOLINT: implicit by design, so routes take lambdas directly
    if constexpr (SyncHandler<std::decay_t<F>>)
      sync_ = std::forward<F>(f);
    else
      async_ = std::forward<F>(f);
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
