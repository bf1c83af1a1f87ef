// Description: TcpServer/serve with one listener per core: both cores accept, 1,000 concurrent
// clients x 100 messages with every byte verified, stop() cancels handlers and serve() returns
// after they finished, a throwing handler does not stop the server, bind errors come back at once,
// a port held by another server or process is address_in_use unless sharing is asked for.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <vector>

#include "foreign_listener.hpp"
#include "net_util.hpp"

using namespace std::chrono_literals;
using kio::Result;
using kio::Task;
using kio::net::Address;
using kio::net::TcpServer;
using kio::net::TcpStream;

namespace {

struct Stats {
  std::atomic<unsigned> accepted_on[2] = {0, 0};
  std::atomic<unsigned> running{0};
  std::atomic<unsigned> finished{0};
};

/// Client `id`: sends `messages` messages of varying size, each echoed before the next.
Task<bool> client(Address addr, unsigned id, int messages) {
  auto s = co_await TcpStream::connect(addr);
  if (!s) {
    ADD_FAILURE() << "connect " << id << ": " << s.error().message();
    co_return false;
  }
  std::vector<std::byte> back;
  for (int m = 0; m < messages; ++m) {
    auto msg = nettest::pattern(16 + (id * 131 + static_cast<unsigned>(m) * 17) % 300,
                                id * 1000 + static_cast<unsigned>(m));
    if (!co_await s->send_all(msg)) co_return false;
    back.resize(msg.size());
    auto r = co_await nettest::recv_exact(*s, back);
    if (!r || back != msg) {
      ADD_FAILURE() << "client " << id << " message " << m << ": "
                    << (r ? "bytes differ" : r.error().message());
      co_return false;
    }
  }
  co_return true;
}

/// Runs `n` clients concurrently on the calling core; returns how many succeeded.
Task<unsigned> clients_on_this_core(Address addr, unsigned first_id, unsigned n, int messages) {
  kio::net::detail::TaskGroup group;
  unsigned ok = 0;
  auto one = [](Address addr, unsigned id, int messages, unsigned& ok,
                kio::net::detail::TaskGroup& g) -> Task<void> {
    if (co_await client(addr, id, messages)) ++ok;
    g.done();
  };
  for (unsigned i = 0; i < n; ++i) {
    ++group.active;
    kio::spawn(one(addr, first_id + i, messages, ok, group));
  }
  co_await group.wait();
  co_return ok;
}

TEST(TcpServer, ThousandClientsOnTwoCoresAllBytesVerified) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2});
  Stats stats;
  auto body = [](Stats& st) -> Task<void> {
    auto server = TcpServer::bind(Address::loopback_v4(0), {.backlog = 2048});
    CO_ASSERT(server, server.error().message());
    EXPECT_EQ(server->cores(), 2u);
    const Address addr = server->local_address();
    EXPECT_NE(addr.port(), 0);
    auto handler = [&st](TcpStream s) -> Task<void> {
      st.accepted_on[kio::this_core()]++;
      st.running++;
      co_await nettest::echo(std::move(s));
      st.running--;
      st.finished++;
    };
    Result<void> served = std::errc::io_error;
    bool serve_done = false;
    auto run = [](TcpServer& srv, decltype(handler) h, Result<void>& out,
                  bool& done) -> Task<void> {
      out = co_await srv.serve(h);
      done = true;
    };
    kio::spawn(run(*server, handler, served, serve_done));

    // 500 clients on each core, all at once.
    unsigned ok_remote = 0;
    bool remote_done = false;
    auto remote = [](Address addr, unsigned& ok, bool& done) -> Task<void> {
      ok = co_await kio::submit_to(1, [addr] { return clients_on_this_core(addr, 500, 500, 100); });
      done = true;
    };
    kio::spawn(remote(addr, ok_remote, remote_done));
    const unsigned ok_local = co_await clients_on_this_core(addr, 0, 500, 100);
    while (!remote_done)
      co_await kio::sleep_for(1ms);
    EXPECT_EQ(ok_local + ok_remote, 1000u);
    EXPECT_GT(st.accepted_on[0].load(), 0u) << "core 0 accepted nothing";
    EXPECT_GT(st.accepted_on[1].load(), 0u) << "core 1 accepted nothing";
    EXPECT_EQ(st.accepted_on[0].load() + st.accepted_on[1].load(), 1000u);

    server->stop();
    while (!serve_done)
      co_await kio::sleep_for(1ms);
    EXPECT_TRUE(served) << served.error().message();
    EXPECT_EQ(st.running.load(), 0u);  // serve() returned after every handler ended
    EXPECT_EQ(st.finished.load(), 1000u);
  };
  rt.block_on(body(stats));
}

