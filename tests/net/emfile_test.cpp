// Description: out of file descriptors on accept: a server limited to RLIMIT_NOFILE 128 (a
// separate process, so the limit stays there) gets 300 concurrent clients; it logs EMFILE once,
// backs off, keeps running, and serves every client as descriptors free up.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "net_util.hpp"

using namespace std::chrono_literals;
using kio::Task;
using kio::net::Address;
using kio::net::TcpStream;

namespace {

struct Child {
  pid_t pid = -1;
  int out = -1;  // its stdout
  int err = -1;  // its stderr
};

Child spawn_server(const char* path, const char* limit) {
  int out[2], err[2];
  if (::pipe(out) != 0 || ::pipe(err) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::close(out[0]);
    ::close(err[0]);
    ::execl(path, path, limit, static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  return {pid, out[0], err[0]};
}

std::string read_all(int fd) {
  std::string s;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    s.append(buf, static_cast<std::size_t>(n));
  return s;
}

/// One client: connect, send a message, expect its echo, close.
Task<bool> client(Address addr, int id) {
  auto s = co_await kio::timeout(30s, TcpStream::connect(addr));
  if (!s) co_return false;
  const std::string msg = "client " + std::to_string(id) + " says hello";
  if (!co_await s->send_all(msg)) co_return false;
  std::string got;
  while (got.size() < msg.size()) {
    auto b = co_await kio::timeout(30s, s->recv());
    if (!b || b->empty()) co_return false;
    got += b->view();
  }
  co_return got == msg;
}

TEST(Emfile, ServerWithFewDescriptorsKeepsServing) {
  const char* path = std::getenv("KIO_EMFILE_SERVER");
  ASSERT_NE(path, nullptr) << "KIO_EMFILE_SERVER is not set (run through meson test)";
  Child c = spawn_server(path, "128");
  ASSERT_GT(c.pid, 0);
  // "port N\n"
  std::string line;
  char ch;
  while (::read(c.out, &ch, 1) == 1 && ch != '\n')
    line += ch;
  ASSERT_EQ(line.rfind("port ", 0), 0u) << "server said: " << line;
  const auto port = static_cast<std::uint16_t>(std::stoi(line.substr(5)));

  int ok = 0;
  {
    kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
    auto body = [](std::uint16_t port, int& ok) -> Task<void> {
      const Address addr = Address::loopback_v4(port);
      kio::net::detail::TaskGroup group;
      auto one = [](Address addr, int i, int& ok, kio::net::detail::TaskGroup& g) -> Task<void> {
        if (co_await client(addr, i)) ++ok;
        g.done();
      };
      for (int i = 0; i < 300; ++i) {
        ++group.active;
        kio::spawn(one(addr, i, ok, group));
      }
      co_await group.wait();
      // Still up afterwards.
      EXPECT_TRUE(co_await client(addr, 1000));
    };
    rt.block_on(body(port, ok));
  }
  EXPECT_EQ(ok, 300);

  ::kill(c.pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(c.pid, &status, 0), c.pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  const std::string err = read_all(c.err);
  std::size_t logs = 0;
  for (std::size_t at = 0; (at = err.find("accept failed", at)) != std::string::npos; ++at)
    ++logs;
  EXPECT_EQ(logs, 1u) << "server stderr:\n" << err;
  EXPECT_NE(err.find("EMFILE"), std::string::npos) << err;
  ::close(c.out);
  ::close(c.err);
}

}  // namespace
