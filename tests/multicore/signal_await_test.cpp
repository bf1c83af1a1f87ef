// Description: kio::signal / kio::ctrl_c — delivery to waiters on their own core, a signal kept
// for the next waiter, cancellation that does not consume, invalid signals, a waiter taking
// SIGINT from stop_on_signals, SIGINT stopping the runtime when nobody waits, the previous
// disposition restored, and a waiter destroyed at teardown.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "kio/kio.hpp"

using namespace std::chrono_literals;

namespace {

// Waits for `sig` on this core; `got` receives the result.
kio::Task<void> wait_for(int sig, kio::Result<int>& got, std::atomic<int>& done) {
  got = co_await kio::signal(sig);
  done.fetch_add(1);
}

TEST(SignalAwait, WaiterGetsTheSignal) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  kio::Result<int> got = std::errc::operation_in_progress;
  std::atomic<int> done{0};
  rt.block_on([](kio::Result<int>& got, std::atomic<int>& done) -> kio::Task<void> {
    kio::spawn(wait_for(SIGUSR1, got, done));
    co_await kio::yield();  // the waiter is suspended now
    ::raise(SIGUSR1);
    while (done.load() == 0)
      co_await kio::sleep_for(1ms);
  }(got, done));
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, SIGUSR1);
}

TEST(SignalAwait, SignalWithNoWaiterIsKeptForTheNextOne) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  auto r = rt.block_on([]() -> kio::Task<kio::Result<int>> {
    // Installs the handler (nothing pending yet: the wait times out).
    auto first = co_await kio::timeout(20ms, kio::signal(SIGUSR2));
    EXPECT_EQ(first.error(), std::errc::timed_out);
    ::raise(SIGUSR2);               // nobody waits now
    co_await kio::sleep_for(20ms);  // let it reach the hub
    co_return co_await kio::timeout(5s, kio::signal(SIGUSR2, SIGUSR1));
  }());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, SIGUSR2);
}

TEST(SignalAwait, CancelledWaitEndsWithOperationCanceled) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  auto r = rt.block_on([]() -> kio::Task<kio::Result<int>> {
    kio::CancelSource src;
    src.request_cancel();
    co_return co_await kio::with_cancel(src.token(), kio::signal(SIGUSR1));
  }());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::operation_canceled);
}

TEST(SignalAwait, SignalsThatCannotBeCaughtAreRejected) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  rt.block_on([]() -> kio::Task<void> {
    auto k = co_await kio::signal(SIGKILL);
    EXPECT_EQ(k.error(), std::errc::invalid_argument);
    auto s = co_await kio::signal(SIGUSR1, SIGSTOP);
    EXPECT_EQ(s.error(), std::errc::invalid_argument);
    auto range = co_await kio::signal(0);
    EXPECT_EQ(range.error(), std::errc::invalid_argument);
  }());
}

TEST(SignalAwait, EveryWaiterOnEveryCoreIsWoken) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true});
  kio::Result<int> a = std::errc::operation_in_progress, b = a;
  std::atomic<int> done{0};
  rt.block_on(
      [](kio::Result<int>& a, kio::Result<int>& b, std::atomic<int>& done) -> kio::Task<void> {
        kio::spawn(wait_for(SIGUSR1, a, done));
        co_await kio::spawn_on(1, wait_for(SIGUSR1, b, done));
        // Both are waiting once core 1 answered a round trip after starting its task.
        co_await kio::submit_to(1, [] {});
        co_await kio::yield();
        ::raise(SIGUSR1);
        for (int i = 0; i < 5000 && done.load() < 2; ++i)
          co_await kio::sleep_for(1ms);
      }(a, b, done));
  ASSERT_EQ(done.load(), 2);
  EXPECT_EQ(a.value(), SIGUSR1);
  EXPECT_EQ(b.value(), SIGUSR1);
}

// With stop_on_signals, a task awaiting ctrl_c() decides what SIGINT does: the runtime keeps
// running.
TEST(SignalAwait, CtrlCWaiterTakesSigintInsteadOfStoppingTheRuntime) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1, .stop_on_signals = true});
  kio::Result<int> got = std::errc::operation_in_progress;
  std::atomic<int> done{0};
  rt.block_on([](kio::Result<int>& got, std::atomic<int>& done) -> kio::Task<void> {
    kio::spawn([](kio::Result<int>& got, std::atomic<int>& done) -> kio::Task<void> {
      got = co_await kio::ctrl_c();
      done.fetch_add(1);
    }(got, done));
    co_await kio::yield();
    ::raise(SIGINT);
    while (done.load() == 0)
      co_await kio::sleep_for(1ms);
  }(got, done));
  EXPECT_EQ(got.value(), SIGINT);
  EXPECT_FALSE(rt.stop_requested());
}

TEST(SignalAwait, SigintWithNobodyWaitingStopsTheRuntime) {
  kio::Runtime rt(
      kio::RuntimeOptions{.workers = 2, .oversubscribe = true, .stop_on_signals = true});
  testing::internal::CaptureStderr();
  ::raise(SIGINT);
  rt.wait();  // returns once the runtime stopped
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(rt.stop_requested());
  EXPECT_NE(err.find("received SIGINT; stopping gracefully"), std::string::npos) << err;
}

TEST(SignalAwait, PreviousDispositionIsRestoredWithTheRuntime) {
  struct sigaction ignore{};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  struct sigaction before{};
  ASSERT_EQ(::sigaction(SIGUSR2, &ignore, &before), 0);
  {
    kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
    rt.block_on(
        []() -> kio::Task<void> { (void)co_await kio::timeout(1ms, kio::signal(SIGUSR2)); }());
    struct sigaction during{};
    ::sigaction(SIGUSR2, nullptr, &during);
    EXPECT_NE(during.sa_handler, SIG_IGN);  // kio's handler is installed
  }
  struct sigaction after{};
  ::sigaction(SIGUSR2, nullptr, &after);
  EXPECT_EQ(after.sa_handler, SIG_IGN);
  ::sigaction(SIGUSR2, &before, nullptr);
}

// A waiter still suspended when the runtime stops is destroyed with its frame; a later signal
// must not touch it (ASan checks).
TEST(SignalAwait, WaiterDestroyedAtTeardownIsNotTouched) {
  {
    kio::Runtime rt(
        kio::RuntimeOptions{.workers = 2, .oversubscribe = true, .shutdown_grace = 20ms});
    rt.block_on([]() -> kio::Task<void> {
      auto forever = []() -> kio::Task<void> {
        // Shielded: only teardown ends it.
        (void)co_await kio::with_cancel(kio::CancelToken{}, kio::signal(SIGWINCH));
      };
      kio::spawn(forever());
      co_await kio::spawn_on(1, forever());
      co_await kio::submit_to(1, [] {});
    }());
    testing::internal::CaptureStderr();
    rt.stop();
    (void)testing::internal::GetCapturedStderr();
  }
  ::raise(SIGWINCH);  // default action: ignored
  std::this_thread::sleep_for(20ms);
}

}  // namespace
