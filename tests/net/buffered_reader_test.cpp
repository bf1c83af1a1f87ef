// Description: BufferedReader over real loopback streams: lines inside one receive buffer come
// back as views without copying, records straddling (64-byte) buffers are assembled, multi-byte
// delimiters split across buffers, read_exact framing, max length (message_size, nothing lost),
// end of stream, cancellation losing no byte, returned views staying valid until the next call.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "net_util.hpp"

using namespace std::chrono_literals;
using kio::Result;
using kio::Task;
using kio::net::BufferedReader;
using kio::net::TcpStream;

namespace {

/// A one-worker runtime whose receive buffers are `buffer_size` bytes.
struct SmallBuffers {
  explicit SmallBuffers(unsigned buffer_size) : size(buffer_size) {}
  unsigned size;
  kio::Runtime rt{kio::RuntimeOptions{.workers = 1}};
  /// Runs body(pair) on the worker after configuring the ring.
  template <class F>
  void run(F body) {
    auto outer = [](unsigned size, F& body) -> Task<void> {
      auto c = kio::net::configure_recv_buffers({.buffers = 256, .buffer_size = size});
      CO_ASSERT(c, c.error().message());
      auto p = co_await nettest::connected_pair();
      CO_ASSERT(p, p.error().message());
      co_await body(p->client, p->server);
    };
    rt.block_on(outer(size, body));
  }
};

std::string random_text(std::mt19937& rng, std::size_t n) {
  std::string s(n, ' ');
  for (auto& ch : s)
    ch = static_cast<char>('a' + rng() % 26);
  return s;
}

TEST(BufferedReader, LinesInsideOneBufferAreViewsWithoutCopying) {
  SmallBuffers env(16 * 1024);
  env.run([](TcpStream& c, TcpStream& s) -> Task<void> {
    CO_ASSERT(co_await c.send_all(std::string_view("hello\r\nworld\n\nend\n")));
    BufferedReader in(s);
    auto a = co_await in.read_line();
    CO_ASSERT(a, a.error().message());
    EXPECT_EQ(*a, "hello");
    auto b = co_await in.read_line();
    CO_ASSERT(b);
    EXPECT_EQ(*b, "world");
    auto e = co_await in.read_line();
    CO_ASSERT(e);
    EXPECT_EQ(*e, "");
    auto u = co_await in.read_until("\n");
    CO_ASSERT(u);
    EXPECT_EQ(*u, "end\n");  // read_until keeps the delimiter
    EXPECT_EQ(in.bytes_copied(), 0u);
  });
}

TEST(BufferedReader, LinesStraddlingBuffersAreAssembled) {
  SmallBuffers env(64);
  env.run([](TcpStream& c, TcpStream& s) -> Task<void> {
    std::mt19937 rng(7);
    std::vector<std::string> lines;
    std::string wire;
    for (int i = 0; i < 400; ++i) {
      lines.push_back(random_text(rng, rng() % 200));
      wire += lines.back() + (i % 3 == 0 ? "\r\n" : "\n");
    }
    auto sender = [](TcpStream& c, std::string& wire) -> Task<void> {
      EXPECT_TRUE(co_await c.send_all(wire));
    };
    kio::spawn(sender(c, wire));
    BufferedReader in(s);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      auto l = co_await in.read_line(200);
      CO_ASSERT(l, "line " << i << ": " << l.error().message());
      CO_ASSERT(*l == lines[i], "line " << i << " differs");
    }
    EXPECT_GT(in.bytes_copied(), 0u);
    EXPECT_LT(in.bytes_copied(), wire.size());  // lines inside one buffer were not copied
  });
}

