// Description: UdpSocket: send_to/recv_from round trips (IPv4 and IPv6), connected send/recv,
// truncation of datagrams larger than the buffer, cancellation of a waiting receive, and an
// ICMP-refused connected peer reported as an error code.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <string>
#include <string_view>

#include "net_util.hpp"

using namespace std::chrono_literals;
using kio::Task;
using kio::net::Address;
using kio::net::UdpSocket;

namespace {

std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

/// Answers `n` datagrams with "echo:" + payload.
Task<void> udp_echo(UdpSocket& s, int n) {
  std::array<std::byte, 2048> buf{};
  std::array<std::byte, 2048> out{};
  for (int i = 0; i < n; ++i) {
    auto d = co_await s.recv_from(buf);
    if (!d) co_return;
    std::memcpy(out.data(), "echo:", 5);
    std::memcpy(out.data() + 5, buf.data(), d->size);
    auto r = co_await s.send_to(std::span(out).first(5 + d->size), d->from);
    if (!r) co_return;
  }
}

TEST(Udp, RoundTripsWithSendToAndRecvFrom) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  auto body = []() -> Task<void> {
    auto server = UdpSocket::bind(Address::loopback_v4(0));
    CO_ASSERT(server, server.error().message());
    auto addr = server->local_address();
    CO_ASSERT(addr);
    kio::spawn(udp_echo(*server, 100));
    auto client = UdpSocket::bind(Address::loopback_v4(0));
    CO_ASSERT(client);
    const Address me = *client->local_address();
    std::array<std::byte, 2048> buf{};
    for (int i = 0; i < 100; ++i) {
      const std::string msg = "datagram " + std::to_string(i);
      auto w = co_await client->send_to(bytes(msg), *addr);
      CO_ASSERT(w, w.error().message());
      EXPECT_EQ(*w, msg.size());
      auto d = co_await kio::timeout(2s, client->recv_from(buf));
      CO_ASSERT(d, d.error().message());
      EXPECT_FALSE(d->truncated);
      EXPECT_EQ(d->from, *addr);
      EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(buf.data()), d->size),
                "echo:" + msg);
    }
    EXPECT_TRUE(me.is_loopback());
  };
  rt.block_on(body());
}

TEST(Udp, ConnectedSendAndRecv) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  auto body = []() -> Task<void> {
    auto server = UdpSocket::bind(Address::loopback_v4(0));
    CO_ASSERT(server);
    kio::spawn(udp_echo(*server, 10));
    auto client = UdpSocket::open(AF_INET);
    CO_ASSERT(client);
    CO_ASSERT(client->connect(*server->local_address()));
    std::array<std::byte, 64> buf{};
    for (int i = 0; i < 10; ++i) {
      CO_ASSERT(co_await client->send(bytes("hi")));
      auto n = co_await kio::timeout(2s, client->recv(buf));
      CO_ASSERT(n, n.error().message());
      EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(buf.data()), *n), "echo:hi");
    }
    CO_ASSERT(co_await client->close());
    EXPECT_FALSE(client->is_open());
  };
  rt.block_on(body());
}

TEST(Udp, Ipv6RoundTrip) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  bool skipped = false;
  auto body = [](bool& skipped) -> Task<void> {
    auto server = UdpSocket::bind(Address::loopback_v6(0));
    if (!server) {
      skipped = true;
      co_return;
    }
    kio::spawn(udp_echo(*server, 1));
    auto client = UdpSocket::open(AF_INET6);
    CO_ASSERT(client);
    CO_ASSERT(co_await client->send_to(bytes("six"), *server->local_address()));
    std::array<std::byte, 64> buf{};
    auto d = co_await kio::timeout(2s, client->recv_from(buf));
    CO_ASSERT(d, d.error().message());
    EXPECT_TRUE(d->from.is_v6());
    EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(buf.data()), d->size), "echo:six");
  };
  rt.block_on(body(skipped));
  if (skipped) GTEST_SKIP() << "IPv6 loopback (::1) is not available here";
}

TEST(Udp, LargeDatagramIsReportedTruncated) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  auto body = []() -> Task<void> {
    auto a = UdpSocket::bind(Address::loopback_v4(0));
    auto b = UdpSocket::bind(Address::loopback_v4(0));
    CO_ASSERT(a && b);
    auto data = nettest::pattern(1000, 5);
    CO_ASSERT(co_await a->send_to(data, *b->local_address()));
    std::array<std::byte, 100> small{};
    auto d = co_await kio::timeout(2s, b->recv_from(small));
    CO_ASSERT(d, d.error().message());
    EXPECT_TRUE(d->truncated);
    EXPECT_EQ(d->size, small.size());
    EXPECT_TRUE(std::equal(small.begin(), small.end(), data.begin()));
  };
  rt.block_on(body());
}

TEST(Udp, WaitingReceiveIsCancellable) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  auto body = []() -> Task<void> {
    auto s = UdpSocket::bind(Address::loopback_v4(0));
    CO_ASSERT(s);
    std::array<std::byte, 16> buf{};
    auto d = co_await kio::timeout(10ms, s->recv_from(buf));
    CO_ASSERT(!d);
    EXPECT_EQ(d.error(), std::errc::timed_out);
  };
  rt.block_on(body());
}

TEST(Udp, RefusedConnectedPeerIsAnErrorCode) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  auto body = []() -> Task<void> {
    Address dead;
    {
      auto tmp = UdpSocket::bind(Address::loopback_v4(0));
      CO_ASSERT(tmp);
      dead = *tmp->local_address();
    }  // closed: nothing listens there now
    auto c = UdpSocket::open(AF_INET);
    CO_ASSERT(c);
    CO_ASSERT(c->connect(dead));
    CO_ASSERT(co_await c->send(bytes("anyone?")));
    std::array<std::byte, 16> buf{};
    // The ICMP port-unreachable arrives as ECONNREFUSED on the connected socket.
    auto n = co_await kio::timeout(2s, c->recv(buf));
    CO_ASSERT(!n);
    EXPECT_EQ(n.error(), std::errc::connection_refused) << n.error().message();
  };
  rt.block_on(body());
}

}  // namespace
