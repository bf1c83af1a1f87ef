// kio::Sharded<T> — one instance of a service per core, each built, used and destroyed on its
// own core (the per-core services pattern).
//
//   kio::Sharded<Counter> counters;
//   co_await counters.start(/* Counter's constructor arguments */);
//   counters.local().hit();                                        // this core's instance
//   auto n = co_await counters.invoke_on(1, [](Counter& c) { return c.value(); });
//   co_await counters.invoke_on_all([](Counter& c) { c.reset(); });
//   std::vector<std::size_t> per_core =                            // [core 0's, core 1's, ...]
//       co_await counters.map([](Counter& c) { return c.value(); });
//   std::size_t total = co_await counters.map_reduce(               // folded as they arrive
//       [](Counter& c) { return c.value(); }, std::size_t{0}, std::plus<>{});
//   co_await counters.stop();  // destroys them, each on its core
//
// Runs on: instance i is constructed, invoked and destroyed on core i only; start/stop,
// invoke_on_all, map and map_reduce run from any core and wait for every core. invoke_on_all,
// map and map_reduce call fn on every core at the same time (one submit_to per core, all in
// flight together, like Seastar's map_reduce0), so fn itself is shared by the cores: it must
// be safe to call concurrently (a lambda that only reads its captures is). fn may return R or
// Task<R> (the task runs on the instance's core). map_reduce's `reduce(acc, r)` runs on the
// calling core, once per core, in the order the results come back (not core order): give it an
// associative and commutative operation, or use map() for results in core order.
// Threading: the Sharded object itself may be shared by all cores (it never changes between
// start and stop); each T is touched only by its own core, so T needs no synchronisation.
// Cancellation: not cancellable (each core's call is a submit_to, which waits for fn).
// Lifetime: call stop() before the Sharded is destroyed (the destructor of a started Sharded
// terminates with a message otherwise: its instances would be destroyed on the wrong core).
// fn, init and reduce live in the awaiting frame until every core has answered. Results travel
// back by move.
// Errors: exceptions from T's constructor or from fn propagate; start() destroys the instances
// already built before rethrowing. invoke_on_all, map and map_reduce rethrow the first exception
// (from fn or reduce) after every core finished; the other cores' results are then discarded.
#pragma once

#include <concepts>
#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "kio/core/detail/executor.hpp"
#include "kio/core/log.hpp"
#include "kio/core/spawn.hpp"
#include "kio/core/submit_to.hpp"
#include "kio/core/task.hpp"
#include "kio/core/this_core.hpp"

namespace kio {

template <class T>
class Sharded {
 public:
  Sharded() = default;
  Sharded(const Sharded&) = delete;
  Sharded& operator=(const Sharded&) = delete;
  ~Sharded() {
    for (auto& p : instances_)
      if (p) {
        log_error("kio::Sharded destroyed without stop(); call co_await stop() first");
        std::terminate();
      }
  }

  /// Constructs T(args...) on every core. Arguments are copied to each core.
  template <class... Args>
    requires std::constructible_from<T, Args&...>
  Task<void> start(Args... args) {
    instances_.resize(core_count());
    std::exception_ptr failed;
    try {
      // The closure lives in for_each_core's frame until every call it made has finished.
      // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines)
      co_await for_each_core([&](unsigned c) -> Task<void> {
        co_await submit_to(c, [&, c] { instances_[c] = std::make_unique<T>(args...); });
      });
    } catch (...) {
      failed = std::current_exception();
    }
    if (failed) {
      co_await stop();
      std::rethrow_exception(failed);
    }
  }

  /// Destroys every instance on its own core.
  Task<void> stop() {
    // The closure lives in for_each_core's frame until every call it made has finished.
    // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines)
    co_await for_each_core([this](unsigned c) -> Task<void> {
      co_await submit_to(c, [this, c] { instances_[c].reset(); });
    });
  }

  /// The calling core's instance.
  T& local() noexcept { return *instances_[this_core()]; }

