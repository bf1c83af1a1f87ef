// kio::collect_per_core — reads a value on every core of the runtime and sums it.
//
//   kio::PerCore<kio::CoreMetrics> m = co_await
//   kio::collect_per_core(&kio::CoreMetrics::this_core); for (unsigned c = 0; c < m.cores.size();
//   ++c) use(c, m.cores[c]); use_total(m.total);
//
// `fn` is a plain callable returning T (copied to each core); T is default-constructible,
// copyable and has `T& operator+=(const T&)`. It is how kio's metrics (CoreMetrics,
// net::NetMetrics, http::Metrics) are gathered without atomics.
// Runs on: `fn` runs on core 0, 1, ... in turn, each through kio::submit_to (on the calling core
// in place); the caller resumes on its own core. Not cancellable (like submit_to).
// Consistency: each core's value is read at one instant between two of that core's tasks, so the
// values of one core agree with each other. Cores are read one after the other, not at one
// common instant, so the total is the sum of states each core passed through during the call.
// The reads are cross-core messages themselves, counted in CoreMetrics after the read: a snapshot
// does not see its own messages.
// Lifetime: `fn` and what it references must stay valid until the co_await returns.
// Errors: exceptions from `fn` propagate; a core that is shutting down makes co_await throw
// std::system_error(operation_canceled). Allocates the vector (one per call).
#pragma once

#include <concepts>
#include <type_traits>
#include <utility>
#include <vector>

#include "kio/core/core_metrics.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/runtime.hpp"
#include "kio/core/submit_to.hpp"
#include "kio/core/task.hpp"

namespace kio {

/// One value per core (index = core) and their sum.
template <class T>
struct PerCore {
  std::vector<T> cores;
  T total{};
};

template <class F, class T = std::decay_t<std::invoke_result_t<F&>>>
  requires std::invocable<F&> && std::default_initializable<T> &&
           requires(T& a, const T& b) { a += b; }
[[nodiscard]] Task<PerCore<T>> collect_per_core(F fn) {
  const unsigned n = detail::this_executor("kio::collect_per_core").runtime().workers();
  PerCore<T> out;
  out.cores.reserve(n);
  for (unsigned c = 0; c < n; ++c) {
    out.cores.push_back(co_await submit_to(c, fn));
    out.total += out.cores.back();
  }
  co_return out;
}

}  // namespace kio
