// Description: stopping a runtime with cross-core traffic in flight: no hang, no lost frame, no
// use of another core's memory after it is freed (run under ASan and TSan).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <utility>

#include "kio/kio.hpp"

using namespace std::chrono_literals;

namespace {

struct Alive {
  std::atomic<int>& n;
  explicit Alive(std::atomic<int>& c) : n(c) { ++n; }
  ~Alive() { --n; }
};

// Counts frames that own it, started or not: a coroutine parameter lives in the frame.
struct Guard {
  std::atomic<int>* n;
  explicit Guard(std::atomic<int>& c) : n(&c) { ++*n; }
  Guard(Guard&& o) noexcept : n(std::exchange(o.n, nullptr)) {}
  ~Guard() {
    if (n) --*n;
  }
};

// Cores call each other continuously and ignore cancellation; stop() must still end, destroying
// every frame, including requests waiting in rings and tasks serving requests for the other core.
TEST(Shutdown, StopWithCrossCoreTrafficInFlight) {
  std::atomic<int> alive{0};
  std::atomic<long> calls{0};
  {
    kio::Runtime rt(kio::RuntimeOptions{
        .workers = 2, .oversubscribe = true, .shutdown_grace = 30ms, .mailbox_capacity = 4});
    auto start = [](std::atomic<int>& alive, std::atomic<long>& calls) -> kio::Task<void> {
      auto pinger = [](unsigned peer, std::atomic<int>& alive,
                       std::atomic<long>& calls) -> kio::Task<void> {
        Alive a(alive);
        for (;;) {
          try {
            co_await kio::submit_to(peer, [&calls]() -> kio::Task<int> {
              co_await kio::with_cancel(kio::CancelToken{}, kio::sleep_for(1ms));
              calls.fetch_add(1, std::memory_order_relaxed);
              co_return 1;
            });
          } catch (const std::system_error&) {
            // the peer is stopping; keep going until torn down
          }
          co_await kio::yield();
        }
      };
      for (int i = 0; i < 50; ++i) {
        kio::spawn(pinger(1, alive, calls));
        co_await kio::spawn_on(1, pinger(0, alive, calls));
      }
      co_await kio::sleep_for(20ms);
    };
    rt.block_on(start(alive, calls));
    EXPECT_EQ(alive.load(), 100);
    testing::internal::CaptureStderr();
    const auto t0 = std::chrono::steady_clock::now();
    rt.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    (void)testing::internal::GetCapturedStderr();
  }
  EXPECT_EQ(alive.load(), 0);
  EXPECT_GT(calls.load(), 0);
}

// Tasks spawned onto a core that is busy until the runtime stops never start: they wait in the
// ring or in the sender's overflow list, and are destroyed unstarted, not leaked.
TEST(Shutdown, UnstartedSpawnedTasksAreDestroyed) {
  std::atomic<int> frames{0};
  std::atomic<int> ran{0};
  std::atomic<bool> release{false};
  {
    kio::Runtime rt(kio::RuntimeOptions{
        .workers = 2, .oversubscribe = true, .shutdown_grace = 10ms, .mailbox_capacity = 2});
    auto start = [](std::atomic<int>& frames, std::atomic<int>& ran,
                    std::atomic<bool>& release) -> kio::Task<void> {
      auto hog = [](std::atomic<bool>& release) -> kio::Task<void> {
        while (!release.load()) {  // keeps core 1 from reaching its ring
        }
        co_return;
      };
      auto work = [](Guard, std::atomic<int>& ran) -> kio::Task<void> {
        ran.fetch_add(1);
        co_await kio::with_cancel(kio::CancelToken{}, kio::sleep_for(1h));
      };
      co_await kio::spawn_on(1, hog(release));
      auto sender = [](decltype(work) w, std::atomic<int>& frames,
                       std::atomic<int>& ran) -> kio::Task<void> {
        for (int i = 0; i < 100; ++i)
          co_await kio::spawn_on(1, w(Guard(frames), ran));
      };
      kio::spawn(sender(work, frames, ran));
      co_return;
    };
    rt.block_on(start(frames, ran, release));
    std::this_thread::sleep_for(20ms);
    // Only a handful exist: the 2-slot ring is full and the sender is blocked behind it.
    EXPECT_GE(frames.load(), 2);
    EXPECT_LE(frames.load(), 4);
    testing::internal::CaptureStderr();
    rt.request_stop();
    std::this_thread::sleep_for(50ms);  // core 0 is tearing down, core 1 still busy
    release.store(true);
    rt.stop();
    (void)testing::internal::GetCapturedStderr();
  }
  EXPECT_EQ(frames.load(), 0);
  // At most the ring's contents (2) plus one drained together with the hog ever started.
  EXPECT_LE(ran.load(), 3);
}

}  // namespace

