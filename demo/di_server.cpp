// di_server — an HTTP server composed from kio::di services.
//
//   di_server [--port 8080] [--workers N]
//   curl localhost:8080/           -> hello from core 1 (3 requests)
//   curl localhost:8080/stats      -> {"per_core":[20,22],"requests":42}
//   curl localhost:8080/services   -> the registry's snapshot as JSON
// Config lives on core 0; each core has a Counter and a Routes service holding its core's Counter
// (Ref), the Config (Remote: calls are submit_to messages to core 0) and every core's Counter
// (PerCore). A request goes to the Routes of the core that accepted it; Ctrl-C stops.
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flags.hpp"
#include "kio/core/error.hpp"
#include "kio/core/runtime.hpp"
#include "kio/di/di.hpp"
#include "kio/http/http.hpp"

namespace di = kio::di;
namespace http = kio::http;
using nlohmann::json;

struct Config {
  std::string greeting = "hello";
};
struct Counter {
  std::uint64_t requests = 0;
};
struct Routes {
  di::Ref<Counter> here;      // this core's Counter
  di::Remote<Config> config;  // on core 0
  di::PerCore<Counter> all;   // every core's Counter

  kio::Task<http::Response> hello() {
    const std::string n = std::to_string(++here->requests);
    auto greeting = co_await config.call([](Config& c) { return c.greeting; });  // on core 0
    co_return http::Response::text(greeting.value_or("?") + " from core " +
                                   std::to_string(kio::this_core()) + " (" + n + " requests)\n");
  }
  kio::Task<http::Response> stats() {
    ++here->requests;
    std::vector<std::uint64_t> per_core;
    for (di::Remote<Counter> c : all)  // one call per core, run there
      per_core.push_back((co_await c.call([](Counter& k) { return k.requests; })).value_or(0));
    const std::uint64_t total = std::accumulate(per_core.begin(), per_core.end(), std::uint64_t{0});
    co_return http::Response::json_body(json{{"requests", total}, {"per_core", per_core}}.dump());
  }
};

namespace kio::di {  // the snapshot as JSON (found by nlohmann-json through ADL)
void to_json(json& j, const SlotInfo& s) {
  j = {{"slot", s.slot}, {"bound", s.bound}, {"waiting_for", s.waiting_for}};
}
void to_json(json& j, const InstanceInfo& i) {
  j = {{"core", i.core}, {"state", to_string(i.state)}, {"error", i.error}, {"slots", i.slots}};
}
void to_json(json& j, const ServiceInfo& s) {
  j = {{"name", s.name}, {"placement", s.where.to_string()}, {"instances", s.instances}};
}
}  // namespace kio::di

int main(int argc, char** argv) {
  unsigned port = 8080, workers = 0;
  demo::Flags("di_server", "[--port N] [--workers N]")
      .number("--port", port, 1, 65535)
      .number("--workers", workers, 0, 1024)  // 0: one per CPU
      .parse(argc, argv);
  di::Registry reg;
  reg.add<Config>(di::on_core(0), [] { return Config{}; });
  reg.add<Counter>(di::every_core, [] { return Counter{}; });
  const di::ServiceId routes = reg.add<Routes>(
      di::every_core, [](di::Ref<Counter> here, di::Remote<Config> config,
                         di::PerCore<Counter> all) { return Routes{here, config, all}; });
  auto to_routes = [&reg, routes](kio::Task<http::Response> (Routes::*handle)()) {
    return [&reg, routes, handle](http::Request&) -> kio::Task<http::Response> {
      Routes* r = reg.local<Routes>(routes);  // this core's instance
      if (!r) co_return http::Response::text("not running\n", http::Status::service_unavailable);
      co_return co_await (r->*handle)();  // (not `r ? co_await … : …`: g++ 12 frees it twice)
    };
  };
  http::Router router;
  router.get("/", to_routes(&Routes::hello));
  router.get("/stats", to_routes(&Routes::stats));
  router.get("/services", [&reg](http::Request&) -> kio::Task<http::Response> {
    co_return http::Response::json_body(json(co_await reg.snapshot()).dump(2) + "\n");
  });
  http::Server server(std::move(router),
                      {.address = kio::net::Address::any_v4(static_cast<std::uint16_t>(port))});
  try {
    kio::Runtime rt(kio::RuntimeOptions{.workers = workers, .stop_on_signals = true});
    return rt.block_on([&]() -> kio::Task<int> {
      di::StartReport started = co_await reg.start();  // a failed service is named; rest runs
      if (!started) std::fputs(started.message().c_str(), stderr);
      std::printf("di_server: http://0.0.0.0:%u/ on %u workers\n%s", port, rt.workers(),
                  (co_await reg.dump()).c_str());
      std::fflush(stdout);
      kio::Result<void> served = co_await server.run();  // until Ctrl-C
      co_await reg.stop();
      if (!served) std::fprintf(stderr, "di_server: %s\n", served.error().message().c_str());
      co_return served ? 0 : 1;
    }());
  } catch (const kio::SetupError& e) {  // e.g. more workers than CPUs
    std::fprintf(stderr, "di_server: %s\n", e.what());
    return 1;
  }
}
