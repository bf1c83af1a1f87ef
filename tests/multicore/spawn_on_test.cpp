// Description: spawn_on between cores: tasks run on the target core, and a full ring makes the
// sender wait instead of dropping work.
#include <gtest/gtest.h>

#include <atomic>

#include "kio/kio.hpp"

namespace {

TEST(SpawnOn, TenThousandTasksThroughATinyRingAllRun) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true, .mailbox_capacity = 4});
  std::atomic<int> ran_on_1{0};
  std::atomic<int> wrong_core{0};
  auto body = [](std::atomic<int>& ran, std::atomic<int>& wrong) -> kio::Task<void> {
    auto work = [](std::atomic<int>& ran, std::atomic<int>& wrong) -> kio::Task<void> {
      if (kio::this_core() != 1) wrong.fetch_add(1);
      ran.fetch_add(1, std::memory_order_relaxed);
      co_return;
    };
    for (int i = 0; i < 10'000; ++i) {
      auto r = co_await kio::spawn_on(1, work(ran, wrong));
      if (!r) co_return;
    }
    while (ran.load() < 10'000)
      co_await kio::sleep_for(std::chrono::milliseconds(1));
  };
  rt.block_on(body(ran_on_1, wrong_core));
  EXPECT_EQ(ran_on_1.load(), 10'000);
  EXPECT_EQ(wrong_core.load(), 0);
}

TEST(SpawnOn, SenderWaitsWhenTheRingIsFull) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true, .mailbox_capacity = 2});
  // Core 1 is kept busy (never reaches its ring) until `release` is set, so the ring from core 0
  // fills up; spawn_on must then suspend the sender rather than drop or grow anything.
  std::atomic<bool> release{false};
  std::atomic<int> ran{0};
  auto body = [](std::atomic<bool>& release, std::atomic<int>& ran) -> kio::Task<int> {
    auto hog = [](std::atomic<bool>& release) -> kio::Task<void> {
      while (!release.load()) {
      }
      co_return;
    };
    auto work = [](std::atomic<int>& ran) -> kio::Task<void> {
      ran.fetch_add(1);
      co_return;
    };
    co_await kio::spawn_on(1, hog(release));
    int sent_before_block = 0;
    bool blocked = false;
    auto sender = [](decltype(work) w, std::atomic<int>& ran, int& sent,
                     bool& blocked) -> kio::Task<void> {
      for (int i = 0; i < 50; ++i) {
        co_await kio::spawn_on(1, w(ran));
        ++sent;
      }
      blocked = false;
    };
    blocked = true;
    kio::spawn(sender(work, ran, sent_before_block, blocked));
    co_await kio::sleep_for(std::chrono::milliseconds(50));
    const int sent_while_hogged = sent_before_block;
    release.store(true);
    while (ran.load() < 50)
      co_await kio::sleep_for(std::chrono::milliseconds(1));
    EXPECT_FALSE(blocked);
    co_return sent_while_hogged;
  };
  const int sent_while_hogged = rt.block_on(body(release, ran));
  // A 2-slot ring holds at most 2 of them (+1 that may be in flight): the sender was held back.
  EXPECT_LE(sent_while_hogged, 3);
  EXPECT_EQ(ran.load(), 50);
}

}  // namespace
