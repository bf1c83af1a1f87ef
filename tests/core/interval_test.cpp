// Description: kio::interval — ticks on the start + k * period schedule (no drift with slow work),
// the burst/delay/skip missed-tick policies (through real stalls and through take() with chosen
// times), a cancelled tick is not lost, the first tick, reset and a bad period.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "co_assert.hpp"
#include "kio/kio.hpp"
#include "one_worker.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

using kio_test::rt;

/// Blocks the core for `d` (work that takes longer than a period).
void stall(Clock::duration d) {
  std::this_thread::sleep_for(d);
}

TEST(Interval, TicksStayOnTheScheduleWhateverTheWorkTakes) {
  auto body = []() -> kio::Task<void> {
    const auto start = Clock::now();
    auto iv = kio::interval_at(start, 10ms);
    for (int k = 0; k < 15; ++k) {
      auto t = co_await iv.tick();
      CO_ASSERT(t, t.error().message());
      EXPECT_EQ(*t, start + k * 10ms) << "tick " << k;
      EXPECT_GE(Clock::now(), start + k * 10ms) << "tick " << k << " came early";
      co_await kio::sleep_for(3ms);  // work: a sleep_for loop would drift by this much per tick
    }
    EXPECT_EQ(iv.next_tick(), start + 150ms);
  };
  rt().block_on(body());
}

TEST(Interval, FirstTickIsAtOnce) {
  auto body = []() -> kio::Task<void> {
    const auto before = Clock::now();
    auto iv = kio::interval(1h);
    auto t = co_await iv.tick();
    CO_ASSERT(t);
    EXPECT_GE(*t, before);
    EXPECT_LE(*t, Clock::now());
    EXPECT_EQ(iv.next_tick(), *t + 1h);
  };
  rt().block_on(body());
}

TEST(Interval, BurstDeliversEveryMissedTick) {
  auto body = []() -> kio::Task<void> {
    const auto start = Clock::now();
    auto iv = kio::interval_at(start, 10ms, kio::MissedTick::burst);
    CO_ASSERT(co_await iv.tick());  // tick 0
    stall(35ms);                    // ticks 1, 2 and 3 are due now
    for (int k = 1; k <= 3; ++k) {
      auto t = co_await iv.tick();
      CO_ASSERT(t);
      EXPECT_EQ(*t, start + k * 10ms);
    }
    EXPECT_EQ(iv.next_tick(), start + 40ms);  // the schedule did not move
    auto t4 = co_await iv.tick();
    CO_ASSERT(t4);
    EXPECT_EQ(*t4, start + 40ms);
    EXPECT_GE(Clock::now(), start + 40ms);
  };
  rt().block_on(body());
}

TEST(Interval, DelayRestartsThePeriodAfterALateTick) {
  auto body = []() -> kio::Task<void> {
    const auto start = Clock::now();
    auto iv = kio::interval_at(start, 10ms, kio::MissedTick::delay);
    CO_ASSERT(co_await iv.tick());
    stall(35ms);
    const auto before = Clock::now();
    auto t = co_await iv.tick();  // the late tick 1, at once
    const auto after = Clock::now();
    CO_ASSERT(t);
    EXPECT_EQ(*t, start + 10ms);
    EXPECT_GE(iv.next_tick(), before + 10ms);  // one period after the late tick was taken
    EXPECT_LE(iv.next_tick(), after + 10ms);
    const auto expected = iv.next_tick();
    auto t2 = co_await iv.tick();
    CO_ASSERT(t2);
    EXPECT_EQ(*t2, expected);
    EXPECT_GE(Clock::now(), expected);
  };
  rt().block_on(body());
}

TEST(Interval, SkipDropsMissedTicks) {
  auto body = []() -> kio::Task<void> {
    const auto start = Clock::now();
    auto iv = kio::interval_at(start, 50ms, kio::MissedTick::skip);
    CO_ASSERT(co_await iv.tick());
    stall(125ms);                 // halfway between ticks 2 and 3 (25 ms of slack either side)
    auto t = co_await iv.tick();  // tick 1, late; tick 2 is skipped
    CO_ASSERT(t);
    EXPECT_EQ(*t, start + 50ms);
    EXPECT_EQ(iv.next_tick(), start + 150ms);
    auto t2 = co_await iv.tick();
    CO_ASSERT(t2);
    EXPECT_EQ(*t2, start + 150ms);
  };
  rt().block_on(body());
}

