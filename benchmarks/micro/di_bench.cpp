// kio::di benchmarks: Ichor's four workloads restated 1:1 (../shared/di-anchors.md §c).
//
//   BM_DiStart/N          build, start and stop N services, each requiring a per-requester
//                         logger (Sharing::per_requester, itself requiring the framework logger):
//                         2N + 1 instances. N = 10,000 and 100,000 (the O(N^2) check).
//   BM_DiRemove/N         BM_DiStart's graph, started, then each of the N services removed one
//                         by one (its logger instance goes with it), then stopped. 10,000 and
//                         20,000: removals cost O(1) each, so twice N takes about twice as long.
//   BM_DiStartStop/N      N cycles of: StartStopService's start() posts stop(TestService); the
//                         cascade stops StartStopService first (its stop() posts
//                         start(TestService)), TestService stops, starts again, StartStopService
//                         restarts by itself. 2 stops, 2 starts, 2 factory calls per cycle; the
//                         loggers stay.
//   BM_DiCoroutines/N     TestService's Context runs coroutine A: N times, await an auto-reset
//                         kio::Event, then spawn a *new* coroutine (a Context task) that sets it.
//   BM_DiEvents/N         TestService's start() publishes N empty events on its core's
//                         EventChannel, then a Quit event; the dispatcher looks each one up by
//                         type (no handlers) until Quit's handler ends the run.
//   *_AllCores/N          the same on every CPU of the affinity mask (at most 8) at once, every
//                         service every_core, no cross-core traffic: rate = N x workers / wall.
//
// Timing, as Ichor does: from before the Registry is built until reg.stop() returned (setup,
// run, stop-all), on the kio worker; the Runtime itself is created before. Every run is its own
// process (fork), so the peak RSS counter (getrusage ru_maxrss, MB) is that run's own, as with
// Ichor's separate benchmark binaries. Counters: wall_ms (median over the iterations Google
// Benchmark chose), rate_per_s, peak_rss_MB, workers, worker0_cpu_ms (CPU time of worker 0 over
// the run: less sensitive than wall time to other processes on a shared machine). Google
// Benchmark's own Time column includes fork, runtime creation and exit; read wall_ms.
// KIO_BENCH_INPROCESS=1 skips the fork (for heaptrack, valgrind).
// tools/bench-micro checks the targets.
//
// A run that fails (a miscount, a start error, a child that died) calls SkipWithError and makes
// the program exit 1, so the smoke test registered in meson.build fails.
#include <benchmark/benchmark.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "kio/core/runtime.hpp"
#include "kio/core/submit_to.hpp"
#include "kio/core/task.hpp"
#include "kio/core/this_core.hpp"
#include "kio/di/di.hpp"
#include "kio/sync/event.hpp"

namespace {

namespace di = kio::di;
using kio_bench::fail;
using Clock = std::chrono::steady_clock;

// ---- one run in its own process -------------------------------------------------------------

struct RunResult {
  double wall_s = 0;
  double cpu_s = 0;  // the timed region's CPU time on the calling worker (user + sys)
  long maxrss_kb = 0;
  char error[256] = {};
};

/// Runs fn() in this process: its result (or the exception's message) and this process's peak RSS.
template <class Fn>
RunResult run_here(Fn& fn) {
  RunResult out;
  try {
    out = fn();
  } catch (const std::exception& e) {
    std::snprintf(out.error, sizeof out.error, "%s", e.what());
  }
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  out.maxrss_kb = ru.ru_maxrss;
  return out;
}

/// Runs fn() in a child process. KIO_BENCH_INPROCESS=1: in this process instead (for heaptrack
/// and valgrind, which do not follow the fork; peak RSS is then the whole program's).
template <class Fn>
RunResult in_child(Fn fn) {
  if (const char* e = std::getenv("KIO_BENCH_INPROCESS"); e && *e == '1') return run_here(fn);
  RunResult r;
  int fds[2];
  if (::pipe(fds) != 0) {
    std::snprintf(r.error, sizeof r.error, "pipe: %s", std::strerror(errno));
    return r;
  }
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    const RunResult out = run_here(fn);
    [[maybe_unused]] ssize_t n = ::write(fds[1], &out, sizeof out);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::size_t got = 0;
  while (got < sizeof r) {
    const ssize_t n = ::read(fds[0], reinterpret_cast<char*>(&r) + got, sizeof r - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (got != sizeof r)
    std::snprintf(r.error, sizeof r.error, "the run's process died (status %d)", status);
  return r;
}

double thread_cpu() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

unsigned all_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return std::min(8u, static_cast<unsigned>(CPU_COUNT(&set)));
}

/// Runs body(stopped) (a Task<bool>: false = wrong result; it sets `stopped` right after
/// reg.stop() returned, before the Registry is destroyed) on a runtime of `workers`.
template <class Body>
RunResult timed(unsigned workers, Body body) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = workers});
  RunResult r;
  const bool ok = rt.block_on([](Body& b, RunResult& out) -> kio::Task<bool> {
    Clock::time_point stopped{};
    const double c0 = thread_cpu();
    const auto t0 = Clock::now();
    const bool good = co_await b(stopped);
    out.wall_s = std::chrono::duration<double>(stopped - t0).count();
    out.cpu_s = thread_cpu() - c0;  // includes the Registry's destructor (small)
    co_return good;
  }(body, r));
  if (!ok) std::snprintf(r.error, sizeof r.error, "the workload miscounted or failed to start");
  return r;
}

