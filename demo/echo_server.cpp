// echo_server — echoes every byte back, on every core.
//
//   echo_server [--port 7000] [--workers N]
//
// One listener per core (SO_REUSEPORT, multishot accept); each connection receives into buffers
// leased from the core's provided-buffer ring (multishot recv) and sends them straight back.
// Ctrl-C stops it gracefully.
#include <cstdio>
#include <system_error>

#include "flags.hpp"
#include "kio/core/core.hpp"
#include "kio/net/net.hpp"

namespace {

kio::Task<void> echo(kio::net::TcpStream stream) {
  for (;;) {
    auto buf = co_await stream.recv();  // a leased ring buffer; empty at end of stream
    if (!buf || buf->empty()) co_return;
    if (!co_await stream.send_all(buf->bytes())) co_return;
  }  // the lease goes back to the ring here
}

}  // namespace

int main(int argc, char** argv) {
  unsigned port = 7000, workers = 0;
  demo::Flags("echo_server", "[--port N] [--workers N]")
      .number("--port", port, 1, 65535)
      .number("--workers", workers, 0, 1024)  // 0: one per CPU
      .parse(argc, argv);

  try {
    kio::Runtime rt(kio::RuntimeOptions{.workers = workers, .stop_on_signals = true});
    std::fprintf(stderr, "echo_server: port %u on %u worker(s)\n", port, rt.workers());
    auto addr = kio::net::Address::any_v4(static_cast<std::uint16_t>(port));
    kio::Result<void> r = rt.block_on(kio::net::serve(addr, {}, echo));
    if (!r) {
      std::fprintf(stderr, "echo_server: %s\n", r.error().message().c_str());
      if (r.error() == std::errc::address_in_use)
        std::fprintf(stderr,
                     "echo_server: port %u is taken (another server listens on it); stop it or "
                     "pick another port with --port\n",
                     port);
      return 1;
    }
  } catch (const kio::SetupError& e) {  // e.g. more workers than CPUs: what() says what to change
    std::fprintf(stderr, "echo_server: %s\n", e.what());
    return 1;
  }
}
