// Description: Sharded<T>: one instance per core, built, used and destroyed on its own core;
// map (results in core order) and map_reduce (folded on the caller) running on all cores at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kio/kio.hpp"

namespace {

std::atomic<int> g_live{0};

struct Counter {
  explicit Counter(int start) : value(start), home(kio::this_core()) { ++g_live; }
  ~Counter() {
    EXPECT_EQ(kio::this_core(), home) << "destroyed on another core";
    --g_live;
  }
  int value;
  unsigned home;
  std::thread::id thread = std::this_thread::get_id();
};

TEST(Sharded, InstancePerCoreOnItsCore) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true});
  auto body = []() -> kio::Task<int> {
    kio::Sharded<Counter> s;
    co_await s.start(10);
    EXPECT_EQ(g_live.load(), 2);
    EXPECT_EQ(s.local().home, 0u);
    unsigned home1 = co_await s.invoke_on(1, [](Counter& c) { return c.home; });
    EXPECT_EQ(home1, 1u);
    co_await s.invoke_on_all([](Counter& c) {
      EXPECT_EQ(c.home, kio::this_core());
      EXPECT_EQ(c.thread, std::this_thread::get_id());
      c.value += static_cast<int>(c.home) + 1;
    });
    int v0 = co_await s.invoke_on(0, [](Counter& c) { return c.value; });
    int v1 = co_await s.invoke_on(1, [](Counter& c) -> kio::Task<int> { co_return c.value; });
    co_await s.stop();
    co_return v0 * 100 + v1;
  };
  EXPECT_EQ(rt.block_on(body()), 11 * 100 + 12);
  EXPECT_EQ(g_live.load(), 0);
}

struct Fragile {
  Fragile() {
    if (kio::this_core() == 1) throw std::runtime_error("core 1 refuses");
    ++g_live;
  }
  ~Fragile() { --g_live; }
};

TEST(Sharded, FailedStartRollsBack) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true});
  auto body = []() -> kio::Task<void> {
    kio::Sharded<Fragile> s;
    co_await s.start();
  };
  EXPECT_THROW(rt.block_on(body()), std::runtime_error);
  EXPECT_EQ(g_live.load(), 0);
}

TEST(Sharded, InvokeOnAllRethrowsAfterAllCoresFinished) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true});
  auto body = []() -> kio::Task<int> {
    kio::Sharded<Counter> s;
    co_await s.start(0);
    try {
      co_await s.invoke_on_all([](Counter& c) {
        c.value = 5;
        if (c.home == 0) throw std::runtime_error("core 0 fails");
      });
    } catch (const std::runtime_error&) {
    }
    int v1 = co_await s.invoke_on(1, [](Counter& c) { return c.value; });
    co_await s.stop();
    co_return v1;
  };
  EXPECT_EQ(rt.block_on(body()), 5);
}

TEST(Sharded, MapReturnsEachCoresResultInCoreOrder) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true});
  auto body = []() -> kio::Task<void> {
    kio::Sharded<Counter> s;
    co_await s.start(0);
    co_await s.invoke_on_all([](Counter& c) { c.value = 10 * (static_cast<int>(c.home) + 1); });
    std::vector<int> v = co_await s.map([](Counter& c) {
      EXPECT_EQ(c.home, kio::this_core()) << "mapped on another core";
      EXPECT_EQ(c.thread, std::this_thread::get_id());
      return c.value;
    });
    EXPECT_EQ(v, (std::vector<int>{10, 20}));
    // A Task-returning fn, and a move-only result.
    std::vector<std::unique_ptr<std::string>> names =
        co_await s.map([](Counter& c) -> kio::Task<std::unique_ptr<std::string>> {
          co_await kio::sleep_for(std::chrono::milliseconds(1));
          co_return std::make_unique<std::string>("core" + std::to_string(c.home));
        });
    EXPECT_EQ(names.size(), 2u);
    if (names.size() == 2) {
      EXPECT_EQ(*names[0], "core0");
      EXPECT_EQ(*names[1], "core1");
    }
    // Called from core 1 too.
    std::vector<int> from1 = co_await kio::submit_to(
        1, [&s] { return s.map([](Counter& c) { return static_cast<int>(c.home); }); });
    EXPECT_EQ(from1, (std::vector<int>{0, 1}));
    co_await s.stop();
  };
  rt.block_on(body());
  EXPECT_EQ(g_live.load(), 0);
}

