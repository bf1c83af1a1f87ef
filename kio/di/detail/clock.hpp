// Cheap timestamps for start durations: the TSC where there is one (a few ns per read, against
// tens of ns for steady_clock on a VM), converted to seconds with a one-off calibration.
#pragma once

#include <chrono>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace kio::di::detail {

inline std::uint64_t stamp() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

/// Seconds per stamp() tick (measured once, over about a millisecond).
double seconds_per_stamp() noexcept;

}  // namespace kio::di::detail
