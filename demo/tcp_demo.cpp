// tcp_demo — the HTTP hello-world server that tools/demo drives with wrk.
//
//   tcp_demo [--port 8080] [--workers N] [--sqpoll] [--echo] [--static DIR [--splice]]
//            [--header-timeout MS] [--idle-timeout MS]
//
//   GET <any path>          -> 200 "Hello, World!" (text/plain)
//   <any method> /echo      -> 200 with the request body (chunked uploads arrive decoded)
//   --echo: every method on every path echoes.
//   --static DIR: GET/HEAD <path> serve the files under DIR (ranges, 304s, index.html), sent
//   with sendfile, or with --splice through a pipe on the ring.
//   --header-timeout / --idle-timeout: ServerOptions' slowloris guard and keep-alive idle time.
// Runs one listener per core; Ctrl-C stops it.
#include <chrono>
#include <cstdio>
#include <exception>
#include <system_error>

#include "flags.hpp"
#include "kio/core/error.hpp"
#include "kio/core/runtime.hpp"
#include "kio/http/http.hpp"

namespace http = kio::http;

namespace {

http::Response echo(http::Request& req) {
  return http::Response().body_view(req.body);  // the request's bytes, sent without a copy
}

}  // namespace

int main(int argc, char** argv) {
  unsigned port = 8080, workers = 0;
  bool sqpoll = false, echo_everything = false, splice = false;
  const char* static_dir = nullptr;
  unsigned header_timeout_ms = 0, idle_timeout_ms = 0;  // 0: the ServerOptions defaults
  demo::Flags("tcp_demo",
              "[--port N] [--workers N] [--sqpoll] [--echo] [--static DIR [--splice]] "
              "[--header-timeout MS] [--idle-timeout MS]")
      .number("--port", port, 1, 65535)
      .number("--workers", workers, 0, 1024)  // 0: one per CPU
      .flag("--sqpoll", sqpoll)
      .flag("--echo", echo_everything)
      .text("--static", static_dir)
      .flag("--splice", splice)
      .number("--header-timeout", header_timeout_ms, 0, 3'600'000)
      .number("--idle-timeout", idle_timeout_ms, 0, 3'600'000)
      .parse(argc, argv);

  http::Router router;
  if (echo_everything) {
    router.any("/*path", echo);
  } else if (static_dir) {
    try {
      router.static_dir("/", static_dir);
    } catch (const std::exception& e) {  // a directory that cannot be opened
      std::fprintf(stderr, "tcp_demo: %s\n", e.what());
      return 1;
    }
  } else {
    // A fixed response: its head is serialised once, here, and copied with the Date per request.
    const http::Response hello = http::Response::text("Hello, World!");
    router.get("/", hello);
    router.any("/echo", echo);
    router.get("/*path", hello);
  }
  http::ServerOptions options;
  if (header_timeout_ms != 0) options.header_timeout = std::chrono::milliseconds(header_timeout_ms);
  if (idle_timeout_ms != 0) options.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
  options.address = kio::net::Address::any_v4(static_cast<std::uint16_t>(port));
  if (splice) options.file_send = http::FileSend::splice;
  http::Server server(std::move(router), options);

  kio::RuntimeOptions ro;
  ro.workers = workers;
  ro.ring_mode = sqpoll ? kio::RingMode::sqpoll : kio::RingMode::defer_taskrun;
  ro.stop_on_signals = true;
  try {
    kio::Runtime rt(ro);
    std::printf("tcp_demo: http://0.0.0.0:%u/ on %u workers%s\n", port, rt.workers(),
                sqpoll ? " (SQPOLL)" : "");
    std::fflush(stdout);
    kio::Result<void> r = rt.block_on(server.run());
    if (!r) {
      std::fprintf(stderr, "tcp_demo: %s\n", r.error().message().c_str());
      if (r.error() == std::errc::address_in_use)
        std::fprintf(stderr,
                     "tcp_demo: port %u is taken (another server listens on it); stop it or "
                     "pick another port with --port\n",
                     port);
      return 1;
    }
  } catch (const kio::SetupError& e) {  // e.g. more workers than CPUs: what() says what to change
    std::fprintf(stderr, "tcp_demo: %s\n", e.what());
    return 1;
  }
  return 0;
}
