// Description: kio::di lifecycle on one core: failing factories and start()s (failed, blocked,
// the rest runs), cascading stop/restart on stop/remove/re-add, the dynamic policy's hooks,
// Context tasks cancelled and joined before stop(), requests made from inside start()/stop().
// g++ 12 at -O3 reports a false -Wrestrict inside std::operator+(const char*, std::string&&)
// (GCC PR 105329), which the log lines below use.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "co_assert.hpp"
#include "kio/kio.hpp"
#include "one_worker.hpp"

namespace di = kio::di;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> g_log;

struct IStore {
  virtual ~IStore() = default;
  virtual std::string name() const = 0;
};
struct BadStore : IStore {
  kio::Result<void> start() { return std::errc::connection_refused; }
  std::string name() const override { return "bad"; }
};
struct GoodStore : IStore {
  std::string name() const override { return "good"; }
};
struct Api {
  explicit Api(di::Ref<IStore> s) : store(s) {}
  di::Ref<IStore> store;
};
struct Edge {
  explicit Edge(di::Ref<Api> a) : api(a) {}
  di::Ref<Api> api;
};
struct Other {};

TEST(Lifecycle, FailingStartMarksFailedAndBlocksDependents) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg;
    auto store = reg.add<BadStore, IStore>(di::on_core(0), [] { return BadStore(); });
    auto api = reg.add<Api>(di::on_core(0), [](di::Ref<IStore> s) { return Api(s); });
    auto edge = reg.add<Edge>(di::on_core(0), [](di::Ref<Api> a) { return Edge(a); });
    auto other = reg.add<Other>(di::every_core, [] { return Other{}; });
    di::StartReport r = co_await reg.start();
    EXPECT_FALSE(static_cast<bool>(r));
    EXPECT_EQ(r.message(),
              "BadStore (core 0) failed: start(): Connection refused\n"
              "Api (core 0) blocked: parameter 0 Ref<IStore>: waiting for BadStore (core 0), which "
              "is failed\n"
              "Edge (core 0) blocked: parameter 0 Ref<Api>: waiting for Api (core 0), which is "
              "blocked\n");
    EXPECT_EQ(r.failed(), std::vector<di::ServiceId>{store});
    EXPECT_EQ(r.blocked(), (std::vector<di::ServiceId>{api, edge}));
    EXPECT_EQ(reg.state(store), di::State::failed);
    EXPECT_EQ(reg.state(api), di::State::blocked);
    EXPECT_EQ(reg.state(edge), di::State::blocked);
    EXPECT_EQ(reg.state(other), di::State::active);
    co_await reg.stop();
    EXPECT_EQ(reg.state(store), di::State::failed);  // a failed instance stays failed
    EXPECT_EQ(reg.state(other), di::State::stopped);
  }());
}

struct Flaky {
  static inline int attempts = 0;
  Flaky() {
    if (++attempts == 1) throw std::runtime_error("disk not ready");
  }
};
struct UsesFlaky {
  explicit UsesFlaky(di::Ref<Flaky>) {}
};

TEST(Lifecycle, FailingFactoryThenRetriedWithStart) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    Flaky::attempts = 0;
    di::Registry reg;
    auto flaky = reg.add<Flaky>(di::every_core, [] { return Flaky(); });
    auto user = reg.add<UsesFlaky>(di::every_core, [](di::Ref<Flaky> f) { return UsesFlaky(f); });
    di::StartReport r = co_await reg.start();
    EXPECT_EQ(r.message(),
              "Flaky (every core) on core 0 failed: factory: disk not ready\n"
              "UsesFlaky (every core) on core 0 blocked: parameter 0 Ref<Flaky>: waiting for Flaky "
              "(core 0), which is failed\n");
    std::vector<di::ServiceInfo> snap = co_await reg.snapshot();
    EXPECT_EQ(snap[0].instances.at(0).error, "factory: disk not ready");
    co_await reg.start(flaky);  // retry: builds again, and the blocked dependent follows
    EXPECT_EQ(reg.state(flaky), di::State::active);
    CO_ASSERT(co_await reg.wait_for(user, di::State::active));
    snap = co_await reg.snapshot();
    EXPECT_EQ(snap[0].instances.at(0).error, "");
    co_await reg.stop();
  }());
}

