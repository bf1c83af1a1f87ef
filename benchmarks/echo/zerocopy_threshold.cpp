// zerocopy_threshold — when does IORING_OP_SEND_ZC beat a copying send on this machine?
//
//   zerocopy_threshold [--mib N] [--rounds R] [--sender-cpu A] [--receiver-cpu B]
//
// A kio worker (pinned to CPU A) sends N MiB over a loopback TCP connection in messages of each
// size from 1 KiB to 16 MiB, once with send_all's copying send (IORING_OP_SEND + MSG_WAITALL) and
// once with SendZcOp (IORING_OP_SEND_ZC, waiting for the notification). A plain blocking reader
// thread pinned to CPU B drains the socket. Rounds alternate copy/zero-copy; medians are printed:
// throughput (GB/s), sender thread CPU ns per KiB, and whether the kernel reported copying the
// zero-copy data (IORING_NOTIF_USAGE_ZC_COPIED) — which it always does for loopback peers.
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>
#include <vector>

#include "kio/core/core.hpp"
#include "kio/net/net.hpp"

namespace {

struct Options {
  std::size_t mib = 256;
  int rounds = 5;
  int sender_cpu = 0;
  int receiver_cpu = 1;
};

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

struct Sample {
  double gbps = 0;
  double cpu_ns_per_kib = 0;
  bool copied = false;
};

/// Sends `total` bytes in messages of `size` bytes; returns throughput and sender CPU.
kio::Task<Sample> run_one(kio::net::TcpStream& s, std::vector<std::byte>& buf, std::size_t size,
                          std::size_t total, bool zc) {
  Sample out;
  const double cpu0 = thread_cpu_ns();
  const double t0 = now_ns();
  std::size_t sent = 0;
  while (sent < total) {
    auto chunk = std::span<const std::byte>(buf.data(), size);
    if (zc) {
      kio::net::SendZcOp op(s.fd(), chunk);
      auto r = co_await op;
      if (!r || *r != size) std::abort();
      out.copied = out.copied || op.copied();
    } else {
      if (!co_await s.send_all(chunk)) std::abort();
    }
    sent += size;
  }
  const double t1 = now_ns();
  out.gbps = static_cast<double>(sent) / (t1 - t0);
  out.cpu_ns_per_kib = (thread_cpu_ns() - cpu0) / (static_cast<double>(sent) / 1024.0);
  co_return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

kio::Task<void> bench(Options o, std::uint16_t port) {
  auto s = co_await kio::net::TcpStream::connect(kio::net::Address::loopback_v4(port));
  if (!s) std::abort();
  std::vector<std::byte> buf(16u << 20, std::byte{0x5a});
  std::printf("%10s %12s %12s %14s %14s %8s %s\n", "size", "copy GB/s", "zc GB/s", "copy ns/KiB",
              "zc ns/KiB", "zc/copy", "zc copied by kernel");
  for (std::size_t size = 1024; size <= (16u << 20); size *= 4) {
    const std::size_t total = std::max(o.mib << 20, size * 8);
    std::vector<double> cg, zg, cc, zcpu;
    bool copied = false;
    for (int r = 0; r < o.rounds; ++r) {
      Sample a = co_await run_one(*s, buf, size, total, false);
      Sample b = co_await run_one(*s, buf, size, total, true);
      cg.push_back(a.gbps);
      zg.push_back(b.gbps);
      cc.push_back(a.cpu_ns_per_kib);
      zcpu.push_back(b.cpu_ns_per_kib);
      copied = copied || b.copied;
    }
    std::printf("%10zu %12.2f %12.2f %14.1f %14.1f %8.2f %s\n", size, median(cg), median(zg),
                median(cc), median(zcpu), median(zcpu) / median(cc), copied ? "yes" : "no");
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--mib" && i + 1 < argc)
      o.mib = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--rounds" && i + 1 < argc)
      o.rounds = std::atoi(argv[++i]);
    else if (a == "--sender-cpu" && i + 1 < argc)
      o.sender_cpu = std::atoi(argv[++i]);
    else if (a == "--receiver-cpu" && i + 1 < argc)
      o.receiver_cpu = std::atoi(argv[++i]);
    else {
      std::fputs(
          "usage: zerocopy_threshold [--mib N] [--rounds R] [--sender-cpu A] "
          "[--receiver-cpu B]\n",
          stderr);
      return 2;
    }
  }
  // Receiver: a blocking socket on its own CPU that reads and discards everything.
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(lfd, 4) != 0 ||
      ::getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    std::perror("listen");
    return 1;
  }
  std::thread reader([&] {
    pin(o.receiver_cpu);
    int c = ::accept(lfd, nullptr, nullptr);
    std::vector<char> buf(1 << 20);
    while (::recv(c, buf.data(), buf.size(), 0) > 0) {
    }
    ::close(c);
  });
  {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(o.sender_cpu, &set);
    sched_setaffinity(0, sizeof set, &set);  // the runtime pins its worker inside this mask
    kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
    rt.block_on(bench(o, ntohs(sa.sin_port)));
  }
  reader.join();
  ::close(lfd);
}
