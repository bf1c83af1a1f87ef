// direct_fd — do registered (direct) file descriptors make socket I/O cheaper on this machine?
//
//   direct_fd [--pairs 64] [--seconds 2] [--rounds 5] [--size 64] [--cpu 0]
//
// One thread and one io_uring (SINGLE_ISSUER | DEFER_TASKRUN, as kio's workers) drive `pairs`
// loopback TCP connections in ping-pong: side A sends `size` bytes, side B receives and sends
// them back, A receives; repeat. Mode "normal" uses plain fds; mode "direct" registers every
// socket in the ring's file table and sets IOSQE_FIXED_FILE on every SQE, which saves the
// per-operation file reference (fget/fput). Rounds alternate the modes; the medians of round
// trips per second and CPU time per round trip (this thread, user + system) are printed. Every
// run uses fresh connections.
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace {

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

struct Pair {
  int fd[2];  // 0: A (initiator), 1: B (echoer)
  std::vector<char> buf[2];
};

// user_data: pair index << 3 | side << 2 | op (0 send, 1 recv)
std::uint64_t tag(std::size_t pair, int side, int op) {
  return (static_cast<std::uint64_t>(pair) << 3) | (static_cast<std::uint64_t>(side) << 2) |
         static_cast<std::uint64_t>(op);
}

struct Result {
  double rtt_per_s;
  double cpu_us_per_rtt;
};

Result run(std::vector<Pair>& pairs, bool direct, double seconds, std::size_t size) {
  io_uring ring;
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  if (int r = io_uring_queue_init_params(1024, &ring, &p); r < 0) {
    errno = -r;
    die("io_uring_queue_init_params");
  }
  std::vector<int> table;
  if (direct) {
    for (auto& pr : pairs) {
      table.push_back(pr.fd[0]);
      table.push_back(pr.fd[1]);
    }
    if (int r = io_uring_register_files(&ring, table.data(), static_cast<unsigned>(table.size()));
        r < 0) {
      errno = -r;
      die("io_uring_register_files");
    }
  }
  auto target = [&](std::size_t i, int side) {
    return direct ? static_cast<int>(2 * i + static_cast<std::size_t>(side)) : pairs[i].fd[side];
  };
  auto prep = [&](std::size_t i, int side, int op) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    if (!sqe) {
      io_uring_submit(&ring);
      sqe = io_uring_get_sqe(&ring);
    }
    char* b = pairs[i].buf[side].data();
    if (op == 0)
      io_uring_prep_send(sqe, target(i, side), b, size, MSG_NOSIGNAL | MSG_WAITALL);
    else
      io_uring_prep_recv(sqe, target(i, side), b, size, MSG_WAITALL);
    if (direct) sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, tag(i, side, op));
  };
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    prep(i, 1, 1);  // B waits for a message
    prep(i, 0, 0);  // A sends
  }
  unsigned long rtts = 0;
  const double t0 = now_s(), c0 = thread_cpu_s();
  while (now_s() - t0 < seconds) {
    io_uring_submit_and_wait(&ring, 1);
    io_uring_cqe* cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++n;
      if (cqe->res != static_cast<int>(size)) {
        std::fprintf(stderr, "unexpected result %d\n", cqe->res);
        std::exit(1);
      }
      const std::uint64_t u = cqe->user_data;
      const std::size_t i = u >> 3;
      const int side = static_cast<int>((u >> 2) & 1), op = static_cast<int>(u & 3);
      if (side == 0 && op == 0)
        prep(i, 0, 1);  // A sent: wait for the echo
      else if (side == 1 && op == 1)
        prep(i, 1, 0);  // B received: echo it
      else if (side == 1 && op == 0)
        prep(i, 1, 1);  // B echoed: wait for the next
      else {            // A got the echo: next round trip
        ++rtts;
        prep(i, 0, 0);
      }
    }
    io_uring_cq_advance(&ring, n);
  }
  const double dt = now_s() - t0, dc = thread_cpu_s() - c0;
  // Operations still pending are cancelled when the ring goes away; the connections are not
  // reused (a cancelled receive may have consumed part of a message).
  io_uring_queue_exit(&ring);
  return {static_cast<double>(rtts) / dt, dc * 1e6 / static_cast<double>(rtts)};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::vector<Pair> make_pairs(std::size_t n, std::size_t size) {
  const int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (::bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(l, 4096) != 0 ||
      ::getsockname(l, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
    die("listen");
  std::vector<Pair> pairs(n);
  for (auto& pr : pairs) {
    pr.fd[0] = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(pr.fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(pr.fd[0], reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("connect");
    pr.fd[1] = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    ::setsockopt(pr.fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pr.buf[0].assign(size, 'a');
    pr.buf[1].assign(size, 'b');
  }
  ::close(l);
  return pairs;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t pairs_n = 64, size = 64;
  double seconds = 2;
  int rounds = 5, cpu = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--pairs" && i + 1 < argc)
      pairs_n = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--seconds" && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else if (a == "--rounds" && i + 1 < argc)
      rounds = std::atoi(argv[++i]);
    else if (a == "--size" && i + 1 < argc)
      size = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--cpu" && i + 1 < argc)
      cpu = std::atoi(argv[++i]);
    else {
      std::fputs("usage: direct_fd [--pairs N] [--seconds S] [--rounds R] [--size B] [--cpu C]\n",
                 stderr);
      return 2;
    }
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
  std::vector<double> nr, nc, dr, dc;
  for (int r = 0; r < rounds; ++r) {
    for (int k = 0; k < 2; ++k) {
      const bool direct = (r + k) % 2 == 1;
      auto pairs = make_pairs(pairs_n, size);  // fresh connections for every run
      Result res = run(pairs, direct, seconds, size);
      for (auto& pr : pairs) {
        ::close(pr.fd[0]);
        ::close(pr.fd[1]);
      }
      (direct ? dr : nr).push_back(res.rtt_per_s);
      (direct ? dc : nc).push_back(res.cpu_us_per_rtt);
    }
  }
  std::printf("%zu pairs, %zu B, %d rounds x %.1f s (medians)\n", pairs_n, size, rounds, seconds);
  std::printf("normal fds : %10.0f round trips/s  %6.3f us CPU per round trip\n", median(nr),
              median(nc));
  std::printf("direct fds : %10.0f round trips/s  %6.3f us CPU per round trip\n", median(dr),
              median(dc));
  std::printf("direct/normal: throughput %.3f, CPU per round trip %.3f\n", median(dr) / median(nr),
              median(dc) / median(nc));
}
