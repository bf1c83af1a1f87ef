// kio/sync micro-benchmarks: Ichor's two single-core workloads (event ping-pong between two
// coroutines; 5,000,000 empty events queued then dispatched) plus the per-operation cost of the
// other primitives and combinators. Reports items/s (and ns per item via tools/bench-micro).
//
// Ichor reference figures (Ryzen 7950X, from Ichor's README): coroutine ping through events,
// 5,000,000 iterations in 444 ms = 11.25 M/s; 5,000,000 events queued then dispatched in 770 ms =
// 6.5 M/s using 287 MB.
//
// Like core_bench: Google Benchmark calls each BM_ function on the main thread, which hands a
// Task to a process-wide one-worker Runtime (block_on); the Task runs the measured loop on the
// worker, so CPU times are the worker's. A wrong result calls SkipWithError and makes the program
// exit 1 (the smoke test in meson.build then fails).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <type_traits>
#include <vector>

#include "bench_support.hpp"
#include "kio/core/runtime.hpp"
#include "kio/core/sleep.hpp"
#include "kio/core/spawn.hpp"
#include "kio/core/task.hpp"
#include "kio/core/yield.hpp"
#include "kio/sync/sync.hpp"

namespace {

using kio_bench::fail;

using namespace std::chrono_literals;

kio::Runtime& runtime() {
  static kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  return rt;
}

void run_on_worker(benchmark::State& state, kio::Task<void> (*body)(benchmark::State&)) {
  runtime().block_on(body(state));
}

/// Resident set size of the process in bytes (from /proc/self/statm).
std::int64_t rss_bytes() {
  long pages_total = 0, pages_resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = 0;
    std::fclose(f);
  }
  return static_cast<std::int64_t>(pages_resident) * sysconf(_SC_PAGESIZE);
}

// ---- Ichor coroutine workload: ping-pong through two auto-reset events -----------------------

kio::Task<void> ponger(kio::Event& ping, kio::Event& pong, std::int64_t n, std::int64_t& count) {
  for (std::int64_t i = 0; i < n; ++i) {
    if (!co_await ping.wait()) co_return;
    ++count;
    pong.set();
  }
}

/// Runs `n` round trips: this task sets `ping` and awaits `pong`, the other the reverse. Each
/// round trip is two waits, two set() hand-offs and two trips through the ready queue.
kio::Task<bool> ping_pong(std::int64_t n) {
  kio::Event ping(kio::EventMode::auto_reset), pong(kio::EventMode::auto_reset);
  kio::Event other_done;
  std::int64_t mine = 0, theirs = 0;
  auto other = [](kio::Event& pi, kio::Event& po, std::int64_t k, std::int64_t& c,
                  kio::Event& done) -> kio::Task<void> {
    co_await ponger(pi, po, k, c);
    done.set();
  };
  kio::spawn(other(ping, pong, n, theirs, other_done));
  for (std::int64_t i = 0; i < n; ++i) {
    ping.set();
    if (!co_await pong.wait()) co_return false;
    ++mine;
  }
  if (!co_await other_done.wait()) co_return false;
  co_return mine == n&& theirs == n;
}