TEST(TcpServer, StopCancelsIdleConnections) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2});
  auto body = []() -> Task<void> {
    auto server = TcpServer::bind(Address::loopback_v4(0));
    CO_ASSERT(server);
    std::atomic<unsigned> canceled{0};
    auto handler = [&canceled](TcpStream s) -> Task<void> {
      auto b = co_await s.recv();  // the client never sends: only cancellation ends this
      if (!b && b.error() == std::errc::operation_canceled) canceled++;
    };
    bool done = false;
    auto run = [](TcpServer& srv, decltype(handler) h, bool& done) -> Task<void> {
      EXPECT_TRUE(co_await srv.serve(h));
      done = true;
    };
    kio::spawn(run(*server, handler, done));
    std::vector<TcpStream> idle;
    for (int i = 0; i < 20; ++i) {
      auto c = co_await TcpStream::connect(server->local_address());
      CO_ASSERT(c);
      idle.push_back(std::move(*c));
    }
    co_await kio::sleep_for(20ms);  // let both cores accept
    server->stop();
    while (!done)
      co_await kio::sleep_for(1ms);
    EXPECT_EQ(canceled.load(), 20u);
  };
  rt.block_on(body());
}

TEST(TcpServer, ThrowingHandlerDoesNotStopTheServer) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  auto body = []() -> Task<void> {
    auto server = TcpServer::bind(Address::loopback_v4(0));
    CO_ASSERT(server);
    auto handler = [](TcpStream s) -> Task<void> {
      auto b = co_await s.recv();
      if (b && b->view() == "boom") throw std::runtime_error("handler failure (expected)");
      if (b) co_await s.send_all(b->bytes());
    };
    bool done = false;
    auto run = [](TcpServer& srv, decltype(handler) h, bool& done) -> Task<void> {
      EXPECT_TRUE(co_await srv.serve(h));
      done = true;
    };
    kio::spawn(run(*server, handler, done));
    auto bad = co_await TcpStream::connect(server->local_address());
    CO_ASSERT(bad);
    CO_ASSERT(co_await bad->send_all(std::string_view("boom")));
    std::array<std::byte, 8> buf{};
    auto eof = co_await bad->recv(buf);  // the handler's stream was destroyed: EOF
    CO_ASSERT(eof);
    EXPECT_EQ(*eof, 0u);
    auto good = co_await TcpStream::connect(server->local_address());
    CO_ASSERT(good);
    CO_ASSERT(co_await good->send_all(std::string_view("fine")));
    CO_ASSERT(co_await nettest::recv_exact(*good, std::span(buf).first(4)));
    EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(buf.data()), 4), "fine");
    server->stop();
    while (!done)
      co_await kio::sleep_for(1ms);
  };
  rt.block_on(body());
}

TEST(TcpServer, BindErrorsComeBackAtOnce) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2});
  auto body = []() -> Task<void> {
    auto a = TcpServer::bind(Address::loopback_v4(0), {.reuse_port = false});
    EXPECT_FALSE(a);  // one socket per core needs SO_REUSEPORT
    auto taken = kio::net::TcpListener::bind(Address::loopback_v4(0), {.reuse_port = false});
    CO_ASSERT(taken);
    auto b = TcpServer::bind(*taken->local_address());
    CO_ASSERT(!b);
    EXPECT_EQ(b.error(), std::errc::address_in_use) << b.error().message();
    auto handler = [](TcpStream) -> Task<void> { co_return; };
    auto c = co_await kio::net::serve(*taken->local_address(), {}, handler);
    CO_ASSERT(!c);
    EXPECT_EQ(c.error(), std::errc::address_in_use);
  };
  rt.block_on(body());
}

// Issue 11, defect 4: SO_REUSEPORT let a second server join a port silently and split the
// traffic. A port held by any socket of another group is address_in_use now.
TEST(TcpServer, PortHeldByAnotherProcessIsAddressInUse) {
  for (bool foreign_reuse_port : {true, false}) {
    SCOPED_TRACE(foreign_reuse_port ? "holder has SO_REUSEPORT" : "plain holder");
    kio_test::ForeignListener holder(0, foreign_reuse_port);
    ASSERT_TRUE(holder.listening()) << std::strerror(holder.error());
    kio::Runtime rt(kio::RuntimeOptions{.workers = 2});
    auto body = [](std::uint16_t port) -> Task<void> {
      const Address addr = Address::loopback_v4(port);
      auto server = TcpServer::bind(addr);
      CO_ASSERT(!server, "a second server joined the port of another process");
      EXPECT_EQ(server.error(), std::errc::address_in_use) << server.error().message();
      auto one = TcpServer::bind(addr, {}, 1);
      CO_ASSERT(!one);
      EXPECT_EQ(one.error(), std::errc::address_in_use);
      auto listener = kio::net::TcpListener::bind(addr);
      CO_ASSERT(!listener);
      EXPECT_EQ(listener.error(), std::errc::address_in_use);
      auto handler = [](TcpStream) -> Task<void> { co_return; };
      auto served = co_await kio::net::serve(addr, {}, handler);
      CO_ASSERT(!served);
      EXPECT_EQ(served.error(), std::errc::address_in_use);
    };
    rt.block_on(body(holder.port()));
  }
}