struct ThrowingStart {
  kio::Task<void> start() {
    co_await kio::yield();
    throw std::runtime_error("boom");
  }
};

TEST(Lifecycle, ThrowingAsyncStart) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg;
    auto t = reg.add<ThrowingStart>(di::every_core, [] { return ThrowingStart(); });
    di::StartReport r = co_await reg.start();
    EXPECT_EQ(r.message(), "ThrowingStart (every core) on core 0 failed: start(): boom\n");
    EXPECT_EQ(reg.state(t), di::State::failed);
    co_await reg.stop();
  }());
}

// ---- cascades ---------------------------------------------------------------------------------

template <int N>
struct Named {
  void start() { g_log.push_back(name() + " start"); }
  void stop() { g_log.push_back(name() + " stop"); }
  static std::string name() { return "S" + std::to_string(N); }
};
struct Mid : Named<1> {
  explicit Mid(di::Ref<Named<0>>) {}
};
struct Top : Named<2> {
  explicit Top(di::Ref<Mid>) {}
};

TEST(Lifecycle, StoppingAProviderCascadesAndStartingItRestartsDependents) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    g_log.clear();
    di::Registry reg;
    auto base = reg.add<Named<0>>(di::every_core, [] { return Named<0>(); });
    auto mid = reg.add<Mid>(di::every_core, [](di::Ref<Named<0>> b) { return Mid(b); });
    auto top = reg.add<Top>(di::every_core, [](di::Ref<Mid> m) { return Top(m); });
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    g_log.clear();
    co_await reg.stop(base);
    EXPECT_EQ(g_log, (std::vector<std::string>{"S2 stop", "S1 stop", "S0 stop"}));
    EXPECT_EQ(reg.state(base), di::State::stopped);
    EXPECT_EQ(reg.state(mid), di::State::waiting);
    EXPECT_EQ(reg.state(top), di::State::waiting);
    std::vector<di::ServiceInfo> snap = co_await reg.snapshot();
    EXPECT_EQ(snap[1].instances.at(0).slots.at(0).waiting_for,
              "Named<0> (core 0), which is stopped");
    g_log.clear();
    co_await reg.start(base);
    EXPECT_EQ(g_log, (std::vector<std::string>{"S0 start", "S1 start", "S2 start"}));
    EXPECT_EQ(reg.state(top), di::State::active);
    co_await reg.stop();
  }());
}

TEST(Lifecycle, RemoveThenAddAnotherProvider) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg;
    auto bad =
        reg.add<GoodStore, IStore>(di::every_core, [] { return GoodStore(); }, {.name = "first"});
    auto api = reg.add<Api>(di::every_core, [](di::Ref<IStore> s) { return Api(s); });
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    co_await reg.remove(bad);
    EXPECT_EQ(reg.state(bad), std::nullopt);
    EXPECT_EQ(reg.state(api), di::State::waiting);
    std::vector<di::ServiceInfo> snap = co_await reg.snapshot();
    CO_ASSERT(snap.size() == 1u);
    EXPECT_EQ(snap[0].instances.at(0).slots.at(0).waiting_for, "no provider registered");
    reg.add<GoodStore, IStore>(di::every_core, [] { return GoodStore(); }, {.name = "second"});
    CO_ASSERT(co_await reg.wait_for(api, di::State::active));
    EXPECT_EQ(reg.local<Api>(api)->store->name(), "good");
    co_await reg.stop();
  }());
}

// ---- dynamic policy ---------------------------------------------------------------------------

struct Plugin {
  int id;
};
struct Watcher {
  Watcher(di::Opt<GoodStore> s, di::All<Plugin> p) : store(s), plugins(p) { ++builds; }
  void bound(di::Opt<GoodStore> s) {
    store = s;
    g_log.push_back("bound store");
  }
  void unbound(di::Opt<GoodStore>) {
    store = di::Opt<GoodStore>();
    g_log.push_back("unbound store");
  }
  void bound(di::Remote<Plugin> p) {
    g_log.push_back("bound plugin " + std::to_string(p.local()->id));
  }
  void unbound(di::Remote<Plugin>) { g_log.push_back("unbound plugin"); }
  di::Opt<GoodStore> store;
  di::All<Plugin> plugins;
  static inline int builds = 0;
};

