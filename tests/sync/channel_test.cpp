// Description: kio::Channel<T> — FIFO delivery, backpressure when full, rendezvous (capacity 0),
// move-only values, close-then-drain, cancellation of waiting send/recv, no allocation per op.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "co_assert.hpp"
#include "kio/kio.hpp"
#include "kio/sync/channel.hpp"
#include "one_worker.hpp"

using namespace std::chrono_literals;

namespace {

using kio_test::rt;

kio::Task<void> producer(kio::Channel<int>& ch, int from, int n, int& sent, std::error_code& err) {
  for (int i = from; i < from + n; ++i) {
    auto r = co_await ch.send(i);
    if (!r) {
      err = r.error();
      co_return;
    }
    ++sent;
  }
}

TEST(Channel, FifoAndBackpressure) {
  auto body = []() -> kio::Task<void> {
    kio::Channel<int> ch(3);
    int sent = 0;
    std::error_code err;
    kio::spawn(producer(ch, 0, 10, sent, err));
    co_await kio::yield();
    EXPECT_EQ(sent, 3) << "the producer must block once the buffer is full";
    EXPECT_EQ(ch.size(), 3u);
    std::vector<int> got;
    for (int i = 0; i < 10; ++i) {
      auto r = co_await ch.recv();
      CO_ASSERT_TRUE(r);
      got.push_back(*r);
      EXPECT_LE(ch.size(), 3u);
    }
    std::vector<int> want{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    EXPECT_EQ(got, want);
    while (sent < 10)
      co_await kio::yield();
    EXPECT_FALSE(err);
  };
  rt().block_on(body());
}

TEST(Channel, ReceiversWaitAndAreServedInOrder) {
  auto body = []() -> kio::Task<void> {
    kio::Channel<int> ch(1);
    std::vector<std::pair<int, int>> got;  // (receiver, value)
    auto rx = [](kio::Channel<int>& c, int id,
                 std::vector<std::pair<int, int>>& g) -> kio::Task<void> {
      auto r = co_await c.recv();
      if (r) g.emplace_back(id, *r);
    };
    for (int i = 0; i < 3; ++i)
      kio::spawn(rx(ch, i, got));
    co_await kio::yield();
    EXPECT_TRUE(ch.try_send(10));
    EXPECT_TRUE(ch.empty()) << "a waiting receiver takes the value directly";
    EXPECT_TRUE(co_await ch.send(11));
    EXPECT_TRUE(co_await ch.send(12));
    EXPECT_TRUE(got.empty()) << "send() must not resume receivers inline";
    co_await kio::yield();
    std::vector<std::pair<int, int>> want{{0, 10}, {1, 11}, {2, 12}};
    EXPECT_EQ(got, want);
  };
  rt().block_on(body());
}

TEST(Channel, RendezvousCapacityZero) {
  auto body = []() -> kio::Task<void> {
    kio::Channel<int> ch(0);
    EXPECT_FALSE(ch.try_send(1)) << "no receiver waiting";
    int sent = 0;
    std::error_code err;
    kio::spawn(producer(ch, 100, 3, sent, err));
    co_await kio::yield();
    EXPECT_EQ(sent, 0);
    for (int i = 0; i < 3; ++i) {
      auto r = co_await ch.recv();
      CO_ASSERT_TRUE(r);
      EXPECT_EQ(*r, 100 + i);
      co_await kio::yield();
      EXPECT_EQ(sent, i + 1);
    }
  };
  rt().block_on(body());
}

TEST(Channel, MoveOnlyValues) {
  auto body = []() -> kio::Task<void> {
    kio::Channel<std::unique_ptr<std::string>> ch(2);
    EXPECT_TRUE(co_await ch.send(std::make_unique<std::string>("a")));
    auto v = std::make_unique<std::string>("b");
    EXPECT_TRUE(ch.try_send(std::move(v)));
    EXPECT_EQ(v, nullptr);
    auto w = std::make_unique<std::string>("c");
    EXPECT_FALSE(ch.try_send(std::move(w)));
    EXPECT_NE(w, nullptr) << "a failed try_send leaves the value with the caller";
    auto r = co_await ch.recv();
    CO_ASSERT_TRUE(r);
    EXPECT_EQ(**r, "a");
    auto t = ch.try_recv();
    CO_ASSERT_TRUE(t.has_value());
    EXPECT_EQ(**t, "b");
    EXPECT_FALSE(ch.try_recv().has_value());
    // Buffered values still in the channel are destroyed with it (checked by ASan for leaks).
    EXPECT_TRUE(co_await ch.send(std::move(w)));
  };
  rt().block_on(body());
}

TEST(Channel, CloseDrainsThenFails) {
  auto body = []() -> kio::Task<void> {
    kio::Channel<int> ch(4);
    EXPECT_TRUE(co_await ch.send(1));
    EXPECT_TRUE(co_await ch.send(2));
    ch.close();
    auto s = co_await ch.send(3);
    EXPECT_EQ(s.error(), std::errc::broken_pipe);
    EXPECT_FALSE(ch.try_send(3));
    auto a = co_await ch.recv();
    auto b = co_await ch.recv();
    auto c = co_await ch.recv();
    CO_ASSERT_TRUE(a && b);
    EXPECT_EQ(*a, 1);
    EXPECT_EQ(*b, 2);
    CO_ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), std::errc::broken_pipe);
  };
  rt().block_on(body());
}

