// kio::http::ServerOptions — where a Server listens, its parser limits and its timeouts.
//
//   kio::http::ServerOptions opts{.port = 8080};
//   opts.idle_timeout = std::chrono::seconds(5);
//
// Threading: a plain value, copied into the server.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "kio/http/limits.hpp"

namespace kio::http {

struct ServerOptions {
  /// Address to bind ("0.0.0.0", "127.0.0.1", "::").
  std::string address = "0.0.0.0";
  /// Port to bind; 0 picks a free port (see Server::port()).
  std::uint16_t port = 8080;
  /// Pending connections per core's listener.
  int backlog = 4096;
  /// false (default): run() fails with address_in_use when any other socket holds the port
  /// (another server, of this process or another, even with SO_REUSEPORT). true: join the
  /// SO_REUSEPORT group on the port, sharing connections with the other processes serving it
  /// (see net::ListenOptions::share_port).
  bool share_port = false;
  /// Parser limits (413/414/431 thresholds).
  Limits limits{};
  /// From the first byte of a request until its header section is complete (slowloris guard).
  /// On expiry the server answers 408 and closes.
  std::chrono::milliseconds header_timeout{10'000};
  /// Between two reads of a request body. On expiry: 408 and close.
  std::chrono::milliseconds body_timeout{30'000};
  /// A kept-alive connection with no request in progress is closed after this long.
  std::chrono::milliseconds idle_timeout{60'000};
  /// Sending one batch of responses may take this long (a client that stops reading).
  std::chrono::milliseconds send_timeout{30'000};
  /// After an error response the server stops sending, reads and discards what the client still
  /// sends for up to this long, then closes (so the response is not lost to a TCP reset).
  std::chrono::milliseconds linger_timeout{1'000};
};

}  // namespace kio::http
