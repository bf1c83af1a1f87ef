// Description: zero-copy sends (IORING_OP_SEND_ZC): a 16 MiB send_zc arrives intact; send_all
// switches to zero copy above the stream's threshold and not below it, and by default never
// towards a peer on this host; a cancelled zero-copy send to a peer that stopped reading
// returns (the connection is aborted so the kernel releases the pages) instead of hanging.
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

Task<void> read_into(TcpStream& s, std::vector<std::byte>& out, bool& done) {
  EXPECT_TRUE(co_await nettest::recv_exact(s, out));
  done = true;
}

TEST(ZeroCopy, SendZcOf16MiBArrivesIntact) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  auto body = []() -> Task<void> {
    auto p = co_await nettest::connected_pair();
    CO_ASSERT(p, p.error().message());
    auto data = nettest::pattern(16u << 20, 77);
    std::vector<std::byte> back(data.size());
    bool received = false;
    kio::spawn(read_into(p->server, back, received));
    kio::net::SendZcOp op = p->client.send_zc(data);
    auto r = co_await op;
    CO_ASSERT(r, r.error().message());
    EXPECT_EQ(*r, data.size());
    while (!received)
      co_await kio::sleep_for(1ms);
    EXPECT_TRUE(back == data);
    // Loopback: the kernel reports that it copied the pages (it always does for local peers).
    EXPECT_TRUE(op.copied());
  };
  rt.block_on(body());
}

TEST(ZeroCopy, SendAllUsesZeroCopyAboveTheThreshold) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  auto body = []() -> Task<void> {
    auto p = co_await nettest::connected_pair();
    CO_ASSERT(p);
    p->client.set_zerocopy_threshold(1u << 20, /*include_local_peers=*/true);
    const auto before = kio::net::zerocopy_stats().sends;
    for (std::size_t size : {std::size_t{100'000}, std::size_t{16u << 20}}) {
      auto data = nettest::pattern(size, static_cast<std::uint32_t>(size));
      std::vector<std::byte> back(size);
      bool received = false;
      kio::spawn(read_into(p->server, back, received));
      CO_ASSERT(co_await p->client.send_all(data));
      while (!received)
        co_await kio::sleep_for(1ms);
      EXPECT_TRUE(back == data) << size;
    }
    EXPECT_EQ(kio::net::zerocopy_stats().sends, before + 1);  // the 16 MiB one only
  };
  rt.block_on(body());
}

TEST(ZeroCopy, SendAllSkipsZeroCopyForLocalPeersByDefault) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  auto body = []() -> Task<void> {
    auto p = co_await nettest::connected_pair();
    CO_ASSERT(p);
    EXPECT_EQ(p->client.zerocopy_threshold(), kio::net::default_zerocopy_threshold);
    auto data = nettest::pattern(4u << 20, 5);
    std::vector<std::byte> back(data.size());
    bool received = false;
    kio::spawn(read_into(p->server, back, received));
    CO_ASSERT(co_await p->client.send_all(data));
    while (!received)
      co_await kio::sleep_for(1ms);
    EXPECT_TRUE(back == data);
    EXPECT_EQ(kio::net::zerocopy_stats().sends, 0u);
  };
  rt.block_on(body());
}

TEST(ZeroCopy, CancelledSendToAStalledPeerAbortsTheConnection) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  auto body = []() -> Task<void> {
    auto l = TcpListener::bind(Address::loopback_v4(0));
    CO_ASSERT(l);
    auto c = co_await TcpStream::connect(
        *l->local_address(), {.send_buffer_size = 64 * 1024, .recv_buffer_size = 64 * 1024});
    CO_ASSERT(c);
    auto s = co_await l->accept();
    CO_ASSERT(s);
    // The server never reads: 16 MiB cannot all leave the client.
    auto data = nettest::pattern(16u << 20, 1);
    auto r = co_await kio::timeout(50ms, c->send_zc(data));
    // Either cancelled outright, or the part that was sent before the cancel (never all of it).
    if (r)
      EXPECT_LT(*r, data.size());
    else
      EXPECT_EQ(r.error(), std::errc::timed_out) << r.error().message();
    // The connection was aborted: the server sees a reset after the bytes that made it.
    std::error_code ec;
    std::array<std::byte, 65536> buf{};
    for (;;) {
      auto n = co_await kio::timeout(2s, s->recv(buf));
      if (!n) {
        ec = n.error();
        break;
      }
      if (*n == 0) break;
    }
    EXPECT_EQ(ec, std::errc::connection_reset) << ec.message();
  };
  rt.block_on(body());
}

}  // namespace
