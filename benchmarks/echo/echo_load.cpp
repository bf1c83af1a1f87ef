// echo_load — closed-loop echo load generator for tools/bench-echo.
//
//   echo_load --port P [--host 127.0.0.1] [--connections 50] [--size 64] [--seconds 5]
//             [--warmup 1] [--threads 1]
//
// Each connection sends one message of --size bytes, waits until the whole echo arrived (and
// compares it byte for byte), then sends the next: one message in flight per connection. Threads
// split the connections and run an epoll loop each. Prints one line:
//   messages=N seconds=S msgs_per_sec=R errors=E
// counting only messages completed after the warm-up; "counting" and "stopped" lines mark the
// measured window (tools/bench-echo samples the server's CPU time there).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 9000;
  int connections = 50;
  std::size_t size = 64;
  double seconds = 5;
  double warmup = 1;
  int threads = 1;
};

std::atomic<bool> counting{false};
std::atomic<bool> stopping{false};
std::atomic<unsigned long> messages{0};
std::atomic<unsigned long> errors{0};

struct Conn {
  int fd = -1;
  std::size_t sent = 0;      // bytes of the current message written
  std::size_t received = 0;  // bytes of its echo read
  std::uint32_t seq = 0;
};

void fill(std::vector<char>& msg, std::uint32_t seq) {
  std::memcpy(msg.data(), &seq, std::min(sizeof seq, msg.size()));
}

void run(const Options& o, int nconn) {
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> conns(static_cast<std::size_t>(nconn));
  std::vector<char> msg(o.size, 'x');
  std::vector<char> in(o.size < 65536 ? 65536 : o.size);
  for (std::size_t i = 0; i < conns.size(); ++i) {
    Conn& c = conns[i];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(o.port));
    ::inet_pton(AF_INET, o.host.c_str(), &sa.sin_addr);
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      std::perror("echo_load: connect");
      std::exit(1);
    }
    ::fcntl(c.fd, F_SETFL, O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  }
  epoll_event events[512];
  while (!stopping.load(std::memory_order_relaxed)) {
    const int n = ::epoll_wait(ep, events, 512, 100);
    for (int k = 0; k < n; ++k) {
      Conn& c = conns[events[k].data.u64];
      if (c.sent < o.size && (events[k].events & EPOLLOUT)) {
        fill(msg, c.seq);
        const ssize_t w = ::send(c.fd, msg.data() + c.sent, o.size - c.sent, MSG_NOSIGNAL);
        if (w > 0) c.sent += static_cast<std::size_t>(w);
        if (c.sent == o.size) {
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.u64 = events[k].data.u64;
          ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
        }
      }
      if (events[k].events & EPOLLIN) {
        for (;;) {
          const ssize_t r = ::recv(c.fd, in.data(), std::min(in.size(), o.size - c.received), 0);
          if (r <= 0) {
            if (r == 0 || errno != EAGAIN) errors++;
            break;
          }
          // Verify: the message is 'x' bytes with the sequence number in front.
          fill(msg, c.seq);
          if (std::memcmp(in.data(), msg.data() + c.received, static_cast<std::size_t>(r)) != 0)
            errors++;
          c.received += static_cast<std::size_t>(r);
          if (c.received == o.size) {
            if (counting.load(std::memory_order_relaxed))
              messages.fetch_add(1, std::memory_order_relaxed);
            c.received = c.sent = 0;
            ++c.seq;
            fill(msg, c.seq);
            const ssize_t w = ::send(c.fd, msg.data(), o.size, MSG_NOSIGNAL);
            if (w > 0) c.sent = static_cast<std::size_t>(w);
            if (c.sent < o.size) {
              epoll_event ev{};
              ev.events = EPOLLIN | EPOLLOUT;
              ev.data.u64 = events[k].data.u64;
              ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
            }
            break;
          }
        }
      }
    }
  }
  for (Conn& c : conns)
    ::close(c.fd);
  ::close(ep);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto next = [&] { return i + 1 < argc ? argv[++i] : (std::exit(2), argv[0]); };
    if (a == "--host")
      o.host = next();
    else if (a == "--port")
      o.port = std::atoi(next());
    else if (a == "--connections")
      o.connections = std::atoi(next());
    else if (a == "--size")
      o.size = std::strtoul(next(), nullptr, 10);
    else if (a == "--seconds")
      o.seconds = std::atof(next());
    else if (a == "--warmup")
      o.warmup = std::atof(next());
    else if (a == "--threads")
      o.threads = std::atoi(next());
    else {
      std::fputs(
          "usage: echo_load --port P [--host H] [--connections N] [--size B] "
          "[--seconds S] [--warmup S] [--threads T]\n",
          stderr);
      return 2;
    }
  }
  if (o.size < 4) o.size = 4;
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::thread> ts;
  for (int t = 0; t < o.threads; ++t) {
    const int n = o.connections / o.threads + (t < o.connections % o.threads ? 1 : 0);
    ts.emplace_back(run, std::cref(o), n);
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  counting = true;
  std::puts("counting");  // the driver samples the server's CPU time at these two lines
  std::fflush(stdout);
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  counting = false;
  std::puts("stopped");
  std::fflush(stdout);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const unsigned long m = messages.load();
  stopping = true;
  for (auto& t : ts)
    t.join();
  std::printf("messages=%lu seconds=%.3f msgs_per_sec=%.0f errors=%lu\n", m, secs,
              static_cast<double>(m) / secs, errors.load());
  return errors.load() ? 1 : 0;
}