/// Google Benchmark loop: one child process per iteration; counters from the median run.
template <class Make>
void run(benchmark::State& state, unsigned workers, double items_per_core, Make make) {
  std::vector<double> walls, cpus;
  long peak = 0;
  for (auto _ : state) {
    RunResult r = in_child([&] { return timed(workers, make(workers)); });
    if (r.error[0]) {
      fail(state, r.error);
      return;
    }
    walls.push_back(r.wall_s);
    cpus.push_back(r.cpu_s);
    peak = std::max(peak, r.maxrss_kb);
  }
  if (walls.empty()) return;
  std::sort(walls.begin(), walls.end());
  std::sort(cpus.begin(), cpus.end());
  const double wall = walls[walls.size() / 2];
  state.counters["wall_ms"] = wall * 1e3;
  state.counters["worker0_cpu_ms"] = cpus[cpus.size() / 2] * 1e3;
  state.counters["rate_per_s"] = items_per_core * workers / wall;
  state.counters["peak_rss_MB"] = static_cast<double>(peak) / 1024.0;
  state.counters["workers"] = workers;
}

// ---- the services -----------------------------------------------------------------------------

struct IFrameworkLogger {
  virtual ~IFrameworkLogger() = default;
  virtual void log(const char*) = 0;
};
struct NullFrameworkLogger final : IFrameworkLogger {
  void log(const char*) override {}
};
struct ILogger {
  virtual ~ILogger() = default;
  virtual void log(const char*) = 0;
};
/// One per requester (Ichor's LoggerFactory<NullLogger>).
struct NullLogger final : ILogger {
  explicit NullLogger(di::Ref<IFrameworkLogger> fw) : fw_(fw) {}
  void log(const char*) override {}
  di::Ref<IFrameworkLogger> fw_;
};

void add_loggers(di::Registry& reg) {
  reg.add<NullFrameworkLogger, IFrameworkLogger>(di::every_core,
                                                 [] { return NullFrameworkLogger(); });
  reg.add<NullLogger, ILogger>(di::every_core,
                               [](di::Ref<IFrameworkLogger> fw) { return NullLogger(fw); },
                               {.sharing = di::Sharing::per_requester});
}

// 1. start: N services with properties {Iteration, LogLevel}, each with its own logger.
struct StartService {
  explicit StartService(di::Ref<ILogger> l) : log(l) {}
  kio::Task<void> start() { co_return; }  // Ichor's start() is a coroutine too
  di::Ref<ILogger> log;
};

auto start_workload(std::int64_t n) {
  return [n](unsigned) {
    return [n](Clock::time_point& stopped) -> kio::Task<bool> {
      di::Registry reg;
      add_loggers(reg);
      for (std::int64_t i = 0; i < n; ++i)
        reg.add<StartService>(
            di::every_core, [](di::Ref<ILogger> l) { return StartService(l); },
            {.properties = di::Properties().set("Iteration", i).set("LogLevel", "warn")});
      di::StartReport r = co_await reg.start();
      co_await reg.stop();
      stopped = Clock::now();  // the Registry's destructor is not timed (Ichor: queue dtor)
      co_return static_cast<bool>(r);
    };
  };
}