namespace {

struct Counted {
  std::atomic<int>* destroyed;
  explicit Counted(std::atomic<int>* d) : destroyed(d) {}
  ~Counted() { destroyed->fetch_add(1); }
};

// A task cleaning up inside the grace period reaches the other core: core 1 has no tasks of its
// own and must not leave the grace period (refusing submit_to) while core 0 still works. This
// used to end in "core 1 is stopping" and ~Sharded's terminate.
TEST(Shutdown, CrossCoreCleanupInsideTheGracePeriodWorks) {
  std::atomic<int> destroyed{0};
  bool stopped_cleanly = false;
  const auto t0 = std::chrono::steady_clock::now();
  {
    kio::Runtime rt(
        kio::RuntimeOptions{.workers = 2, .oversubscribe = true, .shutdown_grace = 10s});
    auto body = [](kio::Runtime& rt, std::atomic<int>& destroyed,
                   bool& stopped_cleanly) -> kio::Task<void> {
      kio::Sharded<Counted> shards;
      co_await shards.start(&destroyed);
      rt.request_stop();
      co_await kio::with_cancel(kio::CancelToken{}, kio::sleep_for(50ms));  // shielded cleanup
      try {
        co_await shards.stop();
        stopped_cleanly = true;
      } catch (const std::system_error& e) {
        ADD_FAILURE() << "Sharded::stop during the grace period failed: " << e.what();
      }
    };
    rt.block_on(body(rt, destroyed, stopped_cleanly));
  }
  EXPECT_TRUE(stopped_cleanly);
  EXPECT_EQ(destroyed.load(), 2);
  // Done as soon as both cores were idle, not at the end of the 10 s grace period.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

// spawn_on keeps working while the runtime drains, and the runtime waits for what it started:
// core 0's last task hands work to core 1, which reports back to core 0 after core 0 went idle.
TEST(Shutdown, WorkHandedToAnotherCoreDuringTheGracePeriodFinishes) {
  std::atomic<bool> reported{false};
  std::atomic<bool> spawned{false};
  {
    kio::Runtime rt(
        kio::RuntimeOptions{.workers = 2, .oversubscribe = true, .shutdown_grace = 10s});
    auto cleanup = [](std::atomic<bool>& reported) -> kio::Task<void> {
      co_await kio::with_cancel(kio::CancelToken{}, kio::sleep_for(30ms));
      co_await kio::submit_to(0, [&reported] { reported.store(true); });
    };
    auto last = [](kio::Runtime& rt, std::atomic<bool>& spawned, std::atomic<bool>& reported,
                   decltype(cleanup) c) -> kio::Task<void> {
      rt.request_stop();
      co_await kio::with_cancel(kio::CancelToken{}, kio::sleep_for(10ms));
      spawned.store(static_cast<bool>(co_await kio::spawn_on(1, c(reported))));
    };
    rt.block_on(last(rt, spawned, reported, cleanup));
    rt.stop();
  }
  EXPECT_TRUE(spawned.load());
  EXPECT_TRUE(reported.load());
}

// Idle cores agree quickly that they are done: stop() does not sit out the grace period.
TEST(Shutdown, IdleRuntimeStopsWithoutWaitingForTheGrace) {
  for (int round = 0; round < 20; ++round) {
    kio::Runtime rt(
        kio::RuntimeOptions{.workers = 2, .oversubscribe = true, .shutdown_grace = 30s});
    rt.block_on([]() -> kio::Task<void> { co_await kio::submit_to(1, [] { return 1; }); }());
    const auto t0 = std::chrono::steady_clock::now();
    rt.stop();
    ASSERT_LT(std::chrono::steady_clock::now() - t0, 5s) << "round " << round;
  }
}

// One grace deadline for all cores: a task on core 1 that ignores cancellation keeps the runtime
// until the deadline, no longer, while core 0 (idle) waits with it.
TEST(Shutdown, StubbornTaskIsBoundedByTheSharedGraceDeadline) {
  std::atomic<int> frames{0};
  {
    kio::Runtime rt(
        kio::RuntimeOptions{.workers = 2, .oversubscribe = true, .shutdown_grace = 200ms});
    auto stubborn = [](Guard) -> kio::Task<void> {
      co_await kio::with_cancel(kio::CancelToken{}, kio::sleep_for(1h));
    };
    rt.block_on([](decltype(stubborn) s, std::atomic<int>& frames) -> kio::Task<void> {
      co_await kio::spawn_on(1, s(Guard(frames)));
    }(stubborn, frames));
    testing::internal::CaptureStderr();
    const auto t0 = std::chrono::steady_clock::now();
    rt.stop();
    const auto took = std::chrono::steady_clock::now() - t0;
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_GE(took, 150ms);
    EXPECT_LT(took, 5s);
    EXPECT_NE(err.find("still running after the 200 ms grace period"), std::string::npos) << err;
  }
  EXPECT_EQ(frames.load(), 0);
}

}  // namespace