TEST(Lifecycle, DynamicPolicyRebindsWithoutRestart) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    g_log.clear();
    Watcher::builds = 0;
    di::Registry reg;
    auto store = reg.add<GoodStore>(di::every_core, [] { return GoodStore(); });
    auto w = reg.add<Watcher>(di::every_core,
                              [](di::Opt<GoodStore> s, di::All<Plugin> p) { return Watcher(s, p); },
                              {.policy = di::Policy::dynamic});
    reg.add<Plugin>(di::every_core, [] { return Plugin{1}; });
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    Watcher* watcher = reg.local<Watcher>(w);
    CO_ASSERT(watcher != nullptr);
    EXPECT_TRUE(static_cast<bool>(watcher->store));
    co_await reg.stop(store);
    EXPECT_EQ(reg.state(w), di::State::active);
    EXPECT_FALSE(static_cast<bool>(watcher->store));
    co_await reg.start(store);
    EXPECT_TRUE(static_cast<bool>(watcher->store));
    reg.add<Plugin>(di::every_core, [] { return Plugin{2}; }, {.name = "second plugin"});
    auto second = di::ServiceId{static_cast<std::uint32_t>(reg.size() - 1)};
    CO_ASSERT(co_await reg.wait_for(second, di::State::active));
    EXPECT_EQ(watcher->plugins.size(), 2u);
    EXPECT_EQ(Watcher::builds, 1);  // never restarted
    // A dynamic optional slot does not hold the start back: Plugin 1 was bound once it was up.
    EXPECT_EQ(g_log, (std::vector<std::string>{"bound plugin 1", "unbound store", "bound store",
                                               "bound plugin 2"}));
    co_await reg.stop();
    EXPECT_EQ(g_log.back(), "unbound store");
  }());
}

struct Reader {
  explicit Reader(di::Ref<IStore> s) : store(s) { ++builds; }
  void bound(di::Ref<IStore> s) {
    store = s;
    g_log.push_back("bound " + s->name());
  }
  void unbound(di::Ref<IStore> s) { g_log.push_back("unbound " + s->name()); }
  di::Ref<IStore> store;
  static inline int builds = 0;
};
struct OtherStore : IStore {
  std::string name() const override { return "other"; }
};

TEST(Lifecycle, DynamicRequiredSlotFailsOverToAnotherProvider) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    g_log.clear();
    Reader::builds = 0;
    di::Registry reg;
    auto main_store =
        reg.add<GoodStore, IStore>(di::every_core, [] { return GoodStore(); }, {.primary = true});
    auto reader = reg.add<Reader>(di::every_core, [](di::Ref<IStore> s) { return Reader(s); },
                                  {.policy = di::Policy::dynamic});
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    // A second provider added later is an alternative for the slot; the binding stays.
    auto other = reg.add<OtherStore, IStore>(di::every_core, [] { return OtherStore(); });
    CO_ASSERT(co_await reg.wait_for(other, di::State::active));
    EXPECT_EQ(reg.local<Reader>(reader)->store->name(), "good");
    co_await reg.stop(main_store);  // the reader is rebound, not restarted
    EXPECT_EQ(reg.state(reader), di::State::active);
    EXPECT_EQ(reg.local<Reader>(reader)->store->name(), "other");
    co_await reg.stop(other);  // nothing left for a required slot: it stops (holding it) and waits
    EXPECT_EQ(reg.state(reader), di::State::waiting);
    co_await reg.start(main_store);
    EXPECT_EQ(reg.state(reader), di::State::active);
    EXPECT_EQ(Reader::builds, 2);
    EXPECT_EQ(g_log, (std::vector<std::string>{"unbound good", "bound other"}));
    co_await reg.stop();
  }());
}

struct Collector {
  explicit Collector(di::All<Plugin> p) : plugins(p) { ++builds; }
  di::All<Plugin> plugins;
  static inline int builds = 0;
};

