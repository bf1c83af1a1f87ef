// Description: kio::when_any — the first finisher wins (index + value), losers are cancelled
// through their ambient token and have finished before when_any returns; exceptions, variant
// results for mixed types, vector form, caller cancellation.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "co_assert.hpp"
#include "kio/kio.hpp"
#include "kio/sync/event.hpp"
#include "kio/sync/when_any.hpp"
#include "one_worker.hpp"

using namespace std::chrono_literals;

namespace {

using kio_test::rt;

// What a racing task saw: whether its wait was cancelled and whether its body reached the end.
struct Record {
  bool cancelled = false;
  bool finished = false;
};

// Waits on `ev` (or forever), then returns `v`; records how it ended.
kio::Task<int> racer(kio::Event& ev, int v, Record& rec) {
  auto r = co_await ev.wait();
  rec.cancelled = !r && r.error() == std::errc::operation_canceled;
  rec.finished = true;
  co_return v;
}

kio::Task<int> sleeper(std::chrono::milliseconds d, int v, Record& rec) {
  auto r = co_await kio::sleep_for(d);
  rec.cancelled = !r;
  rec.finished = true;
  co_return v;
}

TEST(WhenAny, FirstFinisherWinsLosersCancelledAndFinished) {
  auto body = []() -> kio::Task<void> {
    kio::Event never1, never2, go;
    Record r0, r1, r2;
    auto trigger = [](kio::Event& e) -> kio::Task<void> {
      co_await kio::yield();
      e.set();
    };
    kio::spawn(trigger(go));
    auto res =
        co_await kio::when_any(racer(never1, 10, r0), racer(go, 11, r1), racer(never2, 12, r2));
    EXPECT_EQ(res.index, 1u);
    EXPECT_EQ(res.value, 11);
    EXPECT_TRUE(r1.finished);
    EXPECT_FALSE(r1.cancelled);
    EXPECT_TRUE(r0.finished && r2.finished) << "losers must finish before when_any returns";
    EXPECT_TRUE(r0.cancelled && r2.cancelled) << "losers must be cancelled via their token";
    EXPECT_EQ(never1.waiters() + never2.waiters(), 0u);
  };
  rt().block_on(body());
}

TEST(WhenAny, TimersRace) {
  auto body = []() -> kio::Task<void> {
    Record slow, fast;
    auto t0 = std::chrono::steady_clock::now();
    auto res = co_await kio::when_any(sleeper(30s, 1, slow), sleeper(1ms, 2, fast));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
    EXPECT_EQ(res.index, 1u);
    EXPECT_EQ(res.value, 2);
    EXPECT_TRUE(slow.finished && slow.cancelled);
    EXPECT_TRUE(fast.finished && !fast.cancelled);
  };
  rt().block_on(body());
}

TEST(WhenAny, SynchronousWinnerStillCancelsAndAwaitsTheRest) {
  auto body = []() -> kio::Task<void> {
    kio::Event never;
    Record before, after;
    auto now = []() -> kio::Task<int> { co_return 7; };
    auto res = co_await kio::when_any(racer(never, 1, before), now(), racer(never, 3, after));
    EXPECT_EQ(res.index, 1u);
    EXPECT_EQ(res.value, 7);
    EXPECT_TRUE(before.finished && before.cancelled);
    EXPECT_TRUE(after.finished && after.cancelled) << "started already cancelled";
  };
  rt().block_on(body());
}

TEST(WhenAny, MixedTypesGiveAVariant) {
  auto body = []() -> kio::Task<void> {
    kio::Event never;
    Record rec;
    auto word = []() -> kio::Task<std::string> {
      co_await kio::yield();
      co_return "hello";
    };
    auto nothing = [](kio::Event& e) -> kio::Task<void> { (void)co_await e.wait(); };
    auto res = co_await kio::when_any(racer(never, 1, rec), word(), nothing(never));
    EXPECT_EQ(res.index, 1u);
    static_assert(
        std::is_same_v<decltype(res.value), std::variant<int, std::string, std::monostate>>);
    CO_ASSERT_EQ(res.value.index(), 1u);
    EXPECT_EQ(std::get<1>(res.value), "hello");
    EXPECT_TRUE(rec.finished && rec.cancelled);
  };
  rt().block_on(body());
}

TEST(WhenAny, VoidTasksGiveJustTheIndex) {
  auto body = []() -> kio::Task<void> {
    kio::Event never;
    auto wait = [](kio::Event& e) -> kio::Task<void> { (void)co_await e.wait(); };
    auto quick = []() -> kio::Task<void> { co_await kio::yield(); };
    kio::WhenAnyResult<void> res = co_await kio::when_any(wait(never), quick());
    EXPECT_EQ(res.index, 1u);
  };
  rt().block_on(body());
}

TEST(WhenAny, WinnerExceptionRethrownAfterLosersFinished) {
  auto body = []() -> kio::Task<void> {
    kio::Event never;
    Record rec;
    auto boom = []() -> kio::Task<int> {
      co_await kio::yield();
      throw std::runtime_error("boom");
    };
    try {
      co_await kio::when_any(racer(never, 1, rec), boom());
      ADD_FAILURE() << "when_any should have thrown";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "boom");
    }
    EXPECT_TRUE(rec.finished && rec.cancelled);
  };
  rt().block_on(body());
}

TEST(WhenAny, LoserExceptionIsDiscarded) {
  auto body = []() -> kio::Task<void> {
    auto fails_when_cancelled = []() -> kio::Task<int> {
      (void)co_await kio::sleep_for(30s);
      throw std::runtime_error("loser");
    };
    auto quick = []() -> kio::Task<int> {
      co_await kio::yield();
      co_return 5;
    };
    auto res = co_await kio::when_any(fails_when_cancelled(), quick());
    EXPECT_EQ(res.index, 1u);
    EXPECT_EQ(res.value, 5);
  };
  rt().block_on(body());
}

TEST(WhenAny, VectorForm) {
  auto body = []() -> kio::Task<void> {
    std::vector<Record> recs(5);
    std::vector<kio::Task<int>> tasks;
    for (int i = 0; i < 5; ++i)
      tasks.push_back(sleeper(i == 3 ? 1ms : 30s, i * 10, recs[i]));
    auto res = co_await kio::when_any(std::move(tasks));
    EXPECT_EQ(res.index, 3u);
    EXPECT_EQ(res.value, 30);
    for (int i = 0; i < 5; ++i) {
      EXPECT_TRUE(recs[i].finished) << i;
      EXPECT_EQ(recs[i].cancelled, i != 3) << i;
    }
  };
  rt().block_on(body());
}

TEST(WhenAny, EmptyVectorIsRejected) {
  EXPECT_THROW((void)kio::when_any(std::vector<kio::Task<int>>{}), std::invalid_argument);
}

TEST(WhenAny, CallerCancellationCancelsAllChildren) {
  auto body = []() -> kio::Task<void> {
    Record a, b;
    kio::CancelSource src;
    auto canceller = [](kio::CancelSource& s) -> kio::Task<void> {
      co_await kio::yield();
      s.request_cancel();
    };
    kio::spawn(canceller(src));
    auto res = co_await kio::with_cancel(src.token(),
                                         kio::when_any(sleeper(30s, 1, a), sleeper(30s, 2, b)));
    // Both end with a cancellation; whichever resumes first wins and its value comes back.
    CO_ASSERT_TRUE(res.index < 2);
    EXPECT_EQ(res.value, static_cast<int>(res.index) + 1);
    EXPECT_TRUE(a.cancelled && b.cancelled && a.finished && b.finished);
  };
  rt().block_on(body());
}

}  // namespace
