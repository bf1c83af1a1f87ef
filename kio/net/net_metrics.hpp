// kio::net::NetMetrics — what kio::net counted on one core: connections and TCP bytes.
//
//   kio::net::NetMetrics here = kio::net::NetMetrics::this_core();
//   auto all = co_await kio::collect_per_core(&kio::net::NetMetrics::this_core);  // per_core.hpp
//   std::uint64_t open = all.total.open_connections;
//
// Threading: like kio::CoreMetrics (core_metrics.hpp): each core's counters live in its worker
// thread (a thread_local of plain integers), are incremented there without atomics or
// allocation, and are read only there (this_core() on the worker; collect_per_core brings every
// core's copy back through submit_to).
// What is counted: TcpStream traffic (recv, send, send_all, send_zc) and what kio::http sends
// from files on a stream's socket; UDP is not counted. A stream counts as open from the moment
// it exists (accepted, adopted, or connecting) until it is closed or destroyed on its core.
// Lifetime: counters start at zero on every new worker thread (a new runtime) and end with it.
#pragma once

#include <cstdint>

namespace kio::net {

struct NetMetrics {
  /// Connections accepted by listeners on this core.
  std::uint64_t accepted = 0;
  /// Outgoing connections established by TcpStream::connect.
  std::uint64_t connected = 0;
  /// TcpStreams open on this core now (a gauge: opened minus closed).
  std::uint64_t open_connections = 0;
  /// Bytes the kernel delivered to streams of this core, and bytes it took from them.
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;

  /// The calling worker's counters (zeros on a thread where kio::net counted nothing).
  static NetMetrics this_core() noexcept;

  NetMetrics& operator+=(const NetMetrics& o) noexcept {
    accepted += o.accepted;
    connected += o.connected;
    open_connections += o.open_connections;
    bytes_received += o.bytes_received;
    bytes_sent += o.bytes_sent;
    return *this;
  }
};

namespace detail {
/// The calling thread's counters; incremented only by kio::net code running on that worker.
inline constinit thread_local NetMetrics tls_net_metrics{};
inline NetMetrics& net_counters() noexcept {
  return tls_net_metrics;
}
}  // namespace detail

inline NetMetrics NetMetrics::this_core() noexcept {
  return detail::tls_net_metrics;
}

}  // namespace kio::net
