// Description: kio::TaskGroup / kio::task_scope — children run concurrently and are joined; a
// child's exception cancels the others and is rethrown by join(); cancellation of the joiner
// reaches the children; task_scope joins even when its body throws.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <vector>

#include "co_assert.hpp"
#include "kio/kio.hpp"
#include "kio/sync/event.hpp"
#include "kio/sync/task_group.hpp"
#include "one_worker.hpp"

using namespace std::chrono_literals;

namespace {

using kio_test::rt;

struct Record {
  bool cancelled = false;
  bool finished = false;
};

kio::Task<void> sleeper(std::chrono::milliseconds d, Record& rec) {
  auto r = co_await kio::sleep_for(d);
  rec.cancelled = !r;
  rec.finished = true;
}

kio::Task<int> adder(int v, int& sum) {
  co_await kio::yield();
  sum += v;
  co_return v;
}

kio::Task<void> thrower() {
  co_await kio::yield();
  throw std::runtime_error("child failed");
}

TEST(TaskGroup, JoinWaitsForAllChildren) {
  auto body = []() -> kio::Task<void> {
    kio::TaskGroup g(co_await kio::this_cancel_token());
    int sum = 0;
    for (int i = 1; i <= 100; ++i)
      g.spawn(adder(i, sum));
    EXPECT_EQ(g.running(), 100u);
    EXPECT_EQ(sum, 0) << "spawn() queues the child, it does not run it inline";
    co_await g.join();
    EXPECT_EQ(sum, 5050);
    EXPECT_EQ(g.running(), 0u);
    co_await g.join();  // nothing running: returns at once
  };
  rt().block_on(body());
}

TEST(TaskGroup, ChildrenRunConcurrently) {
  auto body = []() -> kio::Task<void> {
    kio::TaskGroup g(co_await kio::this_cancel_token());
    kio::Event a, b;
    std::vector<int> order;
    auto first = [](kio::Event& mine, kio::Event& other, std::vector<int>& o) -> kio::Task<void> {
      other.set();
      (void)co_await mine.wait();
      o.push_back(1);
    };
    auto second = [](kio::Event& mine, kio::Event& other, std::vector<int>& o) -> kio::Task<void> {
      (void)co_await mine.wait();
      o.push_back(2);
      other.set();
    };
    g.spawn(first(a, b, order));
    g.spawn(second(b, a, order));
    co_await g.join();
    EXPECT_EQ(order, (std::vector<int>{2, 1}));
  };
  rt().block_on(body());
}

TEST(TaskGroup, ChildExceptionCancelsSiblingsAndIsRethrownByJoin) {
  auto body = []() -> kio::Task<void> {
    kio::TaskGroup g(co_await kio::this_cancel_token());
    Record a, b;
    auto t0 = std::chrono::steady_clock::now();
    g.spawn(sleeper(30s, a));
    g.spawn(thrower());
    g.spawn(sleeper(30s, b));
    try {
      co_await g.join();
      ADD_FAILURE() << "join should have thrown";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "child failed");
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
    EXPECT_TRUE(a.finished && b.finished);
    EXPECT_TRUE(a.cancelled && b.cancelled);
    EXPECT_TRUE(g.cancelled());
    Record late;
    g.spawn(sleeper(30s, late));  // a cancelled group starts new children cancelled
    co_await g.join();            // the exception was delivered once
    EXPECT_TRUE(late.finished && late.cancelled);
  };
  rt().block_on(body());
}

TEST(TaskGroup, CancelAndParentTokenReachChildren) {
  auto body = []() -> kio::Task<void> {
    Record a;
    {
      kio::TaskGroup g(co_await kio::this_cancel_token());
      g.spawn(sleeper(30s, a));
      co_await kio::yield();
      g.cancel();
      co_await g.join();
      EXPECT_TRUE(a.finished && a.cancelled);
    }
    kio::CancelSource parent;
    Record b;
    {
      kio::TaskGroup g(parent.token());
      g.spawn(sleeper(30s, b));
      co_await kio::yield();
      parent.request_cancel();
      co_await g.join();
      EXPECT_TRUE(b.finished && b.cancelled);
    }
  };
  rt().block_on(body());
}

TEST(TaskGroup, CancellingTheJoinerCancelsChildrenButJoinStillWaits) {
  auto body = []() -> kio::Task<void> {
    kio::TaskGroup g(kio::CancelToken{});  // not linked: only the join wait observes the token
    Record a;
    g.spawn(sleeper(30s, a));
    auto t0 = std::chrono::steady_clock::now();
    auto r = co_await kio::timeout(5ms, g.join());
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
    EXPECT_FALSE(r);  // timed out ...
    EXPECT_EQ(g.running(), 0u) << "... but only after the child finished";
    EXPECT_TRUE(a.finished && a.cancelled);
  };
  rt().block_on(body());
}

TEST(TaskScope, JoinsAndReturnsTheBodyValue) {
  auto body = []() -> kio::Task<void> {
    int sum = 0;
    int v = co_await kio::task_scope([&](kio::TaskGroup& g) -> kio::Task<int> {
      for (int i = 0; i < 10; ++i)
        g.spawn(adder(i, sum));
      co_return 42;
    });
    EXPECT_EQ(v, 42);
    EXPECT_EQ(sum, 45) << "children finished before task_scope returned";
  };
  rt().block_on(body());
}

TEST(TaskScope, BodyExceptionCancelsChildrenJoinsThemAndPropagates) {
  auto body = []() -> kio::Task<void> {
    Record a;
    try {
      co_await kio::task_scope([&](kio::TaskGroup& g) -> kio::Task<void> {
        g.spawn(sleeper(30s, a));
        co_await kio::yield();
        throw std::logic_error("body failed");
      });
      ADD_FAILURE() << "task_scope should have thrown";
    } catch (const std::logic_error& e) {
      EXPECT_STREQ(e.what(), "body failed");
    }
    EXPECT_TRUE(a.finished && a.cancelled);
  };
  rt().block_on(body());
}

TEST(TaskScope, ChildFailureCancelsTheBody) {
  auto body = []() -> kio::Task<void> {
    bool body_cancelled = false;
    try {
      co_await kio::task_scope([&](kio::TaskGroup& g) -> kio::Task<void> {
        g.spawn(thrower());
        auto r = co_await kio::sleep_for(30s);
        body_cancelled = !r;
      });
      ADD_FAILURE() << "task_scope should have thrown";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "child failed");
    }
    EXPECT_TRUE(body_cancelled);
  };
  rt().block_on(body());
}

