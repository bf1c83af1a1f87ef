// kio::http::ServerOptions — where a Server listens, its parser limits and its timeouts.
//
//   kio::http::ServerOptions opts{.address = kio::net::Address::loopback_v4(8080)};
//   opts.idle_timeout = std::chrono::seconds(5);
//   auto a = kio::net::Address::parse("[::]:8443");  // from text: check the Result
//   if (a) opts.address = *a;
//
// Threading: a plain value, copied into the server.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "kio/http/limits.hpp"
#include "kio/net/address.hpp"

namespace kio::http {

/// How file bodies (Response::body_file, Router::static_dir) are sent. Neither copies the file
/// through user space; benchmarks/results/static-*.md has the measurements behind the default.
enum class FileSend : unsigned char {
  /// sendfile(2) from the worker thread on the socket (which is switched to O_NONBLOCK the first
  /// time), waiting for socket space with a poll on the ring. The cheapest path; but a page-cache
  /// miss makes the worker wait for the disk read (nginx's `sendfile on` behaves the same).
  sendfile,
  /// IORING_OP_SPLICE file -> a per-core reused pipe -> socket. Never blocks the worker (the
  /// kernel runs every splice on its io-wq threads), at the price of two hand-offs per chunk.
  splice,
};

struct ServerOptions {
  /// Where to listen; port 0 picks a free port (see Server::bind() and Server::port()).
  net::Address address = net::Address::any_v4(8080);
  /// Pending connections per core's listener.
  int backlog = 4096;
  /// false (default): bind()/run() fail with address_in_use when any other socket holds the port
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
  /// From the first byte of a request until it is complete, body included, however steadily
  /// the client trickles it (a slow-body guard). On expiry: 408 and close.
  std::chrono::milliseconds request_timeout{120'000};
  /// A kept-alive connection with no request in progress is closed after this long. Behind a
  /// proxy that pools connections, keep it above the proxy's own idle timeout (nginx: upstream
  /// `keepalive_timeout`, 60 s by default), so the proxy closes first: a request it sends just
  /// as the server closes cannot be answered, and it retries only idempotent ones (POST: 502).
  /// See docs/reliability.md, "Behind a real reverse proxy".
  std::chrono::milliseconds idle_timeout{60'000};
  /// Sending one batch of responses may take this long (a client that stops reading).
  std::chrono::milliseconds send_timeout{30'000};
  /// After an error response the server stops sending, reads and discards what the client still
  /// sends for up to this long, then closes (so the response is not lost to a TCP reset).
  std::chrono::milliseconds linger_timeout{1'000};
  /// How long a stop lets busy connections finish their requests before closing them. Under a
  /// runtime stop the runtime's shutdown_grace also bounds it (the server closes what is left
  /// shortly before the grace period ends).
  std::chrono::milliseconds drain_timeout{10'000};
  /// How file bodies are sent (see FileSend).
  FileSend file_send = FileSend::sendfile;
};

}  // namespace kio::http