TEST(TcpServer, SecondServerOnTheSamePortIsAddressInUse) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2});
  auto body = []() -> Task<void> {
    auto first = TcpServer::bind(Address::loopback_v4(0));
    CO_ASSERT(first, first.error().message());
    const Address addr = first->local_address();
    auto second = TcpServer::bind(addr);
    CO_ASSERT(!second, "a second server joined the first one's port");
    EXPECT_EQ(second.error(), std::errc::address_in_use) << second.error().message();
    // A more specific address of the same port (the kernel would prefer it) is taken too.
    auto wildcard = TcpServer::bind(Address::any_v4(addr.port()));
    CO_ASSERT(!wildcard);
    EXPECT_EQ(wildcard.error(), std::errc::address_in_use);
    // Another process with a plain socket finds the port taken. (One that sets SO_REUSEPORT
    // itself, as the same user, can still join: the kernel cannot refuse it while kio's own
    // listeners share the port. That process asked for sharing; see ListenOptions::share_port.)
    kio_test::ForeignListener other(addr.port(), false);
    EXPECT_FALSE(other.listening()) << "another process took kio's port";
    EXPECT_EQ(other.error(), EADDRINUSE) << std::strerror(other.error());
    // The first server still serves on both cores' listeners.
    std::atomic<unsigned> accepted{0};
    auto handler = [&accepted](TcpStream) -> Task<void> {
      accepted++;
      co_return;
    };
    bool done = false;
    auto run = [](TcpServer& srv, decltype(handler) h, bool& done) -> Task<void> {
      EXPECT_TRUE(co_await srv.serve(h));
      done = true;
    };
    kio::spawn(run(*first, handler, done));
    for (int i = 0; i < 20; ++i) {
      auto c = co_await TcpStream::connect(addr);
      CO_ASSERT(c, c.error().message());
    }
    for (int i = 0; i < 1000 && accepted.load() < 20; ++i)
      co_await kio::sleep_for(1ms);
    EXPECT_EQ(accepted.load(), 20u);
    first->stop();
    while (!done)
      co_await kio::sleep_for(1ms);
  };
  rt.block_on(body());
}

TEST(TcpServer, SharePortJoinsAnotherGroupOnPurpose) {
  kio_test::ForeignListener holder(0, true);
  ASSERT_TRUE(holder.listening()) << std::strerror(holder.error());
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2});
  auto body = [](std::uint16_t port) -> Task<void> {
    const Address addr = Address::loopback_v4(port);
    auto a = TcpServer::bind(addr, {.share_port = true});
    CO_ASSERT(a, a.error().message());
    EXPECT_EQ(a->cores(), 2u);
    auto b = TcpServer::bind(addr, {.share_port = true}, 1);  // and a second kio server
    CO_ASSERT(b, b.error().message());
    // Connections now go to any of the four sockets; kio's get some of them.
    std::atomic<unsigned> accepted{0};
    auto handler = [&accepted](TcpStream) -> Task<void> {
      accepted++;
      co_return;
    };
    bool done = false;
    auto run = [](TcpServer& srv, decltype(handler) h, bool& done) -> Task<void> {
      EXPECT_TRUE(co_await srv.serve(h));
      done = true;
    };
    kio::spawn(run(*a, handler, done));
    std::vector<TcpStream> conns;
    for (int i = 0; i < 64; ++i) {
      auto c = co_await TcpStream::connect(addr);
      CO_ASSERT(c, c.error().message());
      conns.push_back(std::move(*c));
    }
    for (int i = 0; i < 200 && accepted.load() == 0; ++i)
      co_await kio::sleep_for(1ms);
    EXPECT_GT(accepted.load(), 0u);
    EXPECT_LT(accepted.load(), 64u) << "the other sockets of the group got nothing";
    a->stop();
    while (!done)
      co_await kio::sleep_for(1ms);
  };
  rt.block_on(body(holder.port()));
}

}  // namespace