// Waits for an event nobody sets, ignoring cancellation, so its frame is still suspended when
// the runtime's grace period ends.
std::atomic<int> g_stubborn_destroyed{0};
struct CountOnDestroy {
  ~CountOnDestroy() { g_stubborn_destroyed.fetch_add(1); }
};

kio::Task<void> stubborn() {
  CountOnDestroy guard;
  kio::Event never;
  (void)co_await kio::with_cancel(kio::CancelToken{}, never.wait());
}

kio::Task<void> group_owner() {
  kio::TaskGroup g(co_await kio::this_cancel_token());
  g.spawn(stubborn());
  g.spawn(stubborn());
  co_await g.join();
}

kio::Task<void> start_owner() {
  kio::spawn(group_owner());
  co_await kio::yield();  // the owner and its children are now suspended
}

// A group with suspended children inside a frame that the runtime destroys at shutdown: the
// children's frames must be freed with it (ASan reports leaks or use-after-free otherwise).
TEST(TaskGroup, RuntimeTeardownDestroysSuspendedChildren) {
  kio::Runtime local(kio::RuntimeOptions{.workers = 1, .shutdown_grace = 10ms});
  local.block_on(start_owner());
  EXPECT_EQ(g_stubborn_destroyed.load(), 0);
  local.stop();
  EXPECT_EQ(g_stubborn_destroyed.load(), 2) << "the children's frames were not destroyed";
}

kio::Task<void> leaves_scope_without_join() {
  kio::TaskGroup g(co_await kio::this_cancel_token());
  Record r;
  g.spawn(sleeper(30s, r));
  co_return;  // g is destroyed with a running child: a programming error
}

TEST(TaskGroupDeathTest, DestroyedWithRunningChildrenTerminates) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        kio::Runtime local(kio::RuntimeOptions{.workers = 1});
        local.block_on(leaves_scope_without_join());
      },
      "TaskGroup destroyed with 1 running child");
}

}  // namespace
