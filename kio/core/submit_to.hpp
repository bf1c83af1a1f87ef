// kio::submit_to — run a function on another core and await its result here.
//
//   std::size_t n = co_await kio::submit_to(1, [&] { return cache.size(); });
//   User u = co_await kio::submit_to(owner, [id] { return load_user(id); });  // Task<User>
//
// `fn` is any callable returning R or Task<R>; co_await yields R (or rethrows what fn threw).
// Runs on: `fn` is invoked on `core` (a Task it returns runs there too, as a root task of that
// core); the caller resumes on its own core. For the caller's own core fn runs in place.
// Transport: the request is a message inside this awaiter (no allocation); it travels through the
// SPSC ring from this core to `core`, the reply through the ring back. A full ring delays the
// message, never drops it.
// Cancellation: not cancellable: the caller waits for fn to finish. If the target core is
// shutting down the request is not run and co_await throws std::system_error(operation_canceled).
// Lifetime: the request, fn included, lives in the awaiting frame until the reply is back. fn is
// invoked on the target core, and a Task it returns runs and is destroyed there; fn itself is
// destroyed with the caller's frame. Whatever fn references is used from the other core while
// the caller is suspended: this core's other tasks must not touch it meanwhile.
// Errors: exceptions from fn propagate to the caller.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include "kio/core/detail/executor.hpp"
#include "kio/core/detail/mailbox.hpp"
#include "kio/core/detail/root_task.hpp"
#include "kio/core/runtime.hpp"
#include "kio/core/task.hpp"

namespace kio {

namespace detail {
template <class R>
struct unwrap_task {
  using type = R;
  static constexpr bool is_task = false;
};
template <class T>
struct unwrap_task<Task<T>> {
  using type = T;
  static constexpr bool is_task = true;
};
}  // namespace detail

template <class F>
  requires std::invocable<F&>
class [[nodiscard]] SubmitToAwaiter : detail::Message {
  using Invoked = std::invoke_result_t<F&>;
  static constexpr bool returns_task = detail::unwrap_task<Invoked>::is_task;

 public:
  using value_type = typename detail::unwrap_task<Invoked>::type;

  SubmitToAwaiter(detail::Executor& home, unsigned target, F fn)
      : fn_(std::move(fn)), home_(home), target_(target) {}
  SubmitToAwaiter(const SubmitToAwaiter&) = delete;
  SubmitToAwaiter& operator=(const SubmitToAwaiter&) = delete;

  bool await_ready() {
    if constexpr (!returns_task) {
      if (target_ == home_.index()) {
        invoke_plain();  // same core, plain function: run it in place
        return true;
      }
    }
    return false;
  }

  template <class P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) {
    if constexpr (returns_task) {
      if (target_ == home_.index()) {  // same core: just await the task
        local_.emplace(fn_());
        auto th = local_->handle();
        th.promise().continuation = h;
        th.promise().token = detail::token_of(h);
        return th;
      }
    }
    waiter_ = h;
    handle = &on_request;
    home_.send(target_, this);
    return std::noop_coroutine();
  }

  value_type await_resume() {
    if constexpr (returns_task) {
      if (local_) return local_->handle().promise().take();
    }
    if (canceled_)
      throw std::system_error(std::make_error_code(std::errc::operation_canceled),
                              "kio::submit_to: core " + std::to_string(target_) + " is stopping");
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<value_type>) return std::move(*value_);
  }

 private:
  using Storage = std::conditional_t<std::is_void_v<value_type>, bool, std::optional<value_type>>;

  void invoke_plain() noexcept
    requires(!returns_task)
  {
    try {
      if constexpr (std::is_void_v<value_type>)
        fn_();
      else
        value_.emplace(fn_());
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  // On the target core.
  static void on_request(Message* m, detail::Executor& here, bool stopped) noexcept {
    auto* self = static_cast<SubmitToAwaiter*>(m);
    if (stopped) {
      self->canceled_ = true;
      self->reply(here);
    } else if constexpr (returns_task) {
      serve(self, here).start_on(here);
    } else {
      self->invoke_plain();
      self->reply(here);
    }
  }
  static detail::RootTask serve(SubmitToAwaiter* self, detail::Executor& here) {
    try {
      if constexpr (std::is_void_v<value_type>)
        co_await self->fn_();
      else
        self->value_.emplace(co_await self->fn_());
    } catch (...) {
      self->error_ = std::current_exception();
    }
    self->reply(here);
  }
  void reply(detail::Executor& here) noexcept {
    handle = &on_reply;
    here.send(home_.index(), this);
  }

  // Back on the caller's core.
  static void on_reply(Message* m, detail::Executor& here, bool stopped) noexcept {
    auto* self = static_cast<SubmitToAwaiter*>(m);
    if (!stopped) here.schedule(self->waiter_);  // stopped: the caller's frame is being torn down
  }

  F fn_;
  detail::Executor& home_;
  unsigned target_;
  std::coroutine_handle<> waiter_;
  Storage value_{};
  std::exception_ptr error_;
  bool canceled_ = false;
  // Same-core Task path; unused (and empty) for plain functions.
  std::conditional_t<returns_task, std::optional<Invoked>, bool> local_{};
};

/// Runs `fn` on worker `core` of the calling worker's runtime. Throws std::out_of_range for a
/// core that does not exist.
template <class F>
  requires std::invocable<F&>
SubmitToAwaiter<std::decay_t<F>> submit_to(unsigned core, F&& fn) {
  detail::Executor& home = detail::this_executor("kio::submit_to");
  if (core >= home.runtime().workers())
    throw std::out_of_range("kio::submit_to: no such core " + std::to_string(core));
  return SubmitToAwaiter<std::decay_t<F>>(home, core, std::forward<F>(fn));
}

}  // namespace kio