TEST(BufferedReader, MultiByteDelimiterSplitAcrossBuffers) {
  SmallBuffers env(64);
  env.run([](TcpStream& c, TcpStream& s) -> Task<void> {
    // Records of every length around the buffer size, so that "<=>" lands on every offset of
    // a buffer boundary, including split 1+2 and 2+1.
    std::vector<std::string> recs;
    std::string wire;
    for (std::size_t n = 0; n < 200; ++n) {
      recs.push_back(std::string(n, static_cast<char>('A' + n % 26)) + "<=");  // near misses
      wire += recs.back() + "<=>";
    }
    auto sender = [](TcpStream& c, std::string& wire) -> Task<void> {
      EXPECT_TRUE(co_await c.send_all(wire));
    };
    kio::spawn(sender(c, wire));
    BufferedReader in(s);
    for (std::size_t i = 0; i < recs.size(); ++i) {
      auto r = co_await in.read_until("<=>", 1000);
      CO_ASSERT(r, "record " << i << ": " << r.error().message());
      CO_ASSERT(*r == recs[i] + "<=>", "record " << i << " differs: " << *r);
    }
  });
}

TEST(BufferedReader, ReadExactFramesAcrossBuffers) {
  SmallBuffers env(64);
  env.run([](TcpStream& c, TcpStream& s) -> Task<void> {
    std::mt19937 rng(11);
    std::vector<std::vector<std::byte>> frames;
    std::vector<std::byte> wire;
    for (int i = 0; i < 300; ++i) {
      frames.push_back(nettest::pattern(rng() % 300, static_cast<std::uint32_t>(i)));
      const auto n = static_cast<std::uint16_t>(frames.back().size());
      wire.push_back(static_cast<std::byte>(n >> 8));
      wire.push_back(static_cast<std::byte>(n & 0xff));
      wire.insert(wire.end(), frames.back().begin(), frames.back().end());
    }
    auto sender = [](TcpStream& c, std::vector<std::byte>& wire) -> Task<void> {
      EXPECT_TRUE(co_await c.send_all(wire));
    };
    kio::spawn(sender(c, wire));
    BufferedReader in(s);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      auto h = co_await in.read_exact(2);
      CO_ASSERT(h && h->size() == 2, "header " << i);
      const std::size_t n = (std::size_t(std::uint8_t((*h)[0])) << 8) | std::uint8_t((*h)[1]);
      CO_ASSERT(n == frames[i].size(), "frame " << i << " length " << n);
      auto body = co_await in.read_exact(n);
      CO_ASSERT(body && body->size() == n, "frame " << i);
      CO_ASSERT(n == 0 || std::memcmp(body->data(), frames[i].data(), n) == 0,
                "frame " << i << " differs");
    }
    auto none = co_await in.read_exact(0);
    CO_ASSERT(none);
    EXPECT_TRUE(none->empty());
  });
}

TEST(BufferedReader, MaxLengthIsMessageSizeAndLosesNothing) {
  SmallBuffers env(64);
  env.run([](TcpStream& c, TcpStream& s) -> Task<void> {
    BufferedReader in(s);
    // Exactly max is fine, with or without "\r"; one more byte is not.
    CO_ASSERT(co_await c.send_all(std::string_view("0123456789\n0123456789\r\n01234567890\n")));
    auto a = co_await in.read_line(10);
    CO_ASSERT(a, a.error().message());
    EXPECT_EQ(*a, "0123456789");
    auto b = co_await in.read_line(10);
    CO_ASSERT(b, b.error().message());
    EXPECT_EQ(*b, "0123456789");
    auto too_long = co_await in.read_line(10);
    CO_ASSERT(!too_long);
    EXPECT_EQ(too_long.error(), std::errc::message_size) << too_long.error().message();
    EXPECT_EQ(in.buffered().substr(0, 12), "01234567890\n");  // nothing consumed
    auto again = co_await in.read_line(11);
    CO_ASSERT(again);
    EXPECT_EQ(*again, "01234567890");
    // A line that keeps coming without a newline fails as soon as it is over max, long before
    // its end (the reader does not buffer without bound), across several buffers.
    std::string big(300, 'x');
    CO_ASSERT(co_await c.send_all(big));
    auto r = co_await kio::timeout(5s, in.read_line(100));
    CO_ASSERT(!r);
    EXPECT_EQ(r.error(), std::errc::message_size) << r.error().message();
    EXPECT_GT(in.buffered().size(), 100u);
    EXPECT_LE(in.buffered().size(), 300u);
    CO_ASSERT(co_await c.send_all(std::string_view("--\n")));
    auto whole = co_await in.read_line(400);
    CO_ASSERT(whole, whole.error().message());
    EXPECT_EQ(*whole, big + "--");
    // read_until's max counts the bytes before the delimiter.
    CO_ASSERT(co_await c.send_all(std::string_view("abc;abcd;")));
    auto u1 = co_await in.read_until(";", 3);
    CO_ASSERT(u1);
    EXPECT_EQ(*u1, "abc;");
    auto u2 = co_await in.read_until(";", 3);
    CO_ASSERT(!u2);
    EXPECT_EQ(u2.error(), std::errc::message_size);
    auto empty_delim = co_await in.read_until("");
    CO_ASSERT(!empty_delim);
    EXPECT_EQ(empty_delim.error(), std::errc::invalid_argument);
  });
}

