// Description: kio::di::Registry on one core: start/stop order, every slot kind, qualifiers,
// filters, primary, per-requester instances, 10,000 services.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "co_assert.hpp"
#include "kio/kio.hpp"
#include "one_worker.hpp"

namespace di = kio::di;

namespace {

std::vector<std::string> g_log;

struct IStore {
  virtual ~IStore() = default;
  virtual std::string kind() const = 0;
};

struct Config {
  Config() { g_log.push_back("Config built"); }
  ~Config() { g_log.push_back("Config destroyed"); }
  void start() { g_log.push_back("Config start"); }
  void stop() { g_log.push_back("Config stop"); }
  int port = 8080;
};

struct Store : IStore {
  explicit Store(di::Ref<Config> c) : cfg(c) { g_log.push_back("Store built"); }
  ~Store() override { g_log.push_back("Store destroyed"); }
  kio::Task<void> start() {
    co_await kio::yield();  // a real suspension: the start runs asynchronously
    g_log.push_back("Store start");
  }
  void stop() { g_log.push_back("Store stop"); }
  std::string kind() const override { return "store"; }
  di::Ref<Config> cfg;
};

struct Api {
  Api(di::Ref<IStore> s, di::Ref<Config> c) : store(s), cfg(c) { g_log.push_back("Api built"); }
  ~Api() { g_log.push_back("Api destroyed"); }
  void start() { g_log.push_back("Api start " + store->kind() + " " + std::to_string(cfg->port)); }
  void stop() { g_log.push_back("Api stop"); }
  di::Ref<IStore> store;
  di::Ref<Config> cfg;
};

TEST(Registry, StartsInDependencyOrderAndStopsInReverse) {
  g_log.clear();
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg;
    // registered in reverse dependency order on purpose
    reg.add<Api>(di::every_core, [](di::Ref<IStore> s, di::Ref<Config> c) { return Api(s, c); });
    reg.add<Store, IStore>(di::every_core, [](di::Ref<Config> c) { return Store(c); });
    reg.add<Config>(di::every_core, [] { return Config(); });
    di::StartReport r = co_await reg.start();
    CO_ASSERT(static_cast<bool>(r), r.message());
    co_await reg.stop();
  }());
  const std::vector<std::string> want = {"Config built",    "Config start",  "Store built",
                                         "Store start",     "Api built",     "Api start store 8080",
                                         "Api stop",        "Api destroyed", "Store stop",
                                         "Store destroyed", "Config stop",   "Config destroyed"};
  EXPECT_EQ(g_log, want);
}

// ---- Opt, All, qualifiers, filters, primary -----------------------------------------------

struct Plugin {
  virtual ~Plugin() = default;
  virtual std::string name() const = 0;
};
struct PluginA : Plugin {
  std::string name() const override { return "a"; }
};
struct PluginB : Plugin {
  std::string name() const override { return "b"; }
};
struct Cache {
  int hits = 0;
};

struct Host {
  Host(di::Opt<Cache> c, di::Opt<IStore> none, di::All<Plugin> all,
       di::All<Plugin, di::named<"b">> only_b)
      : cache(c), missing(none), plugins(all), b(only_b) {}
  di::Opt<Cache> cache;
  di::Opt<IStore> missing;
  di::All<Plugin> plugins;
  di::All<Plugin, di::named<"b">> b;
};