TEST(Channel, CloseWakesWaitingSendersAndReceivers) {
  auto body = []() -> kio::Task<void> {
    kio::Channel<int> full(1), empty(1);
    int sent = 0;
    std::error_code send_err;
    kio::spawn(producer(full, 0, 5, sent, send_err));
    std::error_code recv_err;
    auto rx = [](kio::Channel<int>& c, std::error_code& e) -> kio::Task<void> {
      auto r = co_await c.recv();
      e = r ? std::error_code() : r.error();
    };
    kio::spawn(rx(empty, recv_err));
    co_await kio::yield();
    EXPECT_EQ(sent, 1);
    full.close();
    empty.close();
    co_await kio::yield();
    EXPECT_EQ(send_err, std::errc::broken_pipe);
    EXPECT_EQ(recv_err, std::errc::broken_pipe);
    auto left = co_await full.recv();  // the value buffered before close is still delivered
    CO_ASSERT_TRUE(left);
    EXPECT_EQ(*left, 0);
  };
  rt().block_on(body());
}

TEST(Channel, CancelWaitingSendAndRecv) {
  auto body = []() -> kio::Task<void> {
    kio::Channel<int> ch(1);
    auto r = co_await kio::timeout(5ms, ch.recv());
    CO_ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), std::errc::timed_out);
    EXPECT_TRUE(co_await ch.send(1));
    kio::CancelSource src;
    src.request_cancel();
    auto s = co_await kio::with_cancel(src.token(), ch.send(2));  // full: would wait
    EXPECT_EQ(s.error(), std::errc::operation_canceled);
    auto t = co_await kio::timeout(5ms, ch.send(3));
    EXPECT_EQ(t.error(), std::errc::timed_out);
    EXPECT_EQ(ch.size(), 1u) << "cancelled sends must not enqueue";
    auto v = co_await ch.recv();
    CO_ASSERT_TRUE(v);
    EXPECT_EQ(*v, 1);
    EXPECT_TRUE(ch.empty());
  };
  rt().block_on(body());
}

// Producer/consumer through a small channel: after a warm-up run (frame pool, ready queue), the
// only allocation is the channel's buffer, made before the measurement starts.
kio::Task<long> pump(int n, const std::atomic<long>* news) {
  kio::Channel<int> ch(8);
  const long before = news ? news->load() : 0;
  int sent = 0;
  std::error_code err;
  kio::spawn(producer(ch, 0, n, sent, err));
  long sum = 0;
  for (int i = 0; i < n; ++i) {
    auto r = co_await ch.recv();
    if (!r) co_return -1;
    sum += *r;
  }
  while (sent < n)
    co_await kio::yield();
  co_return news ? news->load() - before : sum;
}

TEST(Channel, SteadyStateSendRecvDoesNotAllocate) {
  EXPECT_EQ(rt().block_on(pump(1000, nullptr)), 999L * 1000 / 2);
  EXPECT_EQ(rt().block_on(pump(100'000, &g_news)), 0) << "global allocations during 100,000 "
                                                         "sends and receives";
}

}  // namespace
