// Shared by the benchmarks/micro programs: failure reporting that makes the program exit
// non-zero (so the smoke runs in tools/test catch a benchmark that measured nothing), a
// per-core countdown a benchmark body waits on, and main().
#pragma once

#include <benchmark/benchmark.h>

#include <coroutine>
#include <utility>

#include "kio/core/detail/executor.hpp"

namespace kio_bench {

inline bool failed = false;

/// Marks the benchmark as failed (it is skipped with `why`) and the program's exit status 1.
inline void fail(benchmark::State& state, const char* why) {
  failed = true;
  state.SkipWithError(why);
}

/// Counts finished tasks of a batch and resumes the one waiting task when the last one is done.
/// Per-core: every call happens on the worker that owns it. The waiter is resumed through the
/// executor's ready queue (never inline), like every kio wake-up.
class Countdown {
 public:
  Countdown() = default;
  explicit Countdown(long n) noexcept : remaining_(n) {}
  void reset(long n) noexcept { remaining_ = n; }
  void done() noexcept {
    if (--remaining_ == 0 && waiter_)
      kio::detail::this_executor("Countdown").schedule(std::exchange(waiter_, {}));
  }
  long remaining() const noexcept { return remaining_; }

  struct [[nodiscard]] Awaiter {
    Countdown& c;
    bool await_ready() const noexcept { return c.remaining_ == 0; }
    void await_suspend(std::coroutine_handle<> h) noexcept { c.waiter_ = h; }
    void await_resume() const noexcept {}
  };
  Awaiter wait() noexcept { return Awaiter{*this}; }

 private:
  long remaining_ = 0;
  std::coroutine_handle<> waiter_{};
};

/// main() of a benchmark program: runs the registered benchmarks; exit status 1 if one failed.
inline int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return failed ? 1 : 0;
}

}  // namespace kio_bench