TEST(Sharded, MapReduceFoldsOnTheCallingCore) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true});
  auto body = []() -> kio::Task<void> {
    kio::Sharded<Counter> s;
    co_await s.start(0);
    co_await s.invoke_on_all([](Counter& c) { c.value = 1 + static_cast<int>(c.home) * 100; });
    long total = co_await s.map_reduce([](Counter& c) { return c.value; }, 1000L, std::plus<>{});
    EXPECT_EQ(total, 1000 + 1 + 101);
    // reduce runs on the calling core, once per core.
    unsigned reduced = 0;
    const unsigned caller = kio::this_core();
    std::vector<unsigned> cores =
        co_await s.map_reduce([](Counter& c) { return c.home; }, std::vector<unsigned>{},
                              [&](std::vector<unsigned> acc, unsigned home) {
                                EXPECT_EQ(kio::this_core(), caller);
                                ++reduced;
                                acc.push_back(home);
                                return acc;
                              });
    EXPECT_EQ(reduced, 2u);
    std::sort(cores.begin(), cores.end());
    EXPECT_EQ(cores, (std::vector<unsigned>{0, 1}));
    co_await s.stop();
  };
  rt.block_on(body());
}

// Every core's fn is in flight at the same time: each one waits until all have started, which
// only terminates if they run concurrently (bounded, so a sequential map fails instead of hangs).
TEST(Sharded, MapAndMapReduceRunOnAllCoresConcurrently) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true});
  auto body = []() -> kio::Task<void> {
    kio::Sharded<Counter> s;
    co_await s.start(0);
    std::atomic<unsigned> entered{0};
    auto rendezvous = [&entered](Counter&) -> kio::Task<bool> {
      entered++;
      for (int i = 0; i < 2000 && entered.load() < 2; ++i)
        co_await kio::sleep_for(std::chrono::milliseconds(1));
      co_return entered.load() >= 2;
    };
    std::vector<bool> met = co_await s.map(rendezvous);
    EXPECT_EQ(met, (std::vector<bool>{true, true})) << "map ran the cores one after another";
    entered = 0;
    int both = co_await s.map_reduce(rendezvous, 0, [](int acc, bool ok) { return acc + ok; });
    EXPECT_EQ(both, 2) << "map_reduce ran the cores one after another";
    co_await s.stop();
  };
  rt.block_on(body());
}

TEST(Sharded, MapReduceRethrowsAfterEveryCoreFinished) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true});
  auto body = []() -> kio::Task<void> {
    kio::Sharded<Counter> s;
    co_await s.start(0);
    std::atomic<int> finished{0};
    bool threw = false;
    try {
      (void)co_await s.map_reduce(
          [&finished](Counter& c) -> kio::Task<int> {
            if (c.home == 0) throw std::runtime_error("core 0 fails");
            co_await kio::sleep_for(std::chrono::milliseconds(20));
            finished++;
            co_return 1;
          },
          0, std::plus<>{});
    } catch (const std::runtime_error&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    EXPECT_EQ(finished.load(), 1) << "map_reduce returned before core 1 finished";
    threw = false;
    try {
      (void)co_await s.map([](Counter& c) {
        if (c.home == 1) throw std::runtime_error("core 1 fails");
        return 0;
      });
    } catch (const std::runtime_error&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    co_await s.stop();
  };
  rt.block_on(body());
  EXPECT_EQ(g_live.load(), 0);
}

}  // namespace