TEST(BufferedReader, EndOfStreamKeepsTheIncompleteTail) {
  SmallBuffers env(64);
  env.run([](TcpStream& c, TcpStream& s) -> Task<void> {
    CO_ASSERT(co_await c.send_all(std::string_view("a\nbc")));
    CO_ASSERT(c.shutdown_write());
    BufferedReader in(s);
    auto a = co_await in.read_line();
    CO_ASSERT(a);
    EXPECT_EQ(*a, "a");
    auto b = co_await in.read_line();
    CO_ASSERT(!b);
    EXPECT_EQ(b.error(), kio::net::end_of_stream) << b.error().message();
    EXPECT_TRUE(in.eof());
    EXPECT_EQ(in.buffered(), "bc");
    auto exact = co_await in.read_exact(5);
    CO_ASSERT(!exact);
    EXPECT_EQ(exact.error(), kio::net::end_of_stream);
    EXPECT_EQ(in.buffered(), "bc");
    auto tail = co_await in.read_some();
    CO_ASSERT(tail);
    EXPECT_EQ(*tail, "bc");
    auto after = co_await in.read_some();
    CO_ASSERT(!after);
    EXPECT_EQ(after.error(), kio::net::end_of_stream);
    EXPECT_EQ(in.buffered(), "");
  });
}

TEST(BufferedReader, CancelledReadLosesNoBytes) {
  SmallBuffers env(64);
  env.run([](TcpStream& c, TcpStream& s) -> Task<void> {
    BufferedReader in(s);
    CO_ASSERT(co_await c.send_all(std::string_view("par")));
    auto r1 = co_await kio::timeout(20ms, in.read_line());
    CO_ASSERT(!r1);
    EXPECT_EQ(r1.error(), std::errc::timed_out);
    EXPECT_EQ(in.buffered(), "par");
    // A partial record spread over several buffers when the cancellation comes.
    std::string long_part(150, 'q');
    CO_ASSERT(co_await c.send_all(std::string_view("tial\n")));
    auto r2 = co_await in.read_line();
    CO_ASSERT(r2, r2.error().message());
    EXPECT_EQ(*r2, "partial");
    CO_ASSERT(co_await c.send_all(long_part));
    auto r3 = co_await kio::timeout(30ms, in.read_line());
    CO_ASSERT(!r3);
    EXPECT_EQ(r3.error(), std::errc::timed_out);
    EXPECT_EQ(in.buffered(), long_part);
    CO_ASSERT(co_await c.send_all(std::string_view("Z\r\n")));
    auto r4 = co_await in.read_line();
    CO_ASSERT(r4, r4.error().message());
    EXPECT_EQ(*r4, long_part + "Z");
    // read_exact: the same.
    CO_ASSERT(co_await c.send_all(std::string_view("12345")));
    auto e1 = co_await kio::timeout(20ms, in.read_exact(8));
    CO_ASSERT(!e1);
    kio::CancelSource src;
    src.request_cancel();
    auto e2 = co_await kio::with_cancel(src.token(), in.read_exact(8));
    CO_ASSERT(!e2);
    EXPECT_EQ(e2.error(), std::errc::operation_canceled);
    EXPECT_EQ(in.buffered(), "12345");
    CO_ASSERT(co_await c.send_all(std::string_view("678")));
    auto e3 = co_await in.read_exact(8);
    CO_ASSERT(e3);
    EXPECT_EQ(*e3, "12345678");
  });
}

