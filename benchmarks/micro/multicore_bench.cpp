// Cross-core micro-benchmarks: one-way message throughput (the raw mail transport and
// spawn_on), submit_to round-trip latency with both cores busy polling, and kio::CrossChannel
// throughput and ping-pong latency. Reports items/s (and ns per item via tools/bench-micro).
//
// How these run: Google Benchmark calls each BM_ function on the main thread; it hands a Task to
// a process-wide two-worker Runtime with block_on, and the Task runs the whole measured loop on
// worker 0, talking to worker 1. Both workers busy-poll their mail for 200 us before sleeping
// (RuntimeOptions::idle_spin), i.e. "both cores busy polling". Times are real (wall-clock) times.
// Workers are pinned to the first two CPUs of the process affinity mask; with a single CPU in the
// mask both workers share it (counter `shared_cpu` = 1) and the numbers mean little: run under
// `taskset -c 0,1` (tools/bench-micro does so for this program).
//
// Targets (issue 3): >= 10 M messages/s one way, batched; a round trip <= 2 us when both cores
// are busy polling.
//
// A benchmark whose result is wrong (a message lost, a value out of order) calls SkipWithError
// and makes the program exit with status 1, so the smoke test registered in meson.build fails.
#include <benchmark/benchmark.h>

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <utility>
#include <vector>

#include "bench_support.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/detail/mailbox.hpp"
#include "kio/core/runtime.hpp"
#include "kio/core/spawn.hpp"
#include "kio/core/spawn_on.hpp"
#include "kio/core/submit_to.hpp"
#include "kio/core/task.hpp"
#include "kio/core/this_core.hpp"
#include "kio/core/yield.hpp"
#include "kio/sync/cross_channel.hpp"

namespace {

using kio_bench::Countdown;
using kio_bench::fail;

using namespace std::chrono_literals;
using kio::detail::Executor;
using kio::detail::Message;

kio::Runtime& runtime() {
  static kio::Runtime rt(
      kio::RuntimeOptions{.workers = 2, .oversubscribe = true, .idle_spin = 200us});
  return rt;
}

/// Runs `body(state)` (the whole measured loop) on worker 0.
void run_on_worker(benchmark::State& state, kio::Task<void> (*body)(benchmark::State&)) {
  kio::Runtime& rt = runtime();
  rt.block_on(body(state));
  state.counters["shared_cpu"] = rt.cpus().size() >= 2 && rt.cpus()[0] == rt.cpus()[1] ? 1 : 0;
}

/// A reusable one-shot signal from worker 1 to a task on worker 0. `fire()` runs on worker 1 and
/// sends this object (a Message) to worker 0, whose handler marks it fired and schedules the
/// waiting task. Fired before anyone waits is fine: the wait then completes at once. Re-armed by
/// each wait; must not be fired again before the previous wait returned.
class DoneSignal : Message {
 public:
  explicit DoneSignal(unsigned home) : home_(home) { handle = &on_arrival; }

  /// On worker 1 (from a task or a mail handler there).
  void fire(Executor& here) { here.send(home_, this); }

  struct [[nodiscard]] Awaiter {
    DoneSignal& s;
    bool await_ready() const noexcept { return s.fired_; }
    void await_suspend(std::coroutine_handle<> h) noexcept { s.waiter_ = h; }
    void await_resume() const noexcept { s.fired_ = false; }
  };
  /// On worker 0.
  Awaiter wait() noexcept { return Awaiter{*this}; }

