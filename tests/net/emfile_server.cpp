// Helper for emfile_test: an echo server that runs with RLIMIT_NOFILE lowered to the number given
// as argv[1]. Prints "port N" on stdout once listening; stops on SIGTERM (exit status 0).
// Each connection: echo everything until the client closes.
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>

#include "kio/core/core.hpp"
#include "kio/net/net.hpp"

namespace {

kio::Task<void> echo(kio::net::TcpStream s) {
  for (;;) {
    auto b = co_await s.recv();
    if (!b || b->empty() || !co_await s.send_all(b->bytes())) co_return;
  }
}

kio::Task<int> serve() {
  auto l = kio::net::TcpListener::bind(kio::net::Address::loopback_v4(0), {.backlog = 1024});
  if (!l) {
    std::fprintf(stderr, "bind: %s\n", l.error().message().c_str());
    co_return 1;
  }
  std::printf("port %u\n", l->local_address()->port());
  std::fflush(stdout);
  for (;;) {
    auto s = co_await l->accept();
    if (!s) break;  // cancelled: the runtime is stopping
    kio::spawn(echo(std::move(*s)));
  }
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  rlimit rl{};
  rl.rlim_cur = rl.rlim_max = std::strtoul(argv[1], nullptr, 10);
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    std::perror("setrlimit");
    return 2;
  }
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1, .stop_on_signals = true});
  return rt.block_on(serve());
}