TEST(Registry, OptionalMultipleAndQualifiedSlots) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg;
    auto host = reg.add<Host>(di::every_core,
                              [](di::Opt<Cache> c, di::Opt<IStore> s, di::All<Plugin> all,
                                 di::All<Plugin, di::named<"b">> b) { return Host(c, s, all, b); });
    reg.add<Cache>(di::every_core, [] { return Cache{}; });
    reg.add<PluginA, Plugin>(di::every_core, [] { return PluginA{}; });
    reg.add<PluginB, Plugin>(di::every_core, [] { return PluginB{}; }, {.qualifier = "b"});
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    Host* h = reg.local<Host>(host);
    CO_ASSERT(h != nullptr);
    EXPECT_TRUE(static_cast<bool>(h->cache));
    EXPECT_FALSE(static_cast<bool>(h->missing));
    std::vector<std::string> names;
    for (di::Remote<Plugin> p : h->plugins) {
      CO_ASSERT(p.local() != nullptr);
      names.push_back(p.local()->name());
      auto r = co_await p.call([](Plugin& x) { return x.name(); });
      CO_ASSERT(static_cast<bool>(r));
      EXPECT_EQ(*r, names.back());
    }
    EXPECT_EQ(names, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(h->b.size(), 1u);
    co_await reg.stop();
  }());
}

struct Report {
  explicit Report(di::Ref<IStore> s) : store(s) {}
  di::Ref<IStore> store;
};
struct MemStore : IStore {
  std::string kind() const override { return "mem"; }
};
struct DiskStore : IStore {
  std::string kind() const override { return "disk"; }
};

TEST(Registry, FilterAndPrimarySettleTwoProviders) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg;
    reg.add<MemStore, IStore>(di::every_core, [] { return MemStore{}; },
                              {.properties = di::Properties().set("tier", "cache")});
    reg.add<DiskStore, IStore>(
        di::every_core, [] { return DiskStore{}; },
        {.properties = di::Properties().set("tier", "disk").set("shards", 8), .primary = true});
    auto by_primary = reg.add<Report>(di::every_core, [](di::Ref<IStore> s) { return Report(s); },
                                      {.name = "ByPrimary"});
    auto by_filter =
        reg.add<Report>(di::every_core, [](di::Ref<IStore> s) { return Report(s); },
                        {.name = "ByFilter", .filters = {di::where<IStore>("tier", "cache")}});
    auto by_pred = reg.add<Report>(di::every_core, [](di::Ref<IStore> s) { return Report(s); },
                                   {.name = "ByPredicate",
                                    .filters = {di::where<IStore>(
                                        [](const di::Properties& p) {
                                          const std::int64_t* n = p.get<std::int64_t>("shards");
                                          return n && *n >= 4;
                                        },
                                        "shards >= 4")}});
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    EXPECT_EQ(reg.local<Report>(by_primary)->store->kind(), "disk");
    EXPECT_EQ(reg.local<Report>(by_filter)->store->kind(), "mem");
    EXPECT_EQ(reg.local<Report>(by_pred)->store->kind(), "disk");
    co_await reg.stop();
  }());
}

// ---- per-requester instances --------------------------------------------------------------------

struct ILogger {
  virtual ~ILogger() = default;
  virtual std::string owner() const = 0;
};
struct FrameworkLogger {
  int made = 0;
};
struct NamedLogger : ILogger {
  NamedLogger(std::string o, di::Ref<FrameworkLogger> f) : who(std::move(o)), fw(f) { ++fw->made; }
  std::string owner() const override { return who; }
  std::string who;
  di::Ref<FrameworkLogger> fw;
};
struct Worker {
  explicit Worker(di::Ref<ILogger> l) : log(l) {}
  di::Ref<ILogger> log;
};

TEST(Registry, PerRequesterInstances) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg;
    auto fw = reg.add<FrameworkLogger>(di::every_core, [] { return FrameworkLogger{}; });
    reg.add<NamedLogger, ILogger>(di::every_core,
                                  [](const di::Requester& r, di::Ref<FrameworkLogger> f) {
                                    return NamedLogger(std::string(r.name()), f);
                                  },
                                  {.sharing = di::Sharing::per_requester});
    auto w1 = reg.add<Worker>(di::every_core, [](di::Ref<ILogger> l) { return Worker(l); },
                              {.name = "one"});
    auto w2 = reg.add<Worker>(di::every_core, [](di::Ref<ILogger> l) { return Worker(l); },
                              {.name = "two"});
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    EXPECT_EQ(reg.local<Worker>(w1)->log->owner(), "one");
    EXPECT_EQ(reg.local<Worker>(w2)->log->owner(), "two");
    EXPECT_NE(reg.local<Worker>(w1)->log.get(), reg.local<Worker>(w2)->log.get());
    EXPECT_EQ(reg.local<FrameworkLogger>(fw)->made, 2);
    co_await reg.stop();
  }());
}