// 1b. runtime removals: BM_DiStart's graph, then every StartService removed one by one (each
// takes its per-requester logger with it), then the logger service stopped and started again
// with none left. Linear in N (the /10000 : /20000 pair shows it), like the start.
auto remove_workload(std::int64_t n) {
  return [n](unsigned) {
    return [n](Clock::time_point& stopped) -> kio::Task<bool> {
      di::Registry reg;
      add_loggers(reg);
      std::vector<di::ServiceId> ids;
      ids.reserve(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i)
        ids.push_back(reg.add<StartService>(di::every_core,
                                            [](di::Ref<ILogger> l) { return StartService(l); }));
      di::StartReport r = co_await reg.start();
      for (di::ServiceId id : ids)
        co_await reg.remove(id);
      const bool gone = !reg.state(ids.back()).has_value();
      co_await reg.stop();
      stopped = Clock::now();
      co_return static_cast<bool>(r) && gone;
    };
  };
}

// 2. start & stop: a provider stopped and restarted N times through its dependent's hooks.
struct ITestService {
  virtual ~ITestService() = default;
};
struct TestService final : ITestService {
  explicit TestService(di::Ref<ILogger> l) : log(l) {}
  di::Ref<ILogger> log;
};
struct Cycles {  // per core; outlives the restarted StartStopService instances
  std::int64_t starts = 0;
  std::int64_t target = 0;
  di::ServiceId test;
  kio::Event done;
};
struct StartStopService {
  StartStopService(Cycles& c, di::Context& ctx, di::Ref<ILogger> l, di::Ref<ITestService> t)
      : cycles(c), reg(ctx.registry()), core(ctx.core()), log(l), test(t) {}
  void start() {
    if (cycles.starts < cycles.target)
      reg.post_stop(cycles.test, core);  // queued behind this start()
    else
      cycles.done.set();
    ++cycles.starts;
  }
  void stop() {
    if (cycles.starts <= cycles.target) reg.post_start(cycles.test, core);
  }
  Cycles& cycles;
  di::Registry& reg;
  unsigned core;
  di::Ref<ILogger> log;
  di::Ref<ITestService> test;
};

auto start_stop_workload(std::int64_t n) {
  return [n](unsigned workers) {
    return [n, workers](Clock::time_point& stopped) -> kio::Task<bool> {
      std::array<Cycles, 8> per_core;
      di::Registry reg;
      add_loggers(reg);
      const di::ServiceId test = reg.add<TestService, ITestService>(
          di::every_core, [](di::Ref<ILogger> l) { return TestService(l); });
      for (Cycles& c : per_core) {
        c.target = n;
        c.test = test;
      }
      reg.add<StartStopService>(di::every_core, [&per_core](di::Context& ctx, di::Ref<ILogger> l,
                                                            di::Ref<ITestService> t) {
        return StartStopService(per_core[ctx.core()], ctx, l, t);
      });
      di::StartReport r = co_await reg.start();
      for (unsigned c = 0; c < workers; ++c)
        co_await kio::submit_to(
            c, [&, c]() -> kio::Task<void> { (void)co_await per_core[c].done.wait(); });
      co_await reg.stop();
      stopped = Clock::now();
      bool ok = static_cast<bool>(r);
      for (unsigned c = 0; c < workers; ++c)
        ok = ok && per_core[c].starts == n + 1;
      co_return ok;
    };
  };
}

// 3. coroutines: a new setter coroutine per iteration.
struct Pulse {
  std::int64_t target = 0;
  std::int64_t rounds = 0;
  kio::Event done;
};
struct CoroutineService {
  CoroutineService(Pulse& p, di::Context& c, di::Ref<ILogger> l) : pulse(p), ctx(c), log(l) {}
  void start() {
    ctx.spawn(loop(pulse, ctx, evt));
    ctx.spawn(set(evt));  // the first one
  }
  static kio::Task<void> set(kio::Event& e) {
    e.set();
    co_return;
  }
  static kio::Task<void> loop(Pulse& p, di::Context& ctx, kio::Event& evt) {
    for (std::int64_t i = 0; i < p.target; ++i) {
      if (!co_await evt.wait()) co_return;
      ++p.rounds;
      ctx.spawn(set(evt));  // a new coroutine every iteration
    }
    p.done.set();
  }
  Pulse& pulse;
  di::Context& ctx;
  di::Ref<ILogger> log;
  kio::Event evt{kio::EventMode::auto_reset};
};

