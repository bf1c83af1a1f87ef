// Description: kio::di under many runtime removals: removed registrations leave the provider and
// consumer indexes (compacted lazily) without changing the registration order of the rest;
// per-requester instances removed from the middle of their service's list leave the others
// intact; stop()/start() of a per-requester service return only when every instance got there;
// a remove() right after a runtime add() does not deadlock with it.
// (That these stay O(1) per removal is benchmarks/micro/di_bench.cpp's BM_DiRemove*.)
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "co_assert.hpp"
#include "kio/kio.hpp"
#include "one_worker.hpp"

namespace di = kio::di;

namespace {

struct Plugin {
  int id;
};
struct Host {
  explicit Host(di::All<Plugin> p) : plugins(p) {}
  std::vector<int> ids() const {
    std::vector<int> out;
    for (di::Remote<Plugin> p : plugins)
      out.push_back(p.local()->id);
    return out;
  }
  di::All<Plugin> plugins;
};

TEST(Removal, RemovedProvidersLeaveTheRestInRegistrationOrder) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg;
    auto host = reg.add<Host>(di::every_core, [](di::All<Plugin> p) { return Host(p); });
    std::vector<di::ServiceId> plugins;
    for (int i = 0; i < 10; ++i)
      plugins.push_back(reg.add<Plugin>(di::every_core, [i] { return Plugin{i}; }));
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    EXPECT_EQ(reg.local<Host>(host)->ids(), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    // Six of ten: the index list is compacted on the sixth (more than half removed).
    for (int i : {1, 2, 3, 5, 7, 8}) {
      co_await reg.remove(plugins[static_cast<std::size_t>(i)]);
      EXPECT_EQ(reg.state(plugins[static_cast<std::size_t>(i)]), std::nullopt);
    }
    CO_ASSERT(co_await reg.wait_for(host, di::State::active));
    EXPECT_EQ(reg.local<Host>(host)->ids(), (std::vector<int>{0, 4, 6, 9}));
    // A provider added now comes after the others; one more removal (not compacted yet) too.
    auto ten = reg.add<Plugin>(di::every_core, [] { return Plugin{10}; }, {.name = "ten"});
    CO_ASSERT(co_await reg.wait_for(ten, di::State::active));
    co_await reg.remove(plugins[4]);
    CO_ASSERT(co_await reg.wait_for(host, di::State::active));
    EXPECT_EQ(reg.local<Host>(host)->ids(), (std::vector<int>{0, 6, 9, 10}));
    // A consumer added after the removals sees the same list.
    auto late =
        reg.add<Host>(di::every_core, [](di::All<Plugin> p) { return Host(p); }, {.name = "late"});
    CO_ASSERT(co_await reg.wait_for(late, di::State::active));
    EXPECT_EQ(reg.local<Host>(late)->ids(), (std::vector<int>{0, 6, 9, 10}));
    co_await reg.stop();
  }());
}

TEST(Removal, RemoveRightAfterAnAddDoesNotWaitForTheAdd) {
  // add() after start() instantiates in the background, behind the registry's plan lock; a
  // remove() issued before that ran used to hold the lock while it waited for every background
  // operation of the core, the add among them: neither ever finished.
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg;
    auto host = reg.add<Host>(di::every_core, [](di::All<Plugin> p) { return Host(p); });
    auto one = reg.add<Plugin>(di::every_core, [] { return Plugin{1}; });
    reg.add<Plugin>(di::every_core, [] { return Plugin{2}; }, {.name = "two"});
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    auto three = reg.add<Plugin>(di::every_core, [] { return Plugin{3}; }, {.name = "three"});
    co_await reg.remove(one);
    EXPECT_EQ(reg.state(one), std::nullopt);
    CO_ASSERT(co_await reg.wait_for(three, di::State::active));
    CO_ASSERT(co_await reg.wait_for(host, di::State::active));
    EXPECT_EQ(reg.local<Host>(host)->ids(), (std::vector<int>{2, 3}));
    co_await reg.stop();
  }());
}

// ---- per-requester instances --------------------------------------------------------------

struct ILog {
  virtual ~ILog() = default;
  virtual std::string owner() const = 0;
};
/// Stops asynchronously, after `delay` other resumptions, so instances stop one by one and in
/// a different order than they are listed.
struct SlowLog final : ILog {
  explicit SlowLog(std::string o, int delay) : who(std::move(o)), delay(delay) {}
  std::string owner() const override { return who; }
  kio::Task<void> stop() {
    for (int i = 0; i < delay; ++i)
      co_await kio::yield();
  }
  std::string who;
  int delay;
};
struct Worker {
  explicit Worker(di::Ref<ILog> l) : log(l) {}
  di::Ref<ILog> log;
};

std::vector<di::State> log_states(const std::vector<di::ServiceInfo>& snap, di::ServiceId id) {
  std::vector<di::State> out;
  for (const di::ServiceInfo& s : snap)
    if (s.id == id)
      for (const di::InstanceInfo& i : s.instances)
        out.push_back(i.state);
  return out;
}

TEST(Removal, PerRequesterInstancesRemovedFromTheMiddleAndStoppedOneByOne) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::Registry reg;
    int made = 0;
    auto log = reg.add<SlowLog, ILog>(
        di::every_core,
        [&made](const di::Requester& r) { return SlowLog(std::string(r.name()), 7 - made++ % 7); },
        {.sharing = di::Sharing::per_requester});
    std::vector<di::ServiceId> workers;
    for (int i = 0; i < 8; ++i)
      workers.push_back(reg.add<Worker>(di::every_core, [](di::Ref<ILog> l) { return Worker(l); },
                                        {.name = "w" + std::to_string(i)}));
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    for (int i : {1, 3, 4})  // their loggers go; the last listed ones take their places
      co_await reg.remove(workers[static_cast<std::size_t>(i)]);
    const std::vector<int> left = {0, 2, 5, 6, 7};
    for (int i : left)
      EXPECT_EQ(reg.local<Worker>(workers[static_cast<std::size_t>(i)])->log->owner(),
                "w" + std::to_string(i));

    // stop() returns once every instance has stopped, though they stop at different times.
    co_await reg.stop(log);
    EXPECT_EQ(log_states(co_await reg.snapshot(), log),
              std::vector<di::State>(left.size(), di::State::stopped));
    for (int i : left)
      EXPECT_EQ(reg.state(workers[static_cast<std::size_t>(i)]), di::State::waiting);

    co_await reg.start(log);
    EXPECT_EQ(log_states(co_await reg.snapshot(), log),
              std::vector<di::State>(left.size(), di::State::active));
    for (int i : left) {
      CO_ASSERT(co_await reg.wait_for(workers[static_cast<std::size_t>(i)], di::State::active));
      EXPECT_EQ(reg.local<Worker>(workers[static_cast<std::size_t>(i)])->log->owner(),
                "w" + std::to_string(i));
    }

    // Removing the per-requester service takes every instance; remove() waits for all of them.
    co_await reg.remove(log);
    EXPECT_TRUE(log_states(co_await reg.snapshot(), log).empty());
    for (int i : left)
      EXPECT_EQ(reg.state(workers[static_cast<std::size_t>(i)]), di::State::waiting);
    co_await reg.stop();
  }());
}

}  // namespace
