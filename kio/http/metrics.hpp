// kio::http::metrics_snapshot / prometheus_text / metrics_route — everything kio counts, summed
// over cores, and served in the Prometheus text exposition format.
//
//   kio::http::Router router;
//   kio::http::metrics_route(router);                    // GET /metrics -> Prometheus text
//   ...
//   kio::PerCore<kio::http::Metrics> m = co_await kio::http::metrics_snapshot();  // on a worker
//   std::uint64_t answered_2xx = m.total.http.responses[1];
//   std::uint64_t bytes_in = m.cores[1].net.bytes_received;
//
// Metrics is one core's CoreMetrics (runtime), net::NetMetrics (net) and HttpMetrics (http),
// copied together on that core. metrics_snapshot() reads every core through collect_per_core
// (per_core.hpp: each core's values agree with each other; cores are read one after another).
// prometheus_text() writes one series per core (label core="N") for each counter: sum them in
// PromQL (`sum without (core) (rate(kio_http_responses_total[1m]))`) for the whole process.
// Names: counters end in _total; kio_net_connections_open is a gauge.
// Runs on: metrics_snapshot() and the /metrics handler on a worker (they hop to every core and
// back); prometheus_text() anywhere (a pure function).
// Cost: a scrape is one submit_to round trip per core and one string; the counters themselves
// cost an add each on their core (see core_metrics.hpp).
// Errors: metrics_snapshot() throws std::system_error(operation_canceled) when a core is
// shutting down; the route then answers 500 (the connection's handler-exception rule).
#pragma once

#include <string>
#include <string_view>

#include "kio/core/core_metrics.hpp"
#include "kio/core/per_core.hpp"
#include "kio/core/task.hpp"
#include "kio/http/http_metrics.hpp"
#include "kio/http/router.hpp"
#include "kio/net/net_metrics.hpp"

namespace kio::http {

/// One core's counters of every layer.
struct Metrics {
  CoreMetrics runtime;
  net::NetMetrics net;
  HttpMetrics http;

  /// The calling worker's counters. Worker threads only.
  static Metrics this_core();

  Metrics& operator+=(const Metrics& o) noexcept {
    runtime += o.runtime;
    net += o.net;
    http += o.http;
    return *this;
  }
};

/// Every core's Metrics and their sum. Call on a worker.
[[nodiscard]] Task<PerCore<Metrics>> metrics_snapshot();

/// `m` in the Prometheus text exposition format (version 0.0.4): HELP and TYPE lines, one series
/// per core.
std::string prometheus_text(const PerCore<Metrics>& m);

/// The Content-Type of prometheus_text().
inline constexpr std::string_view prometheus_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

/// Adds `GET path` (and HEAD) answering prometheus_text(co_await metrics_snapshot()).
Router& metrics_route(Router& router, std::string_view path = "/metrics");

}  // namespace kio::http