auto coroutine_workload(std::int64_t n) {
  return [n](unsigned workers) {
    return [n, workers](Clock::time_point& stopped) -> kio::Task<bool> {
      std::array<Pulse, 8> per_core;
      for (Pulse& p : per_core)
        p.target = n;
      di::Registry reg;
      add_loggers(reg);
      reg.add<CoroutineService>(di::every_core, [&per_core](di::Context& c, di::Ref<ILogger> l) {
        return CoroutineService(per_core[c.core()], c, l);
      });
      di::StartReport r = co_await reg.start();
      for (unsigned c = 0; c < workers; ++c)
        co_await kio::submit_to(
            c, [&, c]() -> kio::Task<void> { (void)co_await per_core[c].done.wait(); });
      co_await reg.stop();
      stopped = Clock::now();
      bool ok = static_cast<bool>(r);
      for (unsigned c = 0; c < workers; ++c)
        ok = ok && per_core[c].rounds == n;
      co_return ok;
    };
  };
}

// 4. events: N header-only events queued, then dispatched through the type lookup.
struct UselessEvent {};  // the 8-byte record header (type, origin service) is all it carries
struct QuitEvent {};
struct Flood {
  std::int64_t target = 0;
  bool quit = false;
  kio::Event done;
};
struct EventService {
  EventService(Flood& f, di::Context& c, di::Ref<ILogger> l) : flood(f), ctx(c), log(l) {}
  void start() {
    ctx.subscribe<QuitEvent>([this](const QuitEvent&) {
      flood.quit = ctx.events().pending() == 1;  // everything before Quit was dispatched
      flood.done.set();
    });
    for (std::int64_t i = 0; i < flood.target; ++i)
      ctx.publish(UselessEvent{});
    ctx.publish(QuitEvent{});
  }
  Flood& flood;
  di::Context& ctx;
  di::Ref<ILogger> log;
};

auto event_workload(std::int64_t n) {
  return [n](unsigned workers) {
    return [n, workers](Clock::time_point& stopped) -> kio::Task<bool> {
      std::array<Flood, 8> per_core;
      for (Flood& f : per_core)
        f.target = n;
      di::Registry reg;
      add_loggers(reg);
      reg.add<EventService>(di::every_core, [&per_core](di::Context& c, di::Ref<ILogger> l) {
        return EventService(per_core[c.core()], c, l);
      });
      di::StartReport r = co_await reg.start();
      for (unsigned c = 0; c < workers; ++c)
        co_await kio::submit_to(
            c, [&, c]() -> kio::Task<void> { (void)co_await per_core[c].done.wait(); });
      co_await reg.stop();
      stopped = Clock::now();
      bool ok = static_cast<bool>(r);
      for (unsigned c = 0; c < workers; ++c)
        ok = ok && per_core[c].quit;
      co_return ok;
    };
  };
}

// ---- registration -------------------------------------------------------------------------------

void BM_DiStart(benchmark::State& s) {
  run(s, 1, static_cast<double>(s.range(0)), start_workload(s.range(0)));
}
void BM_DiStart_AllCores(benchmark::State& s) {
  run(s, all_cores(), static_cast<double>(s.range(0)), start_workload(s.range(0)));
}
void BM_DiRemove(benchmark::State& s) {
  run(s, 1, static_cast<double>(s.range(0)), remove_workload(s.range(0)));
}
void BM_DiStartStop(benchmark::State& s) {
  run(s, 1, static_cast<double>(s.range(0)), start_stop_workload(s.range(0)));
}
void BM_DiStartStop_AllCores(benchmark::State& s) {
  run(s, all_cores(), static_cast<double>(s.range(0)), start_stop_workload(s.range(0)));
}
void BM_DiCoroutines(benchmark::State& s) {
  run(s, 1, static_cast<double>(s.range(0)), coroutine_workload(s.range(0)));
}
void BM_DiCoroutines_AllCores(benchmark::State& s) {
  run(s, all_cores(), static_cast<double>(s.range(0)), coroutine_workload(s.range(0)));
}
void BM_DiEvents(benchmark::State& s) {
  run(s, 1, static_cast<double>(s.range(0)), event_workload(s.range(0)));
}
void BM_DiEvents_AllCores(benchmark::State& s) {
  run(s, all_cores(), static_cast<double>(s.range(0)), event_workload(s.range(0)));
}

BENCHMARK(BM_DiStart)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DiStart_AllCores)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DiRemove)->Arg(10'000)->Arg(20'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DiStartStop)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DiStartStop_AllCores)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DiCoroutines)->Arg(5'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DiCoroutines_AllCores)->Arg(5'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DiEvents)->Arg(5'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DiEvents_AllCores)->Arg(5'000'000)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  return kio_bench::main(argc, argv);
}
