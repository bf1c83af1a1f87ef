// Description: kio::timeout firing and not firing; the timed-out operation has finished first.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

#include "kio/kio.hpp"
#include "one_worker.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

using kio_test::rt;

// Sleeps, then records that its body ran to the end (even when the sleep was cancelled).
kio::Task<int> slow(std::chrono::milliseconds d, bool& finished) {
  auto r = co_await kio::sleep_for(d);
  finished = true;
  co_return r ? 1 : -1;
}

TEST(Timeout, FiresAndWaitsForTheOperation) {
  auto body = []() -> kio::Task<bool> {
    bool finished = false;
    auto t0 = Clock::now();
    kio::Result<int> r = co_await kio::timeout(20ms, slow(30s, finished));
    auto elapsed = Clock::now() - t0;
    EXPECT_GE(elapsed, 20ms);
    EXPECT_LT(elapsed, 10s);
    EXPECT_TRUE(finished) << "timeout returned before the cancelled task finished";
    // slow() returned a plain int (-1): a value is never dropped, so it is returned.
    EXPECT_TRUE(r);
    co_return r && *r == -1;
  };
  EXPECT_TRUE(rt().block_on(body()));
}

TEST(Timeout, SleepTimesOut) {
  auto body = []() -> kio::Task<kio::Result<void>> {
    co_return co_await kio::timeout(10ms, kio::sleep_for(30s));
  };
  auto r = rt().block_on(body());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::timed_out);
}

TEST(Timeout, DoesNotFireWhenOperationIsFaster) {
  auto body = []() -> kio::Task<kio::Result<int>> {
    bool finished = false;
    co_return co_await kio::timeout(10s, slow(1ms, finished));
  };
  auto r = rt().block_on(body());
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 1);
}

TEST(Timeout, VoidTaskTimedOut) {
  auto body = []() -> kio::Task<kio::Result<void>> {
    auto inner = []() -> kio::Task<void> { co_await kio::sleep_for(30s); };
    co_return co_await kio::timeout(5ms, inner());
  };
  auto r = rt().block_on(body());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::timed_out);
}

TEST(Timeout, VoidTaskInTime) {
  auto body = []() -> kio::Task<kio::Result<void>> {
    auto inner = []() -> kio::Task<void> { co_await kio::sleep_for(1ms); };
    co_return co_await kio::timeout(10s, inner());
  };
  EXPECT_TRUE(rt().block_on(body()));
}

TEST(Timeout, ExceptionPassesThrough) {
  auto body = []() -> kio::Task<void> {
    auto inner = []() -> kio::Task<int> {
      throw std::logic_error("inner");
      co_return 0;
    };
    (void)co_await kio::timeout(10s, inner());
  };
  EXPECT_THROW(rt().block_on(body()), std::logic_error);
}

TEST(Timeout, CancelledErrorThrownByTheOperationBecomesTimedOut) {
  auto body = []() -> kio::Task<kio::Result<int>> {
    auto inner = []() -> kio::Task<int> {
      (co_await kio::sleep_for(30s)).value();  // throws system_error(operation_canceled)
      co_return 1;
    };
    co_return co_await kio::timeout(5ms, inner());
  };
  auto r = rt().block_on(body());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::timed_out);
}

TEST(Timeout, OuterCancellationIsNotATimeout) {
  auto body = []() -> kio::Task<kio::Result<void>> {
    kio::CancelSource outer;
    auto canceller = [](kio::CancelSource& s) -> kio::Task<void> {
      co_await kio::sleep_for(5ms);
      s.request_cancel();
    };
    kio::spawn(canceller(outer));
    co_return co_await kio::with_cancel(outer.token(), kio::timeout(30s, kio::sleep_for(30s)));
  };
  auto r = rt().block_on(body());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::operation_canceled);
}

TEST(Timeout, NestedTimeoutsInnerFires) {
  auto body = []() -> kio::Task<kio::Result<void>> {
    co_return co_await kio::timeout(30s, kio::timeout(5ms, kio::sleep_for(30s)));
  };
  auto r = rt().block_on(body());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::timed_out);
}

}  // namespace
