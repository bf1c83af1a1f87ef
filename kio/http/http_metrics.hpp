// kio::http::HttpMetrics — what the HTTP server counted on one core: responses by status class
// and parse errors by status.
//
//   kio::http::HttpMetrics here = kio::http::HttpMetrics::this_core();
//   std::uint64_t ok = here.responses[1];                                  // 2xx
//   std::uint64_t bad = here.parse_errors_for(kio::http::Status::bad_request);
//   // every core, and everything else kio counts: co_await kio::http::metrics_snapshot()
//
// What is counted: every response the server writes, by the class of its status (handler
// answers, 404/405 from the router, 500 for a handler exception, 408 for a timed-out request, the
// answer to a parse error, and interim "100 Continue"), whether or not the peer then reads it; a
// request the server drops without answering (the peer left, a stop) counts nowhere. Parse errors
// count the requests the parser rejected, by the status they were answered with (each is also
// counted in `responses`).
// Threading: like kio::CoreMetrics (core_metrics.hpp): plain integers in a thread_local of the
// worker, incremented by the connections of that core without atomics or allocation, read only
// there (this_core(); metrics_snapshot() brings every core's copy back through submit_to).
// Lifetime: counters start at zero on every new worker thread (a new runtime) and end with it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "kio/http/status.hpp"

namespace kio::http {

struct HttpMetrics {
  /// The statuses the parser rejects requests with, in the order of `parse_errors`.
  static constexpr std::array<Status, 7> parse_error_statuses{
      Status::bad_request,
      Status::content_too_large,
      Status::uri_too_long,
      Status::expectation_failed,
      Status::request_header_fields_too_large,
      Status::not_implemented,
      Status::http_version_not_supported,
  };
  /// Responses by status class: [0] 1xx, [1] 2xx, [2] 3xx, [3] 4xx, [4] 5xx, [5] any other code
  /// (600..999).
  std::array<std::uint64_t, 6> responses{};
  /// Rejected requests by the status of their answer (parse_error_statuses); the last entry
  /// counts any other status.
  std::array<std::uint64_t, parse_error_statuses.size() + 1> parse_errors{};

  static constexpr std::size_t class_index(Status s) noexcept {
    const unsigned code = static_cast<unsigned>(s);
    return code >= 100 && code < 600 ? code / 100 - 1 : 5;
  }
  static constexpr std::size_t parse_error_index(Status s) noexcept {
    std::size_t i = 0;
    while (i < parse_error_statuses.size() && parse_error_statuses[i] != s)
      ++i;
    return i;
  }
  std::uint64_t parse_errors_for(Status s) const noexcept {
    return parse_errors[parse_error_index(s)];
  }

  /// The calling worker's counters (zeros on a thread that served no HTTP).
  static HttpMetrics this_core() noexcept;

  HttpMetrics& operator+=(const HttpMetrics& o) noexcept {
    for (std::size_t i = 0; i < responses.size(); ++i)
      responses[i] += o.responses[i];
    for (std::size_t i = 0; i < parse_errors.size(); ++i)
      parse_errors[i] += o.parse_errors[i];
    return *this;
  }
};

namespace detail {
/// The calling thread's counters; incremented only by the connections running on that worker.
inline constinit thread_local HttpMetrics tls_http_metrics{};
/// A response with status `s` was written (connection.hpp).
inline void count_response(Status s) noexcept {
  ++tls_http_metrics.responses[HttpMetrics::class_index(s)];
}
/// The parser rejected a request; it is answered with `s` (connection.hpp).
inline void count_parse_error(Status s) noexcept {
  ++tls_http_metrics.parse_errors[HttpMetrics::parse_error_index(s)];
}
}  // namespace detail

inline HttpMetrics HttpMetrics::this_core() noexcept {
  return detail::tls_http_metrics;
}

}  // namespace kio::http
