// Description: kio::di across cores: every_core instances wired core-locally, on_core providers
// reached through Remote<T> (submit_to) and mirrored for cascades, calls racing a stop,
// PerCore<T>, per-requester instances per core, cross-core Ref errors with two cores.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "co_assert.hpp"
#include "kio/kio.hpp"
#include "sanitizers.hpp"

namespace di = kio::di;
using namespace std::chrono_literals;

namespace {

kio::RuntimeOptions two_cores() {
  return kio::RuntimeOptions{.workers = 2, .oversubscribe = true};
}

std::mutex g_mu;
std::vector<std::string> g_log;
void log(std::string s) {
  std::lock_guard lock(g_mu);
  g_log.push_back(std::move(s));
}
std::vector<std::string> take_log() {
  std::lock_guard lock(g_mu);
  return std::exchange(g_log, {});
}

struct Config {
  Config() : core(kio::this_core()) {}
  void start() { log("Config start"); }
  void stop() { log("Config stop"); }
  std::string greeting = "hello";
  unsigned core;
  std::atomic<int> in_call{0};
};
struct Counter {
  Counter() : core(kio::this_core()) {}
  unsigned core;
  std::uint64_t hits = 0;
};
struct Routes {
  Routes(di::Ref<Counter> c, di::Remote<Config> cfg)
      : counter(c), config(cfg), core(kio::this_core()) {
    EXPECT_EQ(counter->core, core) << "a Ref binds the instance on the dependent's core";
  }
  void start() { log("Routes start " + std::to_string(core)); }
  void stop() { log("Routes stop " + std::to_string(core)); }
  di::Ref<Counter> counter;
  di::Remote<Config> config;
  unsigned core;
};

TEST(Remote, EveryCoreWiresLocallyAndRemoteCallsRunOnTheProviderCore) {
  kio::Runtime rt(two_cores());
  rt.block_on([]() -> kio::Task<void> {
    di::Registry reg;
    reg.add<Config>(di::on_core(0), [] { return Config(); });
    reg.add<Counter>(di::every_core, [] { return Counter(); });
    auto routes = reg.add<Routes>(
        di::every_core, [](di::Ref<Counter> c, di::Remote<Config> cfg) { return Routes(c, cfg); });
    di::StartReport r = co_await reg.start();
    CO_ASSERT(static_cast<bool>(r), r.message());
    for (unsigned c = 0; c < 2; ++c) {
      auto [where, text] =
          co_await kio::submit_to(c, [&]() -> kio::Task<std::pair<unsigned, std::string>> {
            Routes* here = reg.local<Routes>(routes);
            EXPECT_NE(here, nullptr);
            EXPECT_EQ(here->core, kio::this_core());
            EXPECT_EQ(here->config.core(), 0u);
            auto w = co_await here->config.call([](Config&) { return kio::this_core(); });
            auto t = co_await here->config.call([](Config& cfg) -> kio::Task<std::string> {
              co_await kio::yield();
              co_return cfg.greeting;
            });
            co_return std::pair<unsigned, std::string>{w.value(), t.value()};
          });
      EXPECT_EQ(where, 0u);
      EXPECT_EQ(text, "hello");
    }
    co_await reg.stop();
  }());
}

TEST(Remote, StoppingAProviderOnOneCoreStopsDependentsOnEveryCoreFirst) {
  kio::Runtime rt(two_cores());
  rt.block_on([]() -> kio::Task<void> {
    di::Registry reg;
    auto cfg = reg.add<Config>(di::on_core(0), [] { return Config(); });
    reg.add<Counter>(di::every_core, [] { return Counter(); });
    auto routes = reg.add<Routes>(
        di::every_core, [](di::Ref<Counter> c, di::Remote<Config> x) { return Routes(c, x); });
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    take_log();
    co_await reg.stop(cfg);
    std::vector<std::string> log1 = take_log();
    CO_ASSERT(log1.size() == 3u);
    EXPECT_EQ(log1.back(), "Config stop");  // both Routes stopped before it
    EXPECT_TRUE(std::find(log1.begin(), log1.end(), "Routes stop 0") != log1.end());
    EXPECT_TRUE(std::find(log1.begin(), log1.end(), "Routes stop 1") != log1.end());
    const std::optional<di::State> on1 =
        co_await kio::submit_to(1, [&] { return reg.state(routes); });
    EXPECT_EQ(on1, di::State::waiting);
    co_await reg.start(cfg);
    CO_ASSERT(co_await reg.wait_for(routes, di::State::active));
    std::vector<std::string> log2 = take_log();
    CO_ASSERT(log2.size() == 3u);
    EXPECT_EQ(log2.front(), "Config start");  // before either Routes
    co_await reg.stop();
  }());
}

TEST(Remote, CallsRacingTheProvidersStopEndWithOperationCanceled) {
  kio::Runtime rt(two_cores());
  rt.block_on([]() -> kio::Task<void> {
    di::Registry reg;
    auto cfg = reg.add<Config>(di::on_core(0), [] { return Config(); });
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    std::atomic<bool> done{false};
    std::atomic<long> ok{0}, canceled{0};
    kio::Event caller_done;
    // A caller on core 1 through a handle from outside the graph, while core 0 cycles Config.
    co_await kio::spawn_on(
        1,
        [](di::Registry& reg, di::ServiceId id, std::atomic<bool>& done, std::atomic<long>& ok,
           std::atomic<long>& canceled) -> kio::Task<void> {
          di::Remote<Config> h = reg.get<Config>(id);
          while (!done.load()) {
            auto r = co_await h.call([](Config& c) { return c.greeting.size(); });
            if (r)
              ok.fetch_add(1);
            else if (r.error() == std::errc::operation_canceled)
              canceled.fetch_add(1);
            else
              ADD_FAILURE() << r.error().message();
          }
        }(reg, cfg, done, ok, canceled));
    const int cycles = kio_test::under_tsan ? 20 : 200;
    for (int i = 0; i < cycles; ++i) {
      co_await reg.stop(cfg);
      co_await kio::sleep_for(100us);
      co_await reg.start(cfg);
      co_await kio::sleep_for(100us);
    }
    done.store(true);
    co_await kio::sleep_for(20ms);  // the caller notices
    EXPECT_GT(ok.load(), 0);
    EXPECT_GT(canceled.load(), 0);
    co_await reg.stop();
  }());
}

struct SlowConfig {
  void stop() { stopped_while_busy = busy.load(); }
  std::atomic<bool> busy{false};
  static inline std::atomic<bool> stopped_while_busy{true};
};

TEST(Remote, StopWaitsForACallInFlight) {
  kio::Runtime rt(two_cores());
  rt.block_on([]() -> kio::Task<void> {
    SlowConfig::stopped_while_busy = true;
    di::Registry reg;
    auto cfg = reg.add<SlowConfig>(di::on_core(0), [] { return SlowConfig(); });
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    std::atomic<int> result{-1};
    std::atomic<bool> running{false};
    co_await kio::spawn_on(1,
                           [](di::Registry& reg, di::ServiceId id, std::atomic<int>& out,
                              std::atomic<bool>& running) -> kio::Task<void> {
                             auto r = co_await reg.get<SlowConfig>(id).call(
                                 [&running](SlowConfig& c) -> kio::Task<int> {
                                   c.busy = true;
                                   running = true;
                                   co_await kio::sleep_for(20ms);
                                   c.busy = false;
                                   co_return 7;
                                 });
                             out = r ? *r : -2;
                           }(reg, cfg, result, running));
    while (!running.load())
      co_await kio::sleep_for(1ms);  // the call runs on core 0 now
    co_await reg.stop(cfg);
    EXPECT_FALSE(SlowConfig::stopped_while_busy.load());
    while (result.load() == -1)
      co_await kio::sleep_for(1ms);
    EXPECT_EQ(result.load(), 7);
    auto late = co_await reg.get<SlowConfig>(cfg).call([](SlowConfig&) { return 1; });
    EXPECT_EQ(late.error(), std::errc::operation_canceled);
    co_await reg.stop();
  }());
}

struct Holder {
  explicit Holder(di::Remote<Config> c) : cfg(c) {}
  di::Remote<Config> cfg;
};

TEST(Remote, HandleToARemovedProviderFailsSoftly) {
  kio::Runtime rt(two_cores());
  rt.block_on([]() -> kio::Task<void> {
    di::Registry reg;
    auto cfg = reg.add<Config>(di::on_core(0), [] { return Config(); });
    auto holder = reg.add<Holder>(di::on_core(1), [](di::Remote<Config> c) { return Holder(c); });
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    di::Remote<Config> kept =
        co_await kio::submit_to(1, [&] { return reg.local<Holder>(holder)->cfg; });
    EXPECT_EQ((co_await kept.call([](Config& c) { return c.core; })).value(), 0u);
    co_await reg.remove(cfg);
    const auto st = co_await kio::submit_to(1, [&] { return reg.state(holder); });
    EXPECT_EQ(st, di::State::waiting);
    auto r = co_await kept.call([](Config& c) { return c.core; });
    EXPECT_EQ(r.error(), std::errc::operation_canceled);
    co_await reg.stop();
  }());
}

struct Stats {
  explicit Stats(di::PerCore<Counter> c) : counters(c) {}
  kio::Task<std::uint64_t> total() {
    std::uint64_t sum = 0;
    for (di::Remote<Counter> c : counters)
      sum += (co_await c.call([](Counter& x) { return x.hits; })).value();
    co_return sum;
  }
  di::PerCore<Counter> counters;
};

TEST(Remote, PerCoreSeesTheInstanceOnEveryCore) {
  kio::Runtime rt(two_cores());
  rt.block_on([]() -> kio::Task<void> {
    di::Registry reg;
    auto counter = reg.add<Counter>(di::every_core, [] { return Counter(); });
    auto stats = reg.add<Stats>(di::on_core(1), [](di::PerCore<Counter> c) { return Stats(c); });
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    for (unsigned c = 0; c < 2; ++c)
      co_await kio::submit_to(c, [&, c] { reg.local<Counter>(counter)->hits += 10 * (c + 1); });
    const std::uint64_t sum =
        co_await kio::submit_to(1, [&] { return reg.local<Stats>(stats)->total(); });
    EXPECT_EQ(sum, 30u);
    const unsigned second =
        co_await kio::submit_to(1, [&] { return reg.local<Stats>(stats)->counters[1].core(); });
    EXPECT_EQ(second, 1u);
    co_await reg.stop();
  }());
}

struct ILogger {
  virtual ~ILogger() = default;
};
struct CoreLogger : ILogger {
  explicit CoreLogger(const di::Requester& r) : core(kio::this_core()), requester_core(r.core()) {}
  unsigned core, requester_core;
};
struct Worker {
  explicit Worker(di::Ref<ILogger> l) : logger(static_cast<CoreLogger*>(l.get())) {}
  CoreLogger* logger;
};

TEST(Remote, PerRequesterInstancesAreBuiltOnTheRequestersCore) {
  kio::Runtime rt(two_cores());
  rt.block_on([]() -> kio::Task<void> {
    di::Registry reg;
    reg.add<CoreLogger, ILogger>(di::every_core,
                                 [](const di::Requester& r) { return CoreLogger(r); },
                                 {.sharing = di::Sharing::per_requester});
    auto w = reg.add<Worker>(di::every_core, [](di::Ref<ILogger> l) { return Worker(l); });
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    for (unsigned c = 0; c < 2; ++c) {
      auto [a, b] = co_await kio::submit_to(c, [&] {
        CoreLogger* l = reg.local<Worker>(w)->logger;
        return std::pair<unsigned, unsigned>{l->core, l->requester_core};
      });
      EXPECT_EQ(a, c);
      EXPECT_EQ(b, c);
    }
    co_await reg.stop();
  }());
}

struct Pinned {
  explicit Pinned(di::Ref<Config>) {}
};

TEST(Remote, RefBetweenCoresIsAGraphError) {
  kio::Runtime rt(two_cores());
  const std::string text = rt.block_on([]() -> kio::Task<std::string> {
    di::Registry reg;
    reg.add<Config>(di::on_core(0), [] { return Config(); });
    reg.add<Pinned>(di::on_core(1), [](di::Ref<Config> c) { return Pinned(c); });
    reg.add<Pinned>(di::on_core(0), [](di::Ref<Config> c) { return Pinned(c); }, {.name = "Same"});
    try {
      (void)co_await reg.start();
    } catch (const di::GraphError& e) {
      co_return e.what();
    }
    co_return "";
  }());
  EXPECT_EQ(
      text,
      "Pinned (core 1) parameter 0 Ref<Config>: Config lives on core 0 only; use Remote<Config>");
}

struct IStore {
  virtual ~IStore() = default;
};
struct BadStore : IStore {
  kio::Task<kio::Result<void>> start() {
    co_await kio::sleep_for(1ms);
    co_return std::errc::connection_refused;
  }
};
struct Api {
  explicit Api(di::Remote<IStore>) {}
};

TEST(Remote, AFailureOnOneCoreBlocksDependentsOnAnother) {
  kio::Runtime rt(two_cores());
  rt.block_on([]() -> kio::Task<void> {
    di::Registry reg;
    reg.add<BadStore, IStore>(di::on_core(0), [] { return BadStore(); });
    reg.add<Api>(di::on_core(1), [](di::Remote<IStore> s) { return Api(s); });
    reg.add<Counter>(di::every_core, [] { return Counter(); });
    di::StartReport r = co_await reg.start();
    EXPECT_EQ(r.message(),
              "BadStore (core 0) failed: start(): Connection refused\n"
              "Api (core 1) blocked: parameter 0 Remote<IStore>: waiting for BadStore (core 0), "
              "which is failed\n");
    // stop() may be called from any core; it is forwarded to the home core.
    co_await kio::submit_to(1, [&] { return reg.stop(); });
    EXPECT_EQ((co_await reg.snapshot()).at(2).instances.at(1).state, di::State::stopped);
  }());
}

}  // namespace
