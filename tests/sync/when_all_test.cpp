// Description: kio::when_all — concurrent children, results in order (tuple and vector forms),
// void children, first exception rethrown after the others were cancelled and finished,
// cancellation from the caller, kio::timeout around it.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "co_assert.hpp"
#include "kio/kio.hpp"
#include "kio/sync/event.hpp"
#include "kio/sync/when_all.hpp"
#include "one_worker.hpp"

using namespace std::chrono_literals;

namespace {

using kio_test::rt;

kio::Task<int> value_after(kio::Event& ev, int v, std::vector<int>& log) {
  auto r = co_await ev.wait();
  log.push_back(v);
  co_return r ? v : -v;
}

kio::Task<int> immediate(int v) {
  co_return v;
}

kio::Task<std::string> text(std::string s) {
  co_await kio::yield();
  co_return s;
}

kio::Task<void> nothing(int& touched) {
  co_await kio::yield();
  ++touched;
}

TEST(WhenAll, TupleOfMixedResults) {
  auto body = []() -> kio::Task<void> {
    int touched = 0;
    auto [a, b, c] = co_await kio::when_all(immediate(1), text("two"), nothing(touched));
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, "two");
    static_assert(std::is_same_v<decltype(c), std::monostate>);
    EXPECT_EQ(touched, 1);
  };
  rt().block_on(body());
}

TEST(WhenAll, ChildrenRunConcurrently) {
  auto body = []() -> kio::Task<void> {
    kio::Event e1, e2, e3;
    std::vector<int> log;
    auto setter = [](kio::Event& a, kio::Event& b, kio::Event& c) -> kio::Task<int> {
      c.set();  // finish in the order 3, 1, 2: only possible if all three wait at once
      co_await kio::yield();
      a.set();
      co_await kio::yield();
      b.set();
      co_return 0;
    };
    auto [x, y, z, s] = co_await kio::when_all(value_after(e1, 1, log), value_after(e2, 2, log),
                                               value_after(e3, 3, log), setter(e1, e2, e3));
    EXPECT_EQ(x + y + z + s, 6);
    EXPECT_EQ(log, (std::vector<int>{3, 1, 2}));
  };
  rt().block_on(body());
}

TEST(WhenAll, AllFinishSynchronously) {
  auto body = []() -> kio::Task<void> {
    auto [a, b] = co_await kio::when_all(immediate(4), immediate(5));
    EXPECT_EQ(a * b, 20);
  };
  rt().block_on(body());
}

TEST(WhenAll, VectorForm) {
  auto body = []() -> kio::Task<void> {
    std::vector<kio::Task<std::string>> tasks;
    for (int i = 0; i < 50; ++i)
      tasks.push_back(text(std::to_string(i)));
    std::vector<std::string> out = co_await kio::when_all(std::move(tasks));
    CO_ASSERT_EQ(out.size(), 50u);
    for (int i = 0; i < 50; ++i)
      EXPECT_EQ(out[i], std::to_string(i));

    int touched = 0;
    std::vector<kio::Task<void>> voids;
    for (int i = 0; i < 10; ++i)
      voids.push_back(nothing(touched));
    co_await kio::when_all(std::move(voids));
    EXPECT_EQ(touched, 10);

    std::vector<kio::Task<int>> none;
    auto empty = co_await kio::when_all(std::move(none));
    EXPECT_TRUE(empty.empty());
  };
  rt().block_on(body());
}

// Sleeps for a long time; records whether it was cancelled and that it finished.
kio::Task<int> sleeper(bool& cancelled, bool& finished) {
  auto r = co_await kio::sleep_for(30s);
  cancelled = !r;
  finished = true;
  co_return 0;
}

kio::Task<int> thrower(int after_yields) {
  for (int i = 0; i < after_yields; ++i)
    co_await kio::yield();
  throw std::runtime_error("child failed");
}

TEST(WhenAll, ExceptionCancelsOthersWaitsForThemAndRethrows) {
  auto body = []() -> kio::Task<void> {
    bool c1 = false, f1 = false, c2 = false, f2 = false;
    auto t0 = std::chrono::steady_clock::now();
    try {
      co_await kio::when_all(sleeper(c1, f1), thrower(2), sleeper(c2, f2));
      ADD_FAILURE() << "when_all should have thrown";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "child failed");
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
    EXPECT_TRUE(f1 && f2) << "siblings must have finished before when_all returns";
    EXPECT_TRUE(c1 && c2) << "siblings must have been cancelled";
  };
  rt().block_on(body());
}

TEST(WhenAll, FirstExceptionWins) {
  auto body = []() -> kio::Task<void> {
    auto late = []() -> kio::Task<int> {
      co_await kio::sleep_for(30s);  // cancelled by the first failure, then throws its own
      throw std::logic_error("second");
    };
    try {
      co_await kio::when_all(late(), thrower(1));
      ADD_FAILURE() << "when_all should have thrown";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "child failed");
    } catch (const std::logic_error&) {
      ADD_FAILURE() << "the later exception must be discarded";
    }
  };
  rt().block_on(body());
}

TEST(WhenAll, CallerCancellationReachesChildren) {
  auto body = []() -> kio::Task<void> {
    bool c1 = false, f1 = false, c2 = false, f2 = false;
    auto r = co_await kio::timeout(5ms, kio::when_all(sleeper(c1, f1), sleeper(c2, f2)));
    // Both children returned a value (0) after being cancelled: the value is kept.
    EXPECT_TRUE(r);
    EXPECT_TRUE(c1 && c2 && f1 && f2);

    kio::CancelSource src;
    src.request_cancel();
    auto [x, y] =
        co_await kio::with_cancel(src.token(), kio::when_all(sleeper(c1, f1), immediate(9)));
    EXPECT_EQ(y, 9);
    EXPECT_EQ(x, 0);
  };
  rt().block_on(body());
}

TEST(WhenAll, NestedWhenAll) {
  auto body = []() -> kio::Task<void> {
    auto inner = []() -> kio::Task<int> {
      auto [a, b] = co_await kio::when_all(immediate(1), text("x"));
      co_return a + static_cast<int>(b.size());
    };
    auto [p, q] = co_await kio::when_all(inner(), inner());
    EXPECT_EQ(p + q, 4);
  };
  rt().block_on(body());
}

}  // namespace
