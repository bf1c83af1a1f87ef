// Description: the per-core provided-buffer ring under exhaustion: a tiny ring shared by many
// connections (ENOBUFS pauses and re-arms) loses and reorders nothing; leases held across
// awaits; every buffer returns to the ring; configuration errors.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "net_util.hpp"

using namespace std::chrono_literals;
using kio::Result;
using kio::Task;
using kio::net::Address;
using kio::net::TcpListener;
using kio::net::TcpStream;

namespace {

Task<void> accept_echo(TcpListener& l, int n) {
  for (int i = 0; i < n; ++i) {
    auto s = co_await l.accept();
    if (!s) co_return;
    kio::spawn(nettest::echo(std::move(*s)));
  }
}

/// One client: sends `size` bytes while receiving the echo concurrently; true if identical.
Task<bool> exchange(Address addr, std::size_t size, std::uint32_t seed) {
  auto s = co_await TcpStream::connect(addr);
  if (!s) co_return false;
  auto data = nettest::pattern(size, seed);
  bool sent = false;
  auto sender = [](TcpStream& s, std::span<const std::byte> d, bool& done) -> Task<void> {
    EXPECT_TRUE(co_await s.send_all(d));
    done = true;
  };
  kio::spawn(sender(*s, data, sent));
  std::vector<std::byte> back(size);
  auto r = co_await nettest::recv_exact(*s, back);  // caller buffer: does not use the ring
  while (!sent)
    co_await kio::yield();
  co_return r&& back == data;
}

TEST(BufferRing, TinyRingManyConnectionsLosesNothing) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  auto body = []() -> Task<void> {
    // 4 buffers of 512 bytes for the whole core, at most 2 queued per stream.
    CO_ASSERT(kio::net::configure_recv_buffers(
        {.buffers = 4, .buffer_size = 512, .max_queued_per_stream = 2}));
    auto l = TcpListener::bind(Address::loopback_v4(0));
    CO_ASSERT(l);
    const Address addr = *l->local_address();
    constexpr int clients = 64;
    kio::spawn(accept_echo(*l, clients));
    kio::net::detail::TaskGroup group;
    int ok = 0;
    auto one = [](Address addr, int i, int& ok, kio::net::detail::TaskGroup& g) -> Task<void> {
      if (co_await exchange(addr, 20'000 + static_cast<std::size_t>(i) * 97,
                            static_cast<std::uint32_t>(i)))
        ++ok;
      g.done();
    };
    for (int i = 0; i < clients; ++i) {
      ++group.active;
      kio::spawn(one(addr, i, ok, group));
    }
    co_await group.wait();
    EXPECT_EQ(ok, clients);
    auto st = kio::net::recv_buffer_stats();
    EXPECT_EQ(st.buffers, 4u);
    EXPECT_EQ(st.buffer_size, 512u);
    EXPECT_GT(st.exhausted, 0u) << "the ring never ran dry: the test did not test exhaustion";
    for (int i = 0; i < 100 && kio::net::recv_buffer_stats().available != 4; ++i)
      co_await kio::sleep_for(1ms);
    EXPECT_EQ(kio::net::recv_buffer_stats().available, 4u);
  };
  rt.block_on(body());
}

TEST(BufferRing, SlowConsumerIsPausedAtItsQueueLimit) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  auto body = []() -> Task<void> {
    CO_ASSERT(kio::net::configure_recv_buffers(
        {.buffers = 16, .buffer_size = 256, .max_queued_per_stream = 2}));
    auto l = TcpListener::bind(Address::loopback_v4(0));
    CO_ASSERT(l);
    auto c1 = co_await TcpStream::connect(*l->local_address());
    auto c2 = co_await TcpStream::connect(*l->local_address());
    CO_ASSERT(c1 && c2);
    auto s1 = co_await l->accept();
    auto s2 = co_await l->accept();
    CO_ASSERT(s1 && s2);
    // Arm s1's receive, then feed it 10 separate small messages it does not consume.
    auto first = co_await kio::timeout(1ms, s1->recv());
    CO_ASSERT(!first);
    auto data = nettest::pattern(1000, 4);
    for (int i = 0; i < 10; ++i) {
      CO_ASSERT(co_await c1->send_all(std::span(data).subspan(i * 100, 100)));
      co_await kio::sleep_for(1ms);
    }
    // s1 holds at most a few buffers (paused at 2 queued; one more may land before the pause
    // takes effect); the rest of its data waits in the socket.
    const auto st = kio::net::recv_buffer_stats();
    EXPECT_GE(st.available, 16u - 4u) << "a slow consumer took " << 16 - st.available;
    // Other streams keep receiving meanwhile.
    auto other = nettest::pattern(3000, 2);
    CO_ASSERT(co_await c2->send_all(other));
    std::vector<std::byte> back(other.size());
    auto r = co_await kio::timeout(2s, nettest::recv_exact_leased(*s2, back));
    CO_ASSERT(r, r.error().message());
    EXPECT_TRUE(back == other);
    // s1 resumes when it consumes: all 1000 bytes, in order.
    std::vector<std::byte> got(1000);
    auto r1 = co_await kio::timeout(2s, nettest::recv_exact_leased(*s1, got));
    CO_ASSERT(r1, r1.error().message());
    EXPECT_TRUE(got == data);
  };
  rt.block_on(body());
}

TEST(BufferRing, ConfigurationErrors) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  auto body = []() -> Task<void> {
    EXPECT_EQ(kio::net::configure_recv_buffers({.buffers = 3}).error(),
              std::errc::invalid_argument);
    EXPECT_EQ(kio::net::configure_recv_buffers({.buffers = 65536}).error(),
              std::errc::invalid_argument);
    EXPECT_EQ(kio::net::configure_recv_buffers({.buffer_size = 0}).error(),
              std::errc::invalid_argument);
    EXPECT_EQ(kio::net::recv_buffer_stats().buffers, 0u);  // created on first use only
    CO_ASSERT(kio::net::configure_recv_buffers({.buffers = 16, .buffer_size = 1024}));
    auto l = TcpListener::bind(Address::loopback_v4(0));
    CO_ASSERT(l);
    auto c = co_await TcpStream::connect(*l->local_address());
    auto s = co_await l->accept();
    CO_ASSERT(c && s);
    CO_ASSERT(co_await c->send_all(std::string_view("x")));
    auto b = co_await s->recv();
    CO_ASSERT(b);
    EXPECT_EQ(kio::net::recv_buffer_stats().buffers, 16u);
    EXPECT_EQ(kio::net::configure_recv_buffers({}).error(), std::errc::device_or_resource_busy);
  };
  rt.block_on(body());
}

}  // namespace
