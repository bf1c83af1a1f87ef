// pong — the Ichor "ping" workload: POST /ping with {"sequence": N} gets the same JSON back.
//
//   pong [--port 8080] [--workers N]
//   curl -d '{"sequence": 1}' http://localhost:8080/ping     ->  {"sequence":1}
//
// The body is parsed and re-serialised with nlohmann-json (a real JSON round trip, as in the
// original benchmark); malformed JSON or a missing/non-integer "sequence" gets 400.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

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
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view a = argv[i];
    if (a == "--port")
      port = static_cast<unsigned>(std::atoi(argv[i + 1]));
    else if (a == "--workers")
      workers = static_cast<unsigned>(std::atoi(argv[i + 1]));
  }
  http::Router router;
  router.post("/ping", ping);
  http::ServerOptions options;
  options.address = kio::net::Address::any_v4(static_cast<std::uint16_t>(port));
  http::Server server(std::move(router), options);

  kio::RuntimeOptions ro;
  ro.workers = workers;
  ro.stop_on_signals = true;
  kio::Runtime rt(ro);
  std::printf("pong: POST http://0.0.0.0:%u/ping on %u workers\n", port, rt.workers());
  std::fflush(stdout);
  kio::Result<void> r = rt.block_on(server.run());
  if (!r) std::fprintf(stderr, "pong: %s\n", r.error().message().c_str());
  return r ? 0 : 1;
}
