// epoll_echo — the baseline for tools/bench-echo: a plain epoll echo server, one thread per CPU
// of the affinity mask (or --threads N), each with its own SO_REUSEPORT listener and epoll loop
// (the same shape as kio's per-core listeners). Level-triggered, non-blocking sockets,
// TCP_NODELAY, a 64 KiB read buffer per thread; unsent bytes are kept per connection and flushed
// on EPOLLOUT.
//
//   epoll_echo [--port 9000] [--threads N]
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

int listen_on(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 4096) != 0) {
    std::perror("epoll_echo: bind/listen");
    std::exit(1);
  }
  return fd;
}

struct Conn {
  std::string pending;  // bytes read but not yet written back
};

void serve(int port, int cpu) {
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  const int lfd = listen_on(port);
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::unordered_map<int, Conn> conns;
  std::vector<char> buf(64 * 1024);
  epoll_event events[256];
  auto drop = [&](int fd) {
    ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    conns.erase(fd);
  };
  for (;;) {
    const int n = ::epoll_wait(ep, events, 256, -1);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          const int c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          conns.emplace(c, Conn{});
        }
        continue;
      }
      Conn& c = conns[fd];
      if (events[i].events & EPOLLOUT) {
        const ssize_t w = ::send(fd, c.pending.data(), c.pending.size(), MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN) {
          drop(fd);
          continue;
        }
        if (w > 0) c.pending.erase(0, static_cast<std::size_t>(w));
        if (c.pending.empty()) {
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = fd;
          ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
        }
        continue;
      }
      if (!c.pending.empty()) continue;  // wait for EPOLLOUT before reading more
      const ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
      if (r == 0 || (r < 0 && errno != EAGAIN)) {
        drop(fd);
        continue;
      }
      if (r < 0) continue;
      ssize_t w = ::send(fd, buf.data(), static_cast<std::size_t>(r), MSG_NOSIGNAL);
      if (w < 0) {
        if (errno != EAGAIN) {
          drop(fd);
          continue;
        }
        w = 0;
      }
      if (w < r) {
        c.pending.assign(buf.data() + w, static_cast<std::size_t>(r - w));
        epoll_event cev{};
        cev.events = EPOLLOUT;
        cev.data.fd = fd;
        ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int port = 9000, threads = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--port" && i + 1 < argc)
      port = std::atoi(argv[++i]);
    else if (a == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else {
      std::fputs("usage: epoll_echo [--port N] [--threads N]\n", stderr);
      return 2;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  if (threads <= 0) threads = static_cast<int>(cpus.size());
  std::fprintf(stderr, "epoll_echo: port %d, %d thread(s)\n", port, threads);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back(serve, port, cpus[static_cast<std::size_t>(t) % cpus.size()]);
  for (auto& t : ts)
    t.join();
}
