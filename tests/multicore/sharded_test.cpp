// Description: Sharded<T>: one instance per core, built, used and destroyed on its own core.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

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

}  // namespace