TEST(BufferedReader, ViewsStayValidUntilTheNextCall) {
  SmallBuffers env(64);
  env.run([](TcpStream& c, TcpStream& s) -> Task<void> {
    BufferedReader in(s);
    CO_ASSERT(co_await c.send_all(std::string_view("first line\nsecond")));
    auto first = co_await in.read_line();
    CO_ASSERT(first);
    const std::string_view v = *first;  // a view into the receive buffer the reader holds
    EXPECT_EQ(in.bytes_copied(), 0u);
    const auto held = kio::net::recv_buffer_stats();
    EXPECT_EQ(held.available + 1, held.buffers) << "the reader should hold exactly one buffer";
    // Heavy traffic on another connection recycles every free buffer of the ring meanwhile.
    auto other = co_await nettest::connected_pair();
    CO_ASSERT(other);
    auto data = nettest::pattern(100'000, 3);
    auto sender = [](TcpStream& c, std::vector<std::byte>& d) -> Task<void> {
      EXPECT_TRUE(co_await c.send_all(d));
    };
    kio::spawn(sender(other->client, data));
    std::vector<std::byte> got(data.size());
    CO_ASSERT(co_await nettest::recv_exact_leased(other->server, got));
    EXPECT_TRUE(got == data);
    EXPECT_EQ(v, "first line");  // untouched: its buffer was not handed back to the ring
    // A straddling record is returned from the carry buffer, equally stable until the next call.
    CO_ASSERT(co_await c.send_all(std::string(100, 'w') + "\n"));
    auto second = co_await in.read_line();
    CO_ASSERT(second);
    EXPECT_EQ(*second, "second" + std::string(100, 'w'));
    EXPECT_GT(in.bytes_copied(), 0u);
    // Once everything is consumed, the next call gives the buffer back.
    CO_ASSERT(co_await c.send_all(std::string_view("x\n")));
    auto third = co_await in.read_line();
    CO_ASSERT(third);
    EXPECT_EQ(*third, "x");
    CO_ASSERT(c.shutdown_write());
    auto end = co_await in.read_line();
    CO_ASSERT(!end);
    auto st = kio::net::recv_buffer_stats();
    EXPECT_EQ(st.available, st.buffers) << "the reader kept a buffer it no longer needs";
  });
}

TEST(BufferedReader, ReceiveErrorsComeThroughAndKeepTheBufferedBytes) {
  SmallBuffers env(16 * 1024);
  env.run([](TcpStream& c, TcpStream& s) -> Task<void> {
    CO_ASSERT(co_await c.send_all(std::string_view("half a li")));
    BufferedReader in(s);
    auto waiting = co_await kio::timeout(50ms, in.read_line());  // takes the bytes, waits
    CO_ASSERT(!waiting);
    EXPECT_EQ(in.buffered(), "half a li");
    linger lg{1, 0};  // SO_LINGER 0 + close: the peer resets the connection
    CO_ASSERT(::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    c = TcpStream();
    auto r = co_await kio::timeout(5s, in.read_line());
    CO_ASSERT(!r);
    EXPECT_EQ(r.error(), std::errc::connection_reset) << r.error().message();
    EXPECT_EQ(in.buffered(), "half a li");
  });
}

}  // namespace
