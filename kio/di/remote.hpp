// kio::di::Remote<T, Q> — a handle to a provider that may live on another core; every call is a
// kio::submit_to message to the provider's core (in place when it is the calling core).
//
//   [](kio::di::Remote<Config> cfg) -> Routes { return Routes(cfg); }      // factory slot
//   kio::Result<std::string> g = co_await cfg.call([](Config& c) { return c.greeting; });
//   auto r = co_await cfg.call([](Config& c) -> kio::Task<int> { co_return co_await c.reload(); });
//
// As a slot: exactly one provider, required; it may be on any core (an every_core provider binds
// the instance on the dependent's own core). Elements of All<T> and PerCore<T> are Remotes too.
// call(fn): fn(T&) returns R or Task<R>; co_await gives Result<R> (a Result fn returns is not
//   nested). Runs on: fn runs on core() as a kio task of that core; the caller resumes on its
//   own core. The handle is a small value: copy it to any core.
// Cancellation / lifetime: the provider's stop waits for calls already running in it; a call that
//   arrives after the provider began stopping, after it was removed, or for an older incarnation
//   than the one this handle was bound to, does not run fn and ends with
//   std::errc::operation_canceled (also when the provider's core is shutting down). Never UB, no
//   assert. fn is referenced, not copied, while it runs on the other core: the caller's frame
//   keeps it alive until the call returns.
// Errors: an exception thrown by fn propagates to the caller.
// Threading: fn runs on the provider's core, so it may touch the provider freely; what it
//   captures by reference is used from that core while the caller waits.
#pragma once

#include <concepts>
#include <system_error>
#include <type_traits>
#include <utility>

#include "kio/core/result.hpp"
#include "kio/core/submit_to.hpp"
#include "kio/core/task.hpp"
#include "kio/core/this_core.hpp"
#include "kio/di/detail/remote_target.hpp"
#include "kio/di/qualifier.hpp"

namespace kio::di {

namespace detail {
struct SlotAccess;

template <class T, class F>
using remote_result_t =
    flat_result_t<typename kio::detail::unwrap_task<std::invoke_result_t<F&, T&>>::type>;

struct CallRelease {
  const RemoteTarget& t;
  Node* n;
  ~CallRelease() { release_call(t, n); }
};

// On the provider's core.
template <class T, class R, class F>
Task<R> call_here(const RemoteTarget& t, F& fn) {
  Node* n = acquire_call(t);
  if (!n) co_return std::errc::operation_canceled;
  CallRelease guard{t, n};
  T& obj = *static_cast<T*>(t.cast(object_of(n)));
  using Inv = std::invoke_result_t<F&, T&>;
  if constexpr (is_task_v<Inv>) {
    if constexpr (std::is_void_v<typename Inv::value_type>) {
      co_await fn(obj);
      co_return R{};
    } else {
      co_return R(co_await fn(obj));
    }
  } else if constexpr (std::is_void_v<Inv>) {
    fn(obj);
    co_return R{};
  } else {
    co_return R(fn(obj));
  }
}

template <class T, class R, class F>
Task<R> remote_call(RemoteTarget t, F fn) {
  if (t.core == kio::this_core()) co_return co_await call_here<T, R>(t, fn);
  try {
    co_return co_await kio::submit_to(t.core, [&t, &fn] { return call_here<T, R>(t, fn); });
  } catch (const std::system_error& e) {
    if (e.code() != std::errc::operation_canceled) throw;  // else: its core is shutting down
  }
  co_return std::errc::operation_canceled;
}
}  // namespace detail

template <class T, Qualifier Q = unnamed>
class Remote {
 public:
  using type = T;
  using qualifier = Q;

  Remote() = default;  // an unbound handle: every call ends with operation_canceled

  /// Runs fn(provider) on the provider's core; see the header comment.
  template <class F>
    requires std::invocable<F&, T&>
  [[nodiscard]] Task<detail::remote_result_t<T, F>> call(F fn) const {
    return detail::remote_call<T, detail::remote_result_t<T, F>>(t_, std::move(fn));
  }

  /// The provider's core.
  unsigned core() const noexcept { return t_.core; }
  /// The provider if it lives on the calling core and is active, else nullptr. Valid until the
  /// caller suspends (a provider can only stop while its users are suspended or gone).
  T* local() const noexcept {
    if (!t_.part || t_.core != kio::this_core()) return nullptr;
    detail::Node* n = detail::acquire_call(t_);
    if (!n) return nullptr;
    T* p = static_cast<T*>(t_.cast(detail::object_of(n)));
    detail::release_call(t_, n);
    return p;
  }
  /// Whether the handle was ever bound (a default-constructed one is not).
  explicit operator bool() const noexcept { return t_.part != nullptr; }

 private:
  friend struct detail::SlotAccess;
  explicit Remote(const detail::RemoteTarget& t) noexcept : t_(t) {}
  detail::RemoteTarget t_{};
};

}  // namespace kio::di
