// Description: kio::di snapshot(), dump() as text and as Graphviz: states, bound providers,
// "waiting for" texts, errors, start durations, dependents.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "co_assert.hpp"
#include "kio/kio.hpp"
#include "one_worker.hpp"

namespace di = kio::di;
using namespace std::chrono_literals;

namespace {

struct IStore {
  virtual ~IStore() = default;
};
struct Config {
  kio::Task<void> start() { co_await kio::sleep_for(2ms); }
};
struct Store : IStore {
  explicit Store(di::Ref<Config>) {}
};
struct Broken {
  Broken() { throw std::runtime_error("no disk"); }
};
struct Api {
  Api(di::Ref<IStore>, di::Opt<Broken>) {}
};
struct Report {
  explicit Report(di::Ref<Broken>) {}
};

TEST(Snapshot, StatesSlotsErrorsAndDurations) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg;
    auto cfg = reg.add<Config>(di::every_core, [] { return Config(); });
    auto store = reg.add<Store, IStore>(di::every_core, [](di::Ref<Config> c) { return Store(c); },
                                        {.name = "db", .qualifier = "main"});
    auto broken = reg.add<Broken>(di::every_core, [] { return Broken(); });
    auto api = reg.add<Api>(di::every_core,
                            [](di::Ref<IStore> s, di::Opt<Broken> b) { return Api(s, b); });
    auto report = reg.add<Report>(di::every_core, [](di::Ref<Broken> b) { return Report(b); });
    (void)co_await reg.start();
    std::vector<di::ServiceInfo> snap = co_await reg.snapshot();
    CO_ASSERT(snap.size() == 5u);
    EXPECT_EQ(snap[0].id, cfg);
    EXPECT_EQ(snap[0].instances.at(0).state, di::State::active);
    EXPECT_GE(snap[0].instances.at(0).last_start, 1ms);
    EXPECT_EQ(snap[0].dependents, std::vector<std::string>{"db"});
    EXPECT_EQ(snap[1].id, store);
    EXPECT_EQ(snap[1].name, "db");
    EXPECT_EQ(snap[1].qualifier, "main");
    EXPECT_EQ(snap[1].interfaces, std::vector<std::string>{"IStore"});
    EXPECT_EQ(snap[1].instances.at(0).slots.at(0).bound,
              std::vector<std::string>{"Config (core 0)"});
    EXPECT_EQ(snap[2].id, broken);
    EXPECT_EQ(snap[2].instances.at(0).state, di::State::failed);
    EXPECT_EQ(snap[2].instances.at(0).error, "factory: no disk");
    EXPECT_EQ(snap[3].id, api);
    EXPECT_EQ(snap[3].instances.at(0).state, di::State::active);  // Opt: starts without it
    EXPECT_EQ(snap[3].instances.at(0).slots.at(1).bound.size(), 0u);
    EXPECT_EQ(snap[4].id, report);
    EXPECT_EQ(snap[4].instances.at(0).state, di::State::blocked);
    EXPECT_EQ(snap[4].instances.at(0).slots.at(0).waiting_for, "Broken (core 0), which is failed");
    co_await reg.stop();
  }());
}

TEST(Snapshot, DumpAsTextAndDot) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg(di::RegistryOptions{.time_starts = false});
    reg.add<Config>(di::every_core, [] { return Config(); });
    reg.add<Store, IStore>(di::every_core, [](di::Ref<Config> c) { return Store(c); },
                           {.name = "db", .qualifier = "main"});
    reg.add<Report>(di::every_core, [](di::Ref<Broken> b) { return Report(b); });
    reg.add<Broken>(di::every_core, [] { return Broken(); });
    (void)co_await reg.start();
    const std::string text = co_await reg.dump();
    EXPECT_EQ(text,
              "kio::di registry: 4 services on 1 cores\n"
              "Config (every core)\n"
              "  core 0: active\n"
              "db (every core) as IStore named \"main\"\n"
              "  core 0: active\n"
              "    parameter 0 Ref<Config>: Config (core 0)\n"
              "Report (every core)\n"
              "  core 0: blocked\n"
              "    parameter 0 Ref<Broken>: waiting for Broken (core 0), which is failed\n"
              "Broken (every core)\n"
              "  core 0: failed: factory: no disk\n");
    const std::string dot = co_await reg.dump(di::DumpFormat::dot);
    EXPECT_EQ(dot,
              "digraph kio_di {\n"
              "  rankdir=LR;\n"
              "  node [shape=box, style=rounded];\n"
              "  s0 [label=\"Config\\nevery core\\ncore 0: active\", color=darkgreen];\n"
              "  s1 [label=\"db\\nevery core\\ncore 0: active\", color=darkgreen];\n"
              "  s2 [label=\"Report\\nevery core\\ncore 0: blocked\", color=orange];\n"
              "  s3 [label=\"Broken\\nevery core\\ncore 0: failed\", color=red];\n"
              "  s1 -> s0 [label=\"0 Ref<Config>\"];\n"
              "  s2 -> s3 [label=\"0 Ref<Broken>\"];\n"
              "}\n");
    co_await reg.stop();
  }());
}

}  // namespace