TEST(Lifecycle, RestartPolicyRestartsToBindANewProvider) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    Collector::builds = 0;
    di::Registry reg;
    auto c = reg.add<Collector>(di::every_core, [](di::All<Plugin> p) { return Collector(p); });
    reg.add<Plugin>(di::every_core, [] { return Plugin{1}; });
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    EXPECT_EQ(reg.local<Collector>(c)->plugins.size(), 1u);
    auto second = reg.add<Plugin>(di::every_core, [] { return Plugin{2}; }, {.name = "p2"});
    CO_ASSERT(co_await reg.wait_for(second, di::State::active));
    CO_ASSERT(co_await reg.wait_for(c, di::State::active));
    EXPECT_EQ(reg.local<Collector>(c)->plugins.size(), 2u);
    EXPECT_EQ(Collector::builds, 2);
    co_await reg.stop();
  }());
}

// ---- Context tasks ----------------------------------------------------------------------------

struct Poller {
  explicit Poller(di::Context& c) : ctx(c) {}
  void start() {
    ctx.spawn([](std::vector<std::string>& log) -> kio::Task<void> {
      for (;;) {
        if (!co_await kio::sleep_for(1ms)) break;  // cancelled when the service stops
      }
      log.push_back("task ended");
    }(g_log));
  }
  kio::Task<void> stop() {
    g_log.push_back("stop() with " + std::to_string(ctx.tasks()) + " tasks");
    co_return;
  }
  ~Poller() { g_log.push_back("destroyed"); }
  di::Context& ctx;
};

TEST(Lifecycle, ContextTasksAreCancelledAndJoinedBeforeStop) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    g_log.clear();
    di::Registry reg;
    reg.add<Poller>(di::every_core, [](di::Context& c) { return Poller(c); });
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    co_await kio::sleep_for(5ms);
    co_await reg.stop();
    EXPECT_EQ(g_log, (std::vector<std::string>{"task ended", "stop() with 0 tasks", "destroyed"}));
  }());
}

// A task that throws is logged with the service's name (a cancellation is not); its siblings run
// on, and the service's tasks still count down to zero (each child ends exactly once).
std::vector<std::string> g_lines;
void capture_line(kio::LogLevel, std::string_view line) noexcept {
  g_lines.emplace_back(line);
}

struct Thrower {
  explicit Thrower(di::Context& c) : ctx(c) {}
  void start() {
    ctx.spawn([]() -> kio::Task<void> {
      throw std::runtime_error("boom");
      co_return;
    }());
    ctx.spawn([]() -> kio::Task<int> {
      throw std::system_error(std::make_error_code(std::errc::operation_canceled));
      co_return 1;
    }());
    ctx.spawn([](Thrower& self) -> kio::Task<int> {
      co_await kio::yield();
      ++self.finished;
      co_return 2;
    }(*this));
  }
  di::Context& ctx;
  int finished = 0;
};

TEST(Lifecycle, ContextTaskExceptionIsLoggedWithTheServiceNameAndSiblingsRun) {
  g_lines.clear();
  kio::set_log_sink(capture_line);
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg;
    auto t = reg.add<Thrower>(
        di::every_core, [](di::Context& c) { return Thrower(c); }, di::Options{.name = "thrower"});
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    for (int i = 0; i < 100 && reg.local<Thrower>(t)->ctx.tasks() != 0; ++i)
      co_await kio::yield();
    EXPECT_EQ(reg.local<Thrower>(t)->ctx.tasks(), 0u);
    EXPECT_EQ(reg.local<Thrower>(t)->finished, 1);
    co_await reg.stop();
  }());
  kio::set_log_sink(nullptr);
  ASSERT_EQ(g_lines.size(), 1u);
  EXPECT_NE(g_lines[0].find("kio::di: a task thrower spawned through its Context threw: boom"),
            std::string::npos)
      << g_lines[0];
}

// ---- requests from inside start()/stop() ------------------------------------------------------

struct Target {};
struct Toggler {
  Toggler(di::Context& c, di::Ref<Target>) : ctx(c) {}
  void start() {
    ++starts;
    if (starts < rounds) ctx.registry().post_stop(target);
  }
  void stop() {
    if (starts < rounds) ctx.registry().post_start(target);
  }
  di::Context& ctx;
  static inline di::ServiceId target;
  static inline int starts = 0;
  static inline int rounds = 0;
};