// The policies with exact times (no scheduling involved).
TEST(Interval, PolicyArithmetic) {
  const Clock::time_point s{};
  const auto p = 10ms;
  {
    kio::Interval iv(s, p, kio::MissedTick::skip);
    EXPECT_EQ(iv.take(s + 3ms), s);  // on time
    EXPECT_EQ(iv.next_tick(), s + 10ms);
    EXPECT_EQ(iv.take(s + 19ms), s + 10ms);  // late, but tick 2 is not due yet: no skip
    EXPECT_EQ(iv.next_tick(), s + 20ms);
    EXPECT_EQ(iv.take(s + 30ms), s + 20ms);  // exactly when tick 3 is due: it is skipped
    EXPECT_EQ(iv.next_tick(), s + 40ms);
    EXPECT_EQ(iv.take(s + 95ms), s + 40ms);
    EXPECT_EQ(iv.next_tick(), s + 100ms);
  }
  {
    kio::Interval iv(s, p, kio::MissedTick::delay);
    EXPECT_EQ(iv.take(s + 19ms), s);  // tick 1 (s + 10) is due too: delay from now
    EXPECT_EQ(iv.next_tick(), s + 29ms);
    EXPECT_EQ(iv.take(s + 30ms), s + 29ms);  // a little late: no shift
    EXPECT_EQ(iv.next_tick(), s + 39ms);
  }
  {
    kio::Interval iv(s, p, kio::MissedTick::burst);
    EXPECT_EQ(iv.take(s + 55ms), s);
    EXPECT_EQ(iv.next_tick(), s + 10ms);
  }
}

TEST(Interval, CancelledTickIsNotLost) {
  auto body = []() -> kio::Task<void> {
    const auto start = Clock::now();
    auto iv = kio::interval_at(start + 50ms, 50ms);
    auto r = co_await kio::timeout(5ms, iv.tick());
    CO_ASSERT(!r);
    EXPECT_EQ(r.error(), std::errc::timed_out);
    EXPECT_EQ(iv.next_tick(), start + 50ms);
    kio::CancelSource src;
    src.request_cancel();
    auto c = co_await kio::with_cancel(src.token(), iv.tick());
    CO_ASSERT(!c);
    EXPECT_EQ(c.error(), std::errc::operation_canceled);
    auto t = co_await iv.tick();
    CO_ASSERT(t);
    EXPECT_EQ(*t, start + 50ms);
  };
  rt().block_on(body());
}

TEST(Interval, ResetAndBadPeriod) {
  auto body = []() -> kio::Task<void> {
    auto iv = kio::interval(20ms);
    CO_ASSERT(co_await iv.tick());
    stall(5ms);
    const auto before = Clock::now();
    iv.reset();
    EXPECT_GE(iv.next_tick(), before + 20ms);
    auto t = co_await iv.tick();
    CO_ASSERT(t);
    EXPECT_GE(Clock::now(), before + 20ms);
  };
  rt().block_on(body());
  EXPECT_THROW(kio::interval(0ms), std::invalid_argument);
  EXPECT_THROW(kio::interval(-1s), std::invalid_argument);
}

TEST(Interval, RuntimeStopsWithTicksPending) {
  // One tick cancelled by the stopping runtime, one waiting with a token nobody cancels (its
  // frame is destroyed at teardown with the timer node in it: no use-after-free under ASan).
  bool cancelled = false;
  {
    kio::Runtime own(kio::RuntimeOptions{.workers = 1, .shutdown_grace = 20ms});
    auto observed = [](bool& cancelled) -> kio::Task<void> {
      auto iv = kio::interval_at(Clock::now() + 1h, 1h);
      auto t = co_await iv.tick();
      cancelled = !t && t.error() == std::errc::operation_canceled;
    };
    auto parked = []() -> kio::Task<void> {
      auto iv = kio::interval_at(Clock::now() + 1h, 1h);
      kio::CancelSource never;
      (void)co_await kio::with_cancel(never.token(), iv.tick());
    };
    auto body = [&]() -> kio::Task<void> {
      kio::spawn(observed(cancelled));
      kio::spawn(parked());
      co_await kio::sleep_for(2ms);
    };
    own.block_on(body());
  }
  EXPECT_TRUE(cancelled);
}

}  // namespace