// ---- factory results ----------------------------------------------------------------------

struct Built {
  explicit Built(std::string h) : how(std::move(h)) {}
  std::string how;
};
struct BuiltA : Built {
  using Built::Built;
};
struct BuiltB : Built {
  using Built::Built;
};
struct BuiltC : Built {
  using Built::Built;
};
struct BuiltD : Built {
  using Built::Built;
};
struct Sees {
  Sees(di::Ref<BuiltA> a, di::Ref<BuiltB> b, di::Ref<BuiltC> c, di::Ref<BuiltD> d)
      : text(a->how + " " + b->how + " " + c->how + " " + d->how) {}
  std::string text;
};

TEST(Registry, FactoriesReturnValuesPointersAndTasks) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg;
    reg.add<BuiltA>(di::every_core, [] { return BuiltA("value"); });
    reg.add<BuiltB>(di::every_core, [] { return std::make_unique<BuiltB>("unique_ptr"); });
    reg.add<BuiltC>(di::every_core, []() -> kio::Task<BuiltC> {
      co_await kio::yield();  // an asynchronous factory really suspends
      co_return BuiltC("task");
    });
    reg.add<BuiltD>(di::every_core, []() -> kio::Task<std::unique_ptr<BuiltD>> {
      co_await kio::yield();
      co_return std::make_unique<BuiltD>("task-of-unique_ptr");
    });
    auto sees =
        reg.add<Sees>(di::every_core, [](di::Ref<BuiltA> a, di::Ref<BuiltB> b, di::Ref<BuiltC> c,
                                         di::Ref<BuiltD> d) { return Sees(a, b, c, d); });
    di::StartReport r = co_await reg.start();
    CO_ASSERT(static_cast<bool>(r), r.message());
    EXPECT_EQ(reg.local<Sees>(sees)->text, "value unique_ptr task task-of-unique_ptr");
    co_await reg.stop();
  }());
}

struct NullPtr {};

TEST(Registry, AFactoryReturningANullPointerFails) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg;
    reg.add<NullPtr>(di::every_core, [] { return std::unique_ptr<NullPtr>(); });
    di::StartReport r = co_await reg.start();
    EXPECT_EQ(r.message(),
              "NullPtr (every core) on core 0 failed: factory: returned a null std::unique_ptr\n");
    co_await reg.stop();
  }());
}

// ---- 10,000 services, memory per idle service -------------------------------------------------

struct Leaf {
  int v = 0;
};
struct Idle {
  explicit Idle(di::Ref<Leaf> l) : leaf(l) {}
  di::Ref<Leaf> leaf;
};

TEST(Registry, TenThousandServicesStartAndStop) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    constexpr int n = 10'000;
    std::vector<di::ServiceId> ids;
    ids.reserve(n);
    di::Registry reg;
    reg.add<Leaf>(di::every_core, [] { return Leaf{}; });
    for (int i = 0; i < n; ++i)
      ids.push_back(reg.add<Idle>(di::every_core, [](di::Ref<Leaf> l) { return Idle(l); }));
    di::StartReport r = co_await reg.start();
    CO_ASSERT(static_cast<bool>(r), r.message());
    for (di::ServiceId id : ids)
      EXPECT_EQ(reg.state(id), di::State::active);
    co_await reg.stop();
    for (di::ServiceId id : ids)
      EXPECT_EQ(reg.state(id), di::State::stopped);
  }());
}

}  // namespace