TEST(Lifecycle, RequestsFromStartAndStopRunBehindTheTransition) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    Toggler::starts = 0;
    Toggler::rounds = 1000;
    di::Registry reg;
    Toggler::target = reg.add<Target>(di::every_core, [] { return Target{}; });
    auto t = reg.add<Toggler>(di::every_core,
                              [](di::Context& c, di::Ref<Target> x) { return Toggler(c, x); });
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    CO_ASSERT(co_await reg.wait_for(t, di::State::active));
    EXPECT_EQ(Toggler::starts, 1000);
    EXPECT_EQ(reg.state(Toggler::target), di::State::active);
    co_await reg.stop();
  }());
}

struct AwaitsInStart {
  AwaitsInStart(di::Context& c, di::Ref<Target>) : ctx(c) {}
  kio::Task<void> start() {
    // Awaiting from inside our own start(): queued, returns at once (waiting would deadlock).
    co_await ctx.registry().stop(Toggler::target);
    returned = true;
  }
  di::Context& ctx;
  static inline bool returned = false;
};

TEST(Lifecycle, AwaitingARequestInsideStartDoesNotDeadlock) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    AwaitsInStart::returned = false;
    di::Registry reg;
    Toggler::target = reg.add<Target>(di::every_core, [] { return Target{}; });
    auto a = reg.add<AwaitsInStart>(
        di::every_core, [](di::Context& c, di::Ref<Target> t) { return AwaitsInStart(c, t); });
    (void)co_await reg.start();
    EXPECT_TRUE(AwaitsInStart::returned);
    CO_ASSERT(co_await reg.wait_for(Toggler::target, di::State::stopped));
    EXPECT_EQ(reg.state(a), di::State::waiting);  // its provider is stopped
    co_await reg.stop();
  }());
}

struct SlowStop {
  explicit SlowStop(di::Ref<Target>) {}
  kio::Task<void> stop() {
    (void)co_await kio::sleep_for(2ms);  // cancelled (the runtime stops): returns at once
    g_log.push_back("SlowStop stopped");
  }
};

TEST(Lifecycle, StopsCompletelyWhileTheRuntimeStops) {
  // The usual shape of main(): serve until a signal, then stop the registry. The runtime's
  // shutdown token is cancelled by then; the registry's own waits must not end early.
  g_log.clear();
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  rt.block_on([](kio::Runtime& rt) -> kio::Task<void> {
    di::Registry reg;
    auto target = reg.add<Target>(di::every_core, [] { return Target{}; });
    auto slow = reg.add<SlowStop>(di::every_core, [](di::Ref<Target> t) { return SlowStop(t); });
    reg.add<Poller>(di::every_core, [](di::Context& c) { return Poller(c); });
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    rt.request_stop();
    for (int i = 0; i < 10'000 && !(co_await kio::this_cancel_token()).cancelled(); ++i)
      co_await kio::yield();  // the loop notices the stop within a few resumptions
    EXPECT_TRUE((co_await kio::this_cancel_token()).cancelled());
    co_await reg.stop();
    EXPECT_EQ(reg.state(target), di::State::stopped);
    EXPECT_EQ(reg.state(slow), di::State::stopped);
    // Each service's own order holds; the two services stop independently.
    std::vector<std::string> poller;
    for (const std::string& l : g_log)
      if (l != "SlowStop stopped") poller.push_back(l);
    EXPECT_EQ(poller, (std::vector<std::string>{"task ended", "stop() with 0 tasks", "destroyed"}));
    EXPECT_EQ(std::count(g_log.begin(), g_log.end(), "SlowStop stopped"), 1);
  }(rt));
}

TEST(Lifecycle, RegistryMisuseIsReported) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg;
    reg.add<Target>(di::every_core, [] { return Target{}; });
    EXPECT_THROW(reg.post_stop(di::ServiceId{0}), std::logic_error);  // not started
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    bool twice = false;
    try {
      (void)co_await reg.start();
    } catch (const std::logic_error&) {
      twice = true;
    }
    EXPECT_TRUE(twice);
    co_await reg.stop();
    co_await reg.stop();  // idempotent
    EXPECT_THROW(reg.add<Target>(di::every_core, [] { return Target{}; }), std::logic_error);
  }());
}

}  // namespace