  /// Runs fn(instance) on `core`, returning its result (or the result of the Task it returns).
  template <class F>
    requires std::invocable<F&, T&>
  auto invoke_on(unsigned core, F fn) {
    return submit_to(core,
                     [this, core, fn = std::move(fn)]() mutable { return fn(*instances_[core]); });
  }

  /// Runs fn(instance) on every core concurrently and waits for all; rethrows the first
  /// exception after every core finished.
  template <class F>
    requires std::invocable<F&, T&>
  Task<void> invoke_on_all(F fn) {
    // The closure lives in for_each_core's frame until every call it made has finished.
    // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines)
    co_await for_each_core([this, &fn](unsigned c) -> Task<void> {
      co_await submit_to(c, [this, c, &fn] { return fn(*instances_[c]); });
    });
  }

  /// What fn(instance) produces: R for a fn returning R or Task<R>.
  template <class F>
  using mapped_t = typename detail::unwrap_task<std::invoke_result_t<F&, T&>>::type;

  /// Runs fn(instance) on every core concurrently; the results in core order (element i from
  /// core i).
  template <class F>
    requires std::invocable<F&, T&> && (!std::is_void_v<mapped_t<F>>)
  Task<std::vector<mapped_t<F>>> map(F fn) {
    using R = mapped_t<F>;
    std::vector<std::optional<R>> slots(instances_.size());
    // The closure lives in for_each_core's frame until every call it made has finished.
    // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines)
    co_await for_each_core([this, &fn, &slots](unsigned c) -> Task<void> {
      slots[c].emplace(co_await submit_to(c, [this, c, &fn] { return fn(*instances_[c]); }));
    });
    std::vector<R> out;
    out.reserve(slots.size());
    for (auto& v : slots)
      out.push_back(std::move(*v));
    co_return out;
  }

  /// Runs map(instance) on every core concurrently and folds the results on the calling core
  /// as they arrive: acc = reduce(std::move(acc), std::move(result)), starting from init.
  template <class M, class Acc, class Reduce>
    requires std::invocable<M&, T&> &&
             (!std::is_void_v<mapped_t<M>>) && std::invocable<Reduce&, Acc, mapped_t<M>> &&
             std::convertible_to<std::invoke_result_t<Reduce&, Acc, mapped_t<M>>, Acc>
  Task<Acc> map_reduce(M map, Acc init, Reduce reduce) {
    Acc acc = std::move(init);
    // The closure lives in for_each_core's frame until every call it made has finished.
    // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines)
    co_await for_each_core([this, &map, &acc, &reduce](unsigned c) -> Task<void> {
      mapped_t<M> r = co_await submit_to(c, [this, c, &map] { return map(*instances_[c]); });
      acc = reduce(std::move(acc), std::move(r));  // back on the calling core
    });
    co_return acc;
  }

 private:
  // Runs body(c) for every core c concurrently (as local tasks), waits for all, rethrows the
  // first exception.
  template <class Body>
  static Task<void> for_each_core(Body body) {
    struct Join {
      unsigned pending;
      std::exception_ptr error;
      std::coroutine_handle<> waiter;
    } join{core_count(), nullptr, {}};
    auto one = [](Body& each, unsigned c, Join& j) -> Task<void> {
      try {
        co_await each(c);
      } catch (...) {
        if (!j.error) j.error = std::current_exception();
      }
      if (--j.pending == 0 && j.waiter) detail::this_executor("kio::Sharded").schedule(j.waiter);
    };
    const unsigned n = join.pending;
    for (unsigned c = 0; c < n; ++c)
      spawn(one(body, c, join));
    struct Wait {
      Join& j;
      bool await_ready() const noexcept { return j.pending == 0; }
      void await_suspend(std::coroutine_handle<> h) noexcept { j.waiter = h; }
      void await_resume() const noexcept {}
    };
    co_await Wait{join};
    if (join.error) std::rethrow_exception(join.error);
  }

  std::vector<std::unique_ptr<T>> instances_;
};

}  // namespace kio
