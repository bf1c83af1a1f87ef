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
