#include "kio/http/metrics.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <iterator>
#include <utility>

#include "kio/http/response.hpp"

namespace kio::http {

namespace {

using Out = std::back_insert_iterator<std::string>;

void family(Out out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(out, "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

/// A family with one series per core: `get(core's Metrics)` is the value.
template <class Get>
void per_core(Out out, const PerCore<Metrics>& m, std::string_view name, std::string_view type,
              std::string_view help, Get get) {
  family(out, name, type, help);
  for (std::size_t c = 0; c < m.cores.size(); ++c)
    fmt::format_to(out, "{}{{core=\"{}\"}} {}\n", name, c, get(m.cores[c]));
}

constexpr std::string_view class_label(std::size_t i) noexcept {
  constexpr std::string_view labels[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
  return labels[i];
}

}  // namespace

Metrics Metrics::this_core() {
  return Metrics{CoreMetrics::this_core(), net::NetMetrics::this_core(), HttpMetrics::this_core()};
}

Task<PerCore<Metrics>> metrics_snapshot() {
  co_return co_await collect_per_core(&Metrics::this_core);
}

std::string prometheus_text(const PerCore<Metrics>& m) {
  std::string s;
  s.reserve(4096 + m.cores.size() * 2048);
  Out o(s);
  using M = const Metrics&;
  // kio/core
  per_core(o, m, "kio_tasks_spawned_total", "counter",
           "Root tasks started on the core (spawn, spawn_on, block_on, submit_to of a task).",
           [](M x) { return x.runtime.tasks_spawned; });
  per_core(o, m, "kio_tasks_run_total", "counter",
           "Coroutine resumptions the core ran from its ready queue.",
           [](M x) { return x.runtime.tasks_run; });
  per_core(o, m, "kio_io_ops_submitted_total", "counter",
           "Tracked io_uring operations prepared on the core's ring.",
           [](M x) { return x.runtime.ops_submitted; });
  per_core(o, m, "kio_io_completions_total", "counter",
           "Completion queue entries reaped from the core's ring.",
           [](M x) { return x.runtime.completions; });
  per_core(o, m, "kio_io_sq_full_flushes_total", "counter",
           "Times the submission queue was full and was flushed before preparing an operation.",
           [](M x) { return x.runtime.sq_full_flushes; });
  per_core(o, m, "kio_io_cq_overflows_total", "counter",
           "Reaps that found the completion queue overflowed (completions held back by the "
           "kernel, none lost).",
           [](M x) { return x.runtime.cq_overflows; });
  per_core(o, m, "kio_messages_sent_total", "counter", "Cross-core messages sent from the core.",
           [](M x) { return x.runtime.messages_sent; });
  per_core(o, m, "kio_messages_received_total", "counter",
           "Cross-core messages received by the core.",
           [](M x) { return x.runtime.messages_received; });
  // kio/net
  per_core(o, m, "kio_net_connections_accepted_total", "counter",
           "TCP connections accepted by the core's listeners.", [](M x) { return x.net.accepted; });
  per_core(o, m, "kio_net_connections_connected_total", "counter",
           "Outgoing TCP connections established from the core.",
           [](M x) { return x.net.connected; });
  per_core(o, m, "kio_net_connections_open", "gauge", "TCP streams open on the core.",
           [](M x) { return x.net.open_connections; });
  per_core(o, m, "kio_net_received_bytes_total", "counter",
           "Bytes received by the core's TCP streams.", [](M x) { return x.net.bytes_received; });
  per_core(o, m, "kio_net_sent_bytes_total", "counter", "Bytes sent by the core's TCP streams.",
           [](M x) { return x.net.bytes_sent; });
  // kio/http
  family(o, "kio_http_responses_total", "counter",
         "HTTP responses written by the core, by status class (interim 100 Continue included).");
  for (std::size_t c = 0; c < m.cores.size(); ++c)
    for (std::size_t i = 0; i < m.cores[c].http.responses.size(); ++i)
      fmt::format_to(o, "kio_http_responses_total{{core=\"{}\",class=\"{}\"}} {}\n", c,
                     class_label(i), m.cores[c].http.responses[i]);
  family(o, "kio_http_parse_errors_total", "counter",
         "HTTP requests the core's parser rejected, by the status they were answered with.");
  for (std::size_t c = 0; c < m.cores.size(); ++c)
    for (std::size_t i = 0; i < m.cores[c].http.parse_errors.size(); ++i) {
      const auto& st = HttpMetrics::parse_error_statuses;
      if (i < st.size())
        fmt::format_to(o, "kio_http_parse_errors_total{{core=\"{}\",status=\"{}\"}} {}\n", c,
                       static_cast<unsigned>(st[i]), m.cores[c].http.parse_errors[i]);
      else
        fmt::format_to(o, "kio_http_parse_errors_total{{core=\"{}\",status=\"other\"}} {}\n", c,
                       m.cores[c].http.parse_errors[i]);
    }
  return s;
}

Router& metrics_route(Router& router, std::string_view path) {
  return router.get(path, [](Request&) -> Task<Response> {
    std::string text = prometheus_text(co_await metrics_snapshot());
    Response r;
    r.content_type(prometheus_content_type).body(std::move(text));
    co_return r;
  });
}

}  // namespace kio::http
