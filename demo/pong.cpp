// pong — the Ichor "ping" workload: POST /ping with {"sequence": N} gets the same JSON back.
//
//   pong [--port 8080] [--workers N]
//   curl -d '{"sequence": 1}' http://localhost:8080/ping     ->  {"sequence":1}
//
// The body is parsed and re-serialised with nlohmann-json (a real JSON round trip, as in the
// original benchmark); malformed JSON or a missing/non-integer "sequence" gets 400.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "flags.hpp"
#include "kio/core/error.hpp"
#include "kio/core/runtime.hpp"
#include "kio/http/http.hpp"

namespace http = kio::http;

namespace {

http::Response ping(http::Request& req) {
  nlohmann::json in = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (in.is_discarded() || !in.is_object() || !in.contains("sequence") ||
      !in["sequence"].is_number_integer())
    return http::Response::text("expected {\"sequence\": <integer>}\n", http::Status::bad_request);
  nlohmann::json out = {{"sequence", in["sequence"].get<std::int64_t>()}};
  return http::Response::json_body(out.dump());
}

}  // namespace

int main(int argc, char** argv) {
  unsigned port = 8080, workers = 0;
  demo::Flags("pong", "[--port N] [--workers N]")
      .number("--port", port, 1, 65535)
      .number("--workers", workers, 0, 1024)  // 0: one per CPU
      .parse(argc, argv);

  http::Router router;
  router.post("/ping", ping);
  http::ServerOptions options;
  options.address = kio::net::Address::any_v4(static_cast<std::uint16_t>(port));
  http::Server server(std::move(router), options);

  kio::RuntimeOptions ro;
  ro.workers = workers;
  ro.stop_on_signals = true;
  try {
    kio::Runtime rt(ro);
    std::printf("pong: POST http://0.0.0.0:%u/ping on %u workers\n", port, rt.workers());
    std::fflush(stdout);
    kio::Result<void> r = rt.block_on(server.run());
    if (!r) std::fprintf(stderr, "pong: %s\n", r.error().message().c_str());
    return r ? 0 : 1;
  } catch (const kio::SetupError& e) {  // e.g. more workers than CPUs: what() says what to change
    std::fprintf(stderr, "pong: %s\n", e.what());
    return 1;
  }
}