/// One benchmark iteration = one round trip; items are round trips.
kio::Task<void> event_ping_pong_body(benchmark::State& state) {
  kio::Event ping(kio::EventMode::auto_reset), pong(kio::EventMode::auto_reset);
  kio::Event other_done;
  std::int64_t theirs = 0;
  auto other = [](kio::Event& pi, kio::Event& po, std::int64_t k, std::int64_t& c,
                  kio::Event& done) -> kio::Task<void> {
    co_await ponger(pi, po, k, c);
    done.set();
  };
  // The partner answers exactly as many pings as this run will send (max_iterations).
  const std::int64_t budget = state.max_iterations;
  kio::spawn(other(ping, pong, budget, theirs, other_done));
  std::int64_t sent = 0;
  for (auto _ : state) {
    ping.set();
    if (!co_await pong.wait()) {
      fail(state, "wait failed");
      break;
    }
    ++sent;
  }
  // Only after an early break: let the partner finish its budget.
  while (sent < budget) {
    ping.set();
    (void)co_await pong.wait();
    ++sent;
  }
  (void)co_await other_done.wait();
  if (theirs != budget) fail(state, "lost pings");
  state.SetItemsProcessed(state.iterations());
  state.counters["wakeups_per_s"] = benchmark::Counter(
      2.0 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
void BM_EventPingPong(benchmark::State& state) {
  run_on_worker(state, event_ping_pong_body);
}
BENCHMARK(BM_EventPingPong);

/// Ichor's exact shape: 5,000,000 round trips per iteration, timed as a whole.
kio::Task<void> ichor_coroutines_body(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  for (auto _ : state) {
    if (!co_await ping_pong(n)) {
      fail(state, "ping-pong miscounted");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * n);
}
void BM_IchorCoroutinePingPong(benchmark::State& state) {
  run_on_worker(state, ichor_coroutines_body);
}
BENCHMARK(BM_IchorCoroutinePingPong)->Arg(5'000'000)->Iterations(1)->Unit(benchmark::kMillisecond);

// ---- Ichor event workload: N empty events queued, then dispatched ----------------------------

/// A truly empty event: the queue slots are 1 byte and are never written.
struct EmptyEvent {};
/// An event without payload but with the bookkeeping a dispatcher needs (id, origin, priority),
/// closer to what Ichor queues.
struct HeaderEvent {
  std::uint64_t id;
  std::uint64_t origin;
  std::uint32_t priority;
};

template <class E>
E make_event(std::size_t i) {
  if constexpr (std::is_same_v<E, HeaderEvent>) {
    return E{i, 1, 1000};
  } else {
    (void)i;
    return E{};
  }
}

/// Queues `n` events into one Channel (capacity n, so no send waits), then receives and
/// dispatches them all. Items are events. queue_MB is the channel's buffer (n * sizeof slot);
/// rss_MB is how much the resident set grew while the queue was full.
template <class E>
kio::Task<void> ichor_events_body(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::int64_t dispatched = 0;
  double rss_growth = 0;
  for (auto _ : state) {
    const std::int64_t rss0 = rss_bytes();
    kio::Channel<E> queue(n);
    for (std::size_t i = 0; i < n; ++i)
      if (!co_await queue.send(make_event<E>(i))) {
        fail(state, "send failed");
        co_return;
      }
    rss_growth = static_cast<double>(rss_bytes() - rss0);
    for (std::size_t i = 0; i < n; ++i) {
      auto ev = co_await queue.recv();
      if (!ev) {
        fail(state, "recv failed");
        co_return;
      }
      benchmark::DoNotOptimize(*ev);
      ++dispatched;
    }
  }
  if (dispatched != state.iterations() * static_cast<std::int64_t>(n)) fail(state, "lost events");
  state.SetItemsProcessed(dispatched);
  state.counters["queue_MB"] = static_cast<double>(n * sizeof(E)) / 1e6;
  state.counters["rss_MB"] = rss_growth / 1e6;
}
void BM_IchorEventQueueThenDispatch_Empty(benchmark::State& state) {
  run_on_worker(state, ichor_events_body<EmptyEvent>);
}
BENCHMARK(BM_IchorEventQueueThenDispatch_Empty)
    ->Arg(5'000'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
void BM_IchorEventQueueThenDispatch_Header(benchmark::State& state) {
  run_on_worker(state, ichor_events_body<HeaderEvent>);
}
BENCHMARK(BM_IchorEventQueueThenDispatch_Header)
    ->Arg(5'000'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

/// Streaming producer/consumer through a Channel<int> of capacity 1024: the producer waits
/// while full, the consumer while empty. Items are values delivered.
kio::Task<void> producer(kio::Channel<int>& ch, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    if (!co_await ch.send(static_cast<int>(i))) co_return;
}
kio::Task<void> channel_stream_body(benchmark::State& state) {
  kio::Channel<int> ch(static_cast<std::size_t>(state.range(0)));
  const std::int64_t budget = state.max_iterations;
  kio::spawn(producer(ch, budget));
  std::int64_t got = 0;
  for (auto _ : state) {
    auto v = co_await ch.recv();
    if (!v || *v != static_cast<int>(got)) {
      fail(state, "wrong value");
      break;
    }
    ++got;
  }
  // Drain the producer outside the timed region. (No co_await in a `&&` operand of a loop
  // condition: g++ 12 evaluates it even when the left side is false.)
  while (got < budget) {
    if (!co_await ch.recv()) break;
    ++got;
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_ChannelStream(benchmark::State& state) {
  run_on_worker(state, channel_stream_body);
}
BENCHMARK(BM_ChannelStream)->Arg(1024);

// ---- other primitives --------------------------------------------------------------------

/// Uncontended co_await m.lock() + unlock: the fast path (no suspension).
kio::Task<void> mutex_uncontended_body(benchmark::State& state) {
  kio::Mutex m;
  for (auto _ : state) {
    auto lock = co_await m.lock();
    benchmark::DoNotOptimize(lock);
  }
  if (m.locked()) fail(state, "mutex left locked");
  state.SetItemsProcessed(state.iterations());
}
void BM_MutexUncontended(benchmark::State& state) {
  run_on_worker(state, mutex_uncontended_body);
}
BENCHMARK(BM_MutexUncontended);

/// Two tasks alternately taking a Mutex across a yield: every lock is a FIFO hand-off.
kio::Task<void> contender(kio::Mutex& m, std::int64_t n, std::int64_t& count) {
  for (std::int64_t i = 0; i < n; ++i) {
    auto lock = co_await m.lock();
    if (!lock) co_return;
    ++count;
    co_await kio::yield();
  }
}
kio::Task<void> mutex_handoff_body(benchmark::State& state) {
  kio::Mutex m;
  const std::int64_t budget = state.max_iterations;
  std::int64_t theirs = 0, mine = 0;
  kio::Event done;
  auto other = [](kio::Mutex& mu, std::int64_t k, std::int64_t& c,
                  kio::Event& d) -> kio::Task<void> {
    co_await contender(mu, k, c);
    d.set();
  };
  kio::spawn(other(m, budget, theirs, done));
  for (auto _ : state) {
    auto lock = co_await m.lock();
    if (!lock) {
      fail(state, "lock failed");
      break;
    }
    ++mine;
    co_await kio::yield();
  }
  (void)co_await done.wait();
  if (theirs != budget || mine != state.iterations()) fail(state, "lost locks");
  state.SetItemsProcessed(state.iterations());
}
void BM_MutexHandoff(benchmark::State& state) {
  run_on_worker(state, mutex_handoff_body);
}
BENCHMARK(BM_MutexHandoff);

kio::Task<int> leaf(int x) {
  co_return x + 1;
}

/// when_all of two trivial tasks (both finish during their start); items are when_all calls.
kio::Task<void> when_all_body(benchmark::State& state) {
  int acc = 0;
  for (auto _ : state) {
    auto [a, b] = co_await kio::when_all(leaf(acc), leaf(acc));
    acc = a + b - acc - 1;
  }
  if (acc != static_cast<int>(state.iterations())) fail(state, "wrong result");
  state.SetItemsProcessed(state.iterations());
}
void BM_WhenAll2(benchmark::State& state) {
  run_on_worker(state, when_all_body);
}
BENCHMARK(BM_WhenAll2);

kio::Task<int> forever(kio::Event& never) {
  auto r = co_await never.wait();
  co_return r ? 1 : 0;
}

/// when_any of an immediate task and one that waits: the loser is cancelled and awaited.
kio::Task<void> when_any_body(benchmark::State& state) {
  kio::Event never;
  std::int64_t wins = 0;
  for (auto _ : state) {
    auto r = co_await kio::when_any(forever(never), leaf(1));
    wins += r.index == 1 ? 1 : 0;
  }
  if (wins != state.iterations()) fail(state, "wrong winner");
  state.SetItemsProcessed(state.iterations());
}
void BM_WhenAnyCancelLoser(benchmark::State& state) {
  run_on_worker(state, when_any_body);
}
BENCHMARK(BM_WhenAnyCancelLoser);

kio::Task<void> add_one(std::int64_t& sum) {
  ++sum;
  co_return;
}

/// TaskGroup: spawn `n` trivial children, join; items are children.
kio::Task<void> task_group_body(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  std::int64_t sum = 0;
  for (auto _ : state) {
    kio::TaskGroup g(kio::CancelToken{});
    for (std::int64_t i = 0; i < n; ++i)
      g.spawn(add_one(sum));
    co_await g.join();
  }
  if (sum != state.iterations() * n) fail(state, "lost children");
  state.SetItemsProcessed(state.iterations() * n);
}
void BM_TaskGroupSpawnJoin(benchmark::State& state) {
  run_on_worker(state, task_group_body);
}
BENCHMARK(BM_TaskGroupSpawnJoin)->Arg(1000);

}  // namespace

int main(int argc, char** argv) {
  return kio_bench::main(argc, argv);
}
