// kio::this_core / kio::core_count — where the calling code runs.
//
// Threading: call from a worker thread. Outside workers this_core() returns kio::no_core and
// core_count() returns 0.
#pragma once

#include <limits>

#include "kio/core/detail/executor.hpp"

namespace kio {

inline constexpr unsigned no_core = std::numeric_limits<unsigned>::max();

/// Index of the worker running the caller (0-based), or no_core outside workers.
inline unsigned this_core() noexcept {
  detail::Executor* e = detail::current_executor();
  return e ? e->index() : no_core;
}

/// Number of workers in the caller's runtime, or 0 outside workers.
unsigned core_count() noexcept;

}  // namespace kio
