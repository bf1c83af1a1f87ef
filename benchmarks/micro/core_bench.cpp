// Core runtime micro-benchmarks: coroutine create/await/destroy, yield, io_uring NOP round trips,
// timers, and detached spawn. Reports items/s (and ns per item via tools/bench-micro).
//
// How these run inside kio: Google Benchmark calls each BM_ function on the main thread; the
// function hands a Task to a process-wide one-worker Runtime with block_on, and the Task runs the
// whole `for (auto _ : state)` loop on the worker thread. Google Benchmark reads the CPU clock of
// the thread that runs the loop, so CPU times are the worker's; benchmarks that wait for the
// kernel or a clock also report real time (UseRealTime). The worker is pinned to the first CPU of
// the process affinity mask (run under `taskset -c N` to choose it).
//
// A benchmark whose result is wrong (an operation failed, a count is off) calls SkipWithError and
// makes the program exit with status 1, so the smoke test registered in meson.build fails.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "bench_support.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/result.hpp"
#include "kio/core/runtime.hpp"
#include "kio/core/sleep.hpp"
#include "kio/core/spawn.hpp"
#include "kio/core/task.hpp"
#include "kio/core/yield.hpp"
#include "kio/io/nop.hpp"

namespace {

using kio_bench::Countdown;
using kio_bench::fail;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

kio::Runtime& runtime() {
  static kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  return rt;
}

/// Runs `body(state)` (the whole measured loop) on the runtime's worker.
void run_on_worker(benchmark::State& state, kio::Task<void> (*body)(benchmark::State&)) {
  runtime().block_on(body(state));
}

// ---- coroutines ----------------------------------------------------------------------------

kio::Task<int> leaf(int x) {
  co_return x + 1;
}

kio::Task<int> chain(int depth) {
  if (depth == 0) co_return 1;
  co_return 1 + co_await chain(depth - 1);
}

/// One simple task per iteration: frame from the pool, symmetric transfer in and out, destroy.
kio::Task<void> task_await_body(benchmark::State& state) {
  int acc = 0;
  for (auto _ : state) {
    acc = co_await leaf(acc);
    benchmark::DoNotOptimize(acc);
  }
  if (acc != static_cast<int>(state.iterations())) fail(state, "wrong result");
  state.SetItemsProcessed(state.iterations());
}
void BM_TaskCreateAwaitDestroy(benchmark::State& state) {
  run_on_worker(state, task_await_body);
}
BENCHMARK(BM_TaskCreateAwaitDestroy);

/// A chain of `depth` nested awaits per iteration; items are tasks.
kio::Task<void> task_chain_body(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  for (auto _ : state) {
    int v = co_await chain(depth - 1);
    if (v != depth) {
      fail(state, "wrong chain result");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * depth);
}
void BM_TaskChain(benchmark::State& state) {
  run_on_worker(state, task_chain_body);
}
BENCHMARK(BM_TaskChain)->Arg(16);

/// co_await kio::yield(): through the ready queue and back.
kio::Task<void> yield_body(benchmark::State& state) {
  for (auto _ : state)
    co_await kio::yield();
  state.SetItemsProcessed(state.iterations());
}
void BM_Yield(benchmark::State& state) {
  run_on_worker(state, yield_body);
}
BENCHMARK(BM_Yield);

// ---- io_uring ------------------------------------------------------------------------------

/// One IORING_OP_NOP at a time: prepare, submit (io_uring_enter), reap, resume.
kio::Task<void> nop_body(benchmark::State& state) {
  for (auto _ : state) {
    const kio::Result<void> r = co_await kio::nop();
    if (!r) {
      fail(state, "nop failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_NopRoundTrip(benchmark::State& state) {
  run_on_worker(state, nop_body);
}
BENCHMARK(BM_NopRoundTrip)->UseRealTime();

// Results are bound to a variable before testing them: g++ 12.2 miscompiles a coroutine with
// reference parameters whose body is `if (co_await x) ...` (the body never runs; see the report).
kio::Task<void> nop_task(Countdown& cd, bool& ok) {
  const kio::Result<void> r = co_await kio::nop();
  if (!r) ok = false;
  cd.done();
}

/// `n` NOPs in flight at once (one spawned task each): submissions and completions batch.
kio::Task<void> nop_batch_body(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Countdown cd;
  bool ok = true;
  for (auto _ : state) {
    cd.reset(n);
    for (int i = 0; i < n; ++i)
      kio::spawn(nop_task(cd, ok));
    co_await cd.wait();
  }
  if (!ok) fail(state, "nop failed");
  state.SetItemsProcessed(state.iterations() * n);
}
void BM_NopBatch(benchmark::State& state) {
  run_on_worker(state, nop_batch_body);
}
BENCHMARK(BM_NopBatch)->Arg(64)->UseRealTime();

// ---- timers --------------------------------------------------------------------------------

/// sleep_for(0): arm a timer whose deadline has passed; it fires on the next loop turn.
kio::Task<void> sleep_zero_body(benchmark::State& state) {
  for (auto _ : state) {
    const kio::Result<void> r = co_await kio::sleep_for(0ns);
    if (!r) {
      fail(state, "sleep failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_TimerArmFireZero(benchmark::State& state) {
  run_on_worker(state, sleep_zero_body);
}
BENCHMARK(BM_TimerArmFireZero);

kio::Task<void> timer_task(Clock::time_point when, Countdown& cd, bool& ok) {
  const kio::Result<void> r = co_await kio::sleep_until(when);
  if (!r) ok = false;
  cd.done();
}

/// `n` timers pending at once with distinct, already-expired deadlines: heap insert + pop each
/// (includes spawning the task that owns each timer; compare BM_SpawnDetached).
kio::Task<void> many_timers_body(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<Clock::duration> offsets(n);
  std::mt19937 rng(42);
  for (auto& o : offsets)
    o = std::chrono::nanoseconds(rng() % 1'000'000);
  Countdown cd;
  bool ok = true;
  for (auto _ : state) {
    const auto base = Clock::now() - 2ms;
    cd.reset(n);
    for (int i = 0; i < n; ++i)
      kio::spawn(timer_task(base + offsets[i], cd, ok));
    co_await cd.wait();
  }
  if (!ok) fail(state, "sleep failed");
  state.SetItemsProcessed(state.iterations() * n);
}
void BM_TimersMany(benchmark::State& state) {
  run_on_worker(state, many_timers_body);
}
BENCHMARK(BM_TimersMany)->Arg(1000)->Arg(10000);

/// sleep_for(50us): how late a short timer fires. ns/op is the full sleep; the counter
/// `late_us` is the mean time past the deadline.
kio::Task<void> sleep_short_body(benchmark::State& state) {
  const auto d = std::chrono::microseconds(state.range(0));
  Clock::duration late{};
  for (auto _ : state) {
    const auto deadline = Clock::now() + d;
    const kio::Result<void> r = co_await kio::sleep_until(deadline);
    if (!r) {
      fail(state, "sleep failed");
      break;
    }
    const auto woke = Clock::now();
    if (woke < deadline) {
      fail(state, "timer fired early");
      break;
    }
    late += woke - deadline;
  }
  state.counters["late_us"] = benchmark::Counter(
      std::chrono::duration<double, std::micro>(late).count() /
      static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1)));
  state.SetItemsProcessed(state.iterations());
}
void BM_TimerSleepShort(benchmark::State& state) {
  run_on_worker(state, sleep_short_body);
}
BENCHMARK(BM_TimerSleepShort)->Arg(50)->UseRealTime();

// ---- spawn ---------------------------------------------------------------------------------

kio::Task<void> detached_task(Countdown& cd) {
  cd.done();
  co_return;
}

/// `n` detached tasks spawned, run and destroyed per iteration; items are tasks.
kio::Task<void> spawn_body(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Countdown cd;
  for (auto _ : state) {
    cd.reset(n);
    for (int i = 0; i < n; ++i)
      kio::spawn(detached_task(cd));
    co_await cd.wait();
  }
  if (cd.remaining() != 0) fail(state, "tasks lost");
  state.SetItemsProcessed(state.iterations() * n);
}
void BM_SpawnDetached(benchmark::State& state) {
  run_on_worker(state, spawn_body);
}
BENCHMARK(BM_SpawnDetached)->Arg(1000);

}  // namespace

int main(int argc, char** argv) {
  return kio_bench::main(argc, argv);
}