 private:
  static void on_arrival(Message* m, Executor& here, bool stopped) noexcept {
    auto* self = static_cast<DoneSignal*>(m);
    if (stopped) return;
    self->fired_ = true;
    if (self->waiter_) here.schedule(std::exchange(self->waiter_, {}));
  }
  unsigned home_;
  bool fired_ = false;
  std::coroutine_handle<> waiter_{};
};

/// Counts arrivals on worker 1 and fires `done` after each `batch` of them.
struct Sink {
  explicit Sink(long b) : batch(b) {}
  void arrived(Executor& here) {
    if (++received % batch == 0) done.fire(here);
  }
  long batch;
  long received = 0;  // worker 1 only
  DoneSignal done{0};
  bool in_flight = false;  // worker 0 only
};

// The one-way benchmarks keep two batches in flight: worker 0 sends batch i while worker 1 works
// on batch i-1, so both cores are busy, as in a steady stream. Each batch has its own Sink (and
// its own messages), reused only once worker 1 reported it done.

// ---- one-way messages: the transport itself ------------------------------------------------

/// A message whose handler does nothing but count: what every cross-core API pays at least.
struct Ping : Message {
  Sink* sink = nullptr;
  static void on_ping(Message* m, Executor& here, bool stopped) noexcept {
    if (!stopped) static_cast<Ping*>(m)->sink->arrived(here);
  }
};

/// `batch` messages from worker 0 to worker 1 per iteration (through the SPSC ring, queueing
/// behind it when it is full). Items are one-way messages.
kio::Task<void> mail_body(benchmark::State& state) {
  const long batch = state.range(0);
  Executor& here = kio::detail::this_executor("mail_body");
  Sink sinks[2] = {Sink(batch), Sink(batch)};
  std::vector<Ping> pings[2];
  for (int j = 0; j < 2; ++j) {
    pings[j].resize(static_cast<std::size_t>(batch));
    for (Ping& p : pings[j]) {
      p.sink = &sinks[j];
      p.handle = &Ping::on_ping;
    }
  }
  long i = 0;
  for (auto _ : state) {
    const int j = static_cast<int>(i++ & 1);
    if (sinks[j].in_flight) co_await sinks[j].done.wait();
    sinks[j].in_flight = true;
    for (Ping& p : pings[j])
      here.send(1, &p);
    co_await kio::yield();  // the loop publishes the batch to worker 1
  }
  for (Sink& s : sinks)
    if (s.in_flight) co_await s.done.wait();
  if (sinks[0].received + sinks[1].received != static_cast<long>(state.iterations()) * batch)
    fail(state, "lost mail");
  state.SetItemsProcessed(state.iterations() * batch);
}
void BM_CrossCoreMessages(benchmark::State& state) {
  run_on_worker(state, mail_body);
}
BENCHMARK(BM_CrossCoreMessages)->Arg(256)->Arg(4096)->UseRealTime();

// ---- one-way: spawn_on fire-and-forget -----------------------------------------------------

kio::Task<void> tick(Sink* sink) {
  sink->arrived(kio::detail::this_executor("tick"));
  co_return;
}

/// `batch` tiny tasks spawned from worker 0 onto worker 1 per iteration. Items are tasks (one
/// message each, plus creating the frames on worker 0 and running and freeing them on worker 1).
kio::Task<void> spawn_on_body(benchmark::State& state) {
  const long batch = state.range(0);
  Sink sinks[2] = {Sink(batch), Sink(batch)};
  bool ok = true;
  long i = 0;
  for (auto _ : state) {
    Sink& s = sinks[i++ & 1];
    if (s.in_flight) co_await s.done.wait();
    s.in_flight = true;
    for (long k = 0; k < batch; ++k)
      ok &= static_cast<bool>(co_await kio::spawn_on(1, tick(&s)));
    co_await kio::yield();
  }
  for (Sink& s : sinks)
    if (s.in_flight) co_await s.done.wait();
  if (!ok || sinks[0].received + sinks[1].received != static_cast<long>(state.iterations()) * batch)
    fail(state, "lost tasks");
  state.SetItemsProcessed(state.iterations() * batch);
}
void BM_SpawnOnOneWay(benchmark::State& state) {
  run_on_worker(state, spawn_on_body);
}
BENCHMARK(BM_SpawnOnOneWay)->Arg(256)->UseRealTime();

// ---- submit_to round trips -----------------------------------------------------------------

/// One submit_to at a time to worker 1 and back: the round-trip latency (ns per item).
kio::Task<void> round_trip_body(benchmark::State& state) {
  long sum = 0;
  for (auto _ : state)
    sum += co_await kio::submit_to(1, [] { return static_cast<long>(kio::this_core()); });
  if (sum != static_cast<long>(state.iterations())) fail(state, "ran on the wrong core");
  state.SetItemsProcessed(state.iterations());
}
void BM_SubmitToRoundTrip(benchmark::State& state) {
  run_on_worker(state, round_trip_body);
}
BENCHMARK(BM_SubmitToRoundTrip)->UseRealTime();

kio::Task<void> submitter(long n, long& sum, Countdown& cd) {
  for (long i = 0; i < n; ++i)
    sum += co_await kio::submit_to(1, [] { return 1L; });
  cd.done();
}

/// `range(0)` tasks on worker 0 doing round trips to worker 1 concurrently: requests and replies
/// travel in batches. Items are round trips (two messages each).
kio::Task<void> pipelined_body(benchmark::State& state) {
  const long tasks = state.range(0), per_task = 16;
  long sum = 0;
  for (auto _ : state) {
    Countdown cd(tasks);
    for (long t = 0; t < tasks; ++t)
      kio::spawn(submitter(per_task, sum, cd));
    co_await cd.wait();
  }
  if (sum != static_cast<long>(state.iterations()) * tasks * per_task) fail(state, "lost replies");
  state.SetItemsProcessed(state.iterations() * tasks * per_task);
}
void BM_SubmitToPipelined(benchmark::State& state) {
  run_on_worker(state, pipelined_body);
}
BENCHMARK(BM_SubmitToPipelined)->Arg(256)->UseRealTime();

// ---- kio::CrossChannel ---------------------------------------------------------------------

struct Stream {
  explicit Stream(std::size_t cap) : ch(cap) {}
  static constexpr long batch = 4096;
  kio::CrossChannel<long> ch;
  DoneSignal batch_done[2] = {DoneSignal(0), DoneSignal(0)};  // by batch parity
  DoneSignal exited{0};
  long next_expected = 0;  // worker 1
  bool ordered = true;     // worker 1, read after the consumer exited
};

kio::Task<void> channel_consumer(Stream& s) {
  Executor& here = kio::detail::this_executor("channel_consumer");
  for (;;) {
    auto r = co_await s.ch.recv();
    if (!r) break;
    if (*r != s.next_expected++) s.ordered = false;
    if (s.next_expected % Stream::batch == 0)
      s.batch_done[(s.next_expected / Stream::batch - 1) & 1].fire(here);
  }
  s.exited.fire(here);  // published after this step: the channel is no longer in use here
}

/// Worker 0 sends 4096 values per iteration into a channel of `range(0)` slots; a task on worker
/// 1 receives them. Worker 0 waits for batch i-1 to be received only after sending batch i, so
/// the stream never stops. Items are values.
kio::Task<void> channel_body(benchmark::State& state) {
  Stream s(static_cast<std::size_t>(state.range(0)));
  co_await kio::spawn_on(1, channel_consumer(s));
  long v = 0, i = 0;
  bool ok = true;
  for (auto _ : state) {
    for (long k = 0; k < Stream::batch; ++k)
      ok &= static_cast<bool>(co_await s.ch.send(v++));
    if (i > 0) co_await s.batch_done[(i - 1) & 1].wait();
    ++i;
  }
  if (i > 0) co_await s.batch_done[(i - 1) & 1].wait();
  s.ch.close();
  co_await s.exited.wait();
  if (!ok || !s.ordered || s.next_expected != v) fail(state, "values lost or out of order");
  state.SetItemsProcessed(state.iterations() * Stream::batch);
  state.counters["capacity"] = static_cast<double>(s.ch.capacity());
}
void BM_CrossChannelThroughput(benchmark::State& state) {
  run_on_worker(state, channel_body);
}
BENCHMARK(BM_CrossChannelThroughput)->Arg(64)->Arg(1024)->UseRealTime();

struct PingPong {
  kio::CrossChannel<long> there{64};
  kio::CrossChannel<long> back{64};
  DoneSignal exited{0};
};

kio::Task<void> echo(PingPong& p) {
  while (auto r = co_await p.there.recv())
    if (!co_await p.back.send(*r + 1)) break;
  p.exited.fire(kio::detail::this_executor("echo"));
}

/// One value to worker 1 and one back per iteration, through two channels (both tasks park and
/// are woken across cores every time): channel round-trip latency.
kio::Task<void> ping_pong_body(benchmark::State& state) {
  PingPong p;
  co_await kio::spawn_on(1, echo(p));
  long v = 0;
  bool ok = true;
  for (auto _ : state) {
    ok &= static_cast<bool>(co_await p.there.send(v));
    auto r = co_await p.back.recv();
    ok &= r && *r == v + 1;
    ++v;
  }
  p.there.close();
  co_await p.exited.wait();
  if (!ok) fail(state, "wrong echo");
  state.SetItemsProcessed(state.iterations());
}
void BM_CrossChannelPingPong(benchmark::State& state) {
  run_on_worker(state, ping_pong_body);
}
BENCHMARK(BM_CrossChannelPingPong)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  return kio_bench::main(argc, argv);
}
