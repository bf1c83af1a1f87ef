// Description: the whole-graph check before any factory runs: every problem at once, with exact
// text (missing, ambiguous, cycle with the parameter on each edge, cross-core Ref, placement).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "co_assert.hpp"
#include "kio/kio.hpp"
#include "one_worker.hpp"

namespace di = kio::di;

namespace {

int g_built = 0;

struct IStore {
  virtual ~IStore() = default;
};
struct IAuth {
  virtual ~IAuth() = default;
};
struct ISessions {
  virtual ~ISessions() = default;
};
struct IRoute {
  virtual ~IRoute() = default;
};
struct IPlugin {
  virtual ~IPlugin() = default;
};
struct Config {
  Config() { ++g_built; }
};
struct PgStore : IStore {
  PgStore() { ++g_built; }
};
struct MemStore : IStore {
  MemStore() { ++g_built; }
};
struct Auth : IAuth {
  explicit Auth(di::Ref<ISessions>) { ++g_built; }
};
struct Sessions : ISessions {
  explicit Sessions(di::Remote<IRoute>) { ++g_built; }
};
struct Routes : IRoute {
  Routes(di::Ref<Config>, di::Ref<IAuth>) { ++g_built; }
};
struct Missing {
  Missing(di::Ref<Config>, di::Opt<IAuth>, di::Ref<IStore>) { ++g_built; }
};
struct Far {};
struct Ambiguous {
  explicit Ambiguous(di::Remote<IStore>) { ++g_built; }
};

/// Runs start() and returns the GraphError's text ("" when it did not throw).
std::string start_error(di::Registry& reg) {
  std::string text;
  kio_test::rt().block_on([](di::Registry& r, std::string& out) -> kio::Task<void> {
    try {
      (void)co_await r.start();
      co_await r.stop();
    } catch (const di::GraphError& e) {
      out = e.what();
    }
  }(reg, text));
  return text;
}

TEST(Graph, MissingProvider) {
  di::Registry reg;
  reg.add<Config>(di::every_core, [] { return Config(); });
  reg.add<Missing>(di::every_core, [](di::Ref<Config> c, di::Opt<IAuth> a, di::Ref<IStore> s) {
    return Missing(c, a, s);
  });
  EXPECT_EQ(start_error(reg),
            "Missing (every core) parameter 2 Ref<IStore>: no provider registered");
}

TEST(Graph, AmbiguousProviders) {
  di::Registry reg;
  reg.add<PgStore, IStore>(di::on_core(0), [] { return PgStore(); });
  reg.add<MemStore, IStore>(di::every_core, [] { return MemStore(); });
  reg.add<Ambiguous>(di::every_core, [](di::Remote<IStore> s) { return Ambiguous(s); });
  EXPECT_EQ(start_error(reg),
            "Ambiguous (every core) parameter 0 Remote<IStore>: 2 providers (PgStore core 0, "
            "MemStore every core); use All<>/named<>/where<>/primary");
}

TEST(Graph, TwoPrimariesAreStillAmbiguous) {
  di::Registry reg;
  reg.add<PgStore, IStore>(di::on_core(0), [] { return PgStore(); }, {.primary = true});
  reg.add<MemStore, IStore>(di::every_core, [] { return MemStore(); }, {.primary = true});
  reg.add<Ambiguous>(di::every_core, [](di::Remote<IStore> s) { return Ambiguous(s); });
  EXPECT_EQ(start_error(reg),
            "Ambiguous (every core) parameter 0 Remote<IStore>: 2 primary providers (PgStore core "
            "0, MemStore every core); use All<>/named<>/where<>/primary");
}

TEST(Graph, ThreeServiceCycleNamesEveryEdge) {
  di::Registry reg;
  reg.add<Config>(di::every_core, [] { return Config(); });
  reg.add<Routes, IRoute>(di::every_core,
                          [](di::Ref<Config> c, di::Ref<IAuth> a) { return Routes(c, a); });
  reg.add<Auth, IAuth>(di::every_core, [](di::Ref<ISessions> s) { return Auth(s); });
  reg.add<Sessions, ISessions>(di::every_core, [](di::Remote<IRoute> r) { return Sessions(r); });
  EXPECT_EQ(start_error(reg),
            "dependency cycle: Routes -[1 Ref<IAuth>]-> Auth -[0 Ref<ISessions>]-> Sessions "
            "-[0 Remote<IRoute>]-> Routes");
}

TEST(Graph, CrossCoreReference) {
  di::Registry reg;
  reg.add<Config>(di::on_core(0), [] { return Config(); });
  reg.add<Auth, IAuth>(di::every_core, [](di::Ref<ISessions> s) { return Auth(s); });
  reg.add<Sessions, ISessions>(di::every_core, [](di::Remote<IRoute> r) { return Sessions(r); });
  reg.add<Routes, IRoute>(di::every_core,
                          [](di::Ref<Config> c, di::Ref<IAuth> a) { return Routes(c, a); });
  const std::string text = start_error(reg);
  EXPECT_NE(text.find("Routes (every core) parameter 0 Ref<Config>: Config lives on core 0 only; "
                      "use Remote<Config>"),
            std::string::npos)
      << text;
}

TEST(Graph, EveryProblemAtOnceAndNoFactoryRuns) {
  g_built = 0;
  di::Registry reg;
  reg.add<Config>(di::on_core(0), [] { return Config(); });
  reg.add<Routes, IRoute>(di::every_core,
                          [](di::Ref<Config> c, di::Ref<IAuth> a) { return Routes(c, a); });
  reg.add<Auth, IAuth>(di::every_core, [](di::Ref<ISessions> s) { return Auth(s); });
  reg.add<Sessions, ISessions>(di::every_core, [](di::Remote<IRoute> r) { return Sessions(r); });
  reg.add<Missing>(di::every_core, [](di::Ref<Config> c, di::Opt<IAuth> a, di::Ref<IStore> s) {
    return Missing(c, a, s);
  });
  reg.add<PgStore, IStore>(di::on_core(0), [] { return PgStore(); }, {.name = "Pg"});
  reg.add<MemStore, IStore>(di::every_core, [] { return MemStore(); }, {.name = "Mem"});
  reg.add<Ambiguous>(di::every_core, [](di::Remote<IStore> s) { return Ambiguous(s); });
  reg.add<Far>(di::on_core(3), [] { return Far(); });

  std::vector<di::Problem> problems;
  kio_test::rt().block_on([](di::Registry& r, std::vector<di::Problem>& out) -> kio::Task<void> {
    try {
      (void)co_await r.start();
    } catch (const di::GraphError& e) {
      out.assign(e.problems().begin(), e.problems().end());
    }
  }(reg, problems));
  std::vector<std::string> lines;
  for (const di::Problem& p : problems)
    lines.push_back(p.text);
  const std::vector<std::string> want = {
      "Routes (every core) parameter 0 Ref<Config>: Config lives on core 0 only; use "
      "Remote<Config>",
      "Missing (every core) parameter 0 Ref<Config>: Config lives on core 0 only; use "
      "Remote<Config>",
      "Missing (every core) parameter 2 Ref<IStore>: 2 providers (Pg core 0, Mem every core); use "
      "All<>/named<>/where<>/primary",
      "Ambiguous (every core) parameter 0 Remote<IStore>: 2 providers (Pg core 0, Mem every core); "
      "use All<>/named<>/where<>/primary",
      "Far (core 3): the runtime has 1 core (0); place it on one of them or every_core",
      "dependency cycle: Routes -[1 Ref<IAuth>]-> Auth -[0 Ref<ISessions>]-> Sessions -[0 "
      "Remote<IRoute>]-> Routes",
  };
  EXPECT_EQ(lines, want);
  ASSERT_EQ(problems.size(), want.size());
  EXPECT_EQ(problems[0].kind, di::Problem::Kind::cross_core);
  EXPECT_EQ(problems[0].service, "Routes");
  EXPECT_EQ(problems[0].parameter, 0);
  EXPECT_EQ(problems[2].kind, di::Problem::Kind::ambiguous);
  EXPECT_EQ(problems[4].kind, di::Problem::Kind::placement);
  EXPECT_EQ(problems[5].kind, di::Problem::Kind::cycle);
  EXPECT_EQ(g_built, 0);  // checked before any factory ran
  EXPECT_FALSE(reg.started());
}

TEST(Graph, FilterAndCountMessages) {
  struct Report {
    Report(di::Ref<IStore>, di::All<IPlugin, di::unnamed, 2>) {}
  };
  struct PluginA : IPlugin {};
  di::Registry reg;
  reg.add<MemStore, IStore>(di::every_core, [] { return MemStore(); },
                            {.properties = di::Properties().set("tier", "cache")});
  reg.add<PgStore, IStore>(di::every_core, [] { return PgStore(); },
                           {.properties = di::Properties().set("tier", "disk")});
  reg.add<PluginA, IPlugin>(di::every_core, [] { return PluginA(); });
  reg.add<Report>(
      di::every_core,
      [](di::Ref<IStore> s, di::All<IPlugin, di::unnamed, 2> p) { return Report(s, p); },
      {.filters = {di::where<IStore>("tier", "tape")}});
  EXPECT_EQ(start_error(reg),
            "Report (every core) parameter 0 Ref<IStore>: none of the 2 registered providers "
            "passes where(tier == \"tape\")\n"
            "Report (every core) parameter 1 All<IPlugin, 2>: 1 provider (PluginA every core), "
            "needs at least 2");
}

TEST(Graph, QualifiedSlotsOnlySeeTheirQualifier) {
  struct User {
    explicit User(di::Ref<IStore, di::named<"archive">>) {}
  };
  di::Registry reg;
  reg.add<MemStore, IStore>(di::every_core, [] { return MemStore(); }, {.qualifier = "cache"});
  reg.add<User>(di::every_core, [](di::Ref<IStore, di::named<"archive">> s) { return User(s); });
  EXPECT_EQ(
      start_error(reg),
      "User (every core) parameter 0 Ref<IStore, named<\"archive\">>: no provider registered");
}

// A cycle through an optional slot is fine when that slot rebinds dynamically.
struct Peer;
struct Hub {
  explicit Hub(di::Opt<Peer> p) : peer(p) {}
  void bound(di::Opt<Peer> p) { peer = p; }
  void unbound(di::Opt<Peer>) { peer = di::Opt<Peer>(); }
  di::Opt<Peer> peer;
};
struct Peer {
  explicit Peer(di::Ref<Hub> h) : hub(h) {}
  di::Ref<Hub> hub;
};

TEST(Graph, CycleThroughDynamicOptionalSlotIsAllowed) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg;
    auto hub = reg.add<Hub>(di::every_core, [](di::Opt<Peer> p) { return Hub(p); },
                            {.policy = di::Policy::dynamic});
    auto peer = reg.add<Peer>(di::every_core, [](di::Ref<Hub> h) { return Peer(h); });
    di::StartReport r = co_await reg.start();
    CO_ASSERT(static_cast<bool>(r), r.message());
    Hub* h = reg.local<Hub>(hub);
    CO_ASSERT(h != nullptr);
    EXPECT_EQ(h->peer.get(), reg.local<Peer>(peer));  // bound() once Peer was active
    co_await reg.stop();
  }());
}

TEST(Graph, CycleThroughRestartingOptionalSlotIsAnError) {
  struct A {
    explicit A(di::Opt<IAuth>) {}
  };
  struct B : IAuth {
    explicit B(di::Ref<A>) {}
  };
  di::Registry reg;
  reg.add<A>(di::every_core, [](di::Opt<IAuth> x) { return A(x); });
  reg.add<B, IAuth>(di::every_core, [](di::Ref<A> a) { return B(a); });
  EXPECT_EQ(start_error(reg), "dependency cycle: A -[0 Opt<IAuth>]-> B -[0 Ref<A>]-> A");
}

struct IB {
  virtual ~IB() = default;
};
struct A1 {
  explicit A1(di::Opt<IB> b) : b(b) {}
  di::Opt<IB> b;
};
struct B1 : IB {
  explicit B1(di::Ref<A1>) {}
};
struct X1 {
  explicit X1(di::Opt<IStore>) {}
};
struct NeedsAuth {
  explicit NeedsAuth(di::Ref<IAuth>) {}
};

TEST(Graph, AddAfterStartRejectsCyclesAndCrossCoreRefs) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg;
    reg.add<A1>(di::every_core, [](di::Opt<IB> b) { return A1(b); });
    reg.add<X1>(di::every_core, [](di::Opt<IStore> s) { return X1(s); });
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    std::string cycle, cross;
    try {
      reg.add<B1, IB>(di::every_core, [](di::Ref<A1> a) { return B1(a); });
    } catch (const di::GraphError& e) {
      cycle = e.what();
    }
    try {
      reg.add<PgStore, IStore>(di::on_core(0), [] { return PgStore(); });
    } catch (const di::GraphError& e) {
      cross = e.what();
    }
    EXPECT_EQ(cycle, "dependency cycle: B1 -[0 Ref<A1>]-> A1 -[0 Opt<IB>]-> B1");
    EXPECT_EQ(cross,
              "X1 (every core) parameter 0 Opt<IStore>: PgStore lives on core 0 only; use "
              "Remote<IStore>");
    // Lenient otherwise: a missing provider makes the new service wait, it is not an error.
    auto waiting =
        reg.add<NeedsAuth>(di::every_core, [](di::Ref<IAuth> a) { return NeedsAuth(a); });
    CO_ASSERT(co_await reg.wait_for(waiting, di::State::waiting));
    co_await reg.stop();
  }());
}

}  // namespace
