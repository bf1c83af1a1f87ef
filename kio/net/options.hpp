// Options for kio::net sockets: listeners, connects, UDP sockets, and the per-core receive
// buffers. Plain values; every field has a sensible default.
//
//   auto l = kio::net::TcpListener::bind(addr, {.backlog = 1024, .nodelay = false});
//   auto s = kio::net::TcpServer::bind(addr);     // address_in_use if another server has the port
//   auto t = kio::net::TcpServer::bind(addr, {.share_port = true});  // share it on purpose
#pragma once

#include <chrono>
#include <cstddef>

namespace kio::net {

struct ListenOptions {
  /// listen(2) backlog: connections the kernel completes before accept() takes them. The kernel
  /// caps it at net.core.somaxconn.
  int backlog = 4096;
  /// SO_REUSEPORT: several listening sockets share the port and the kernel spreads new
  /// connections over them (TcpServer's one listener per core needs it). Which sockets may join
  /// is `share_port`'s business.
  bool reuse_port = true;
  /// What bind() does when the port is already held by other sockets (with reuse_port).
  /// false (default): the port must be free. bind() fails with address_in_use if any socket
  /// holds it, even another server's SO_REUSEPORT group (of this process or another), so a
  /// second server never silently joins a port and splits its traffic. The new listener then
  /// has SO_REUSEPORT, so listeners bound later with `share_port = true` join it (TcpServer's
  /// other cores do).
  /// true: joins the SO_REUSEPORT group already on the port, whoever owns it (the kernel
  /// allows sockets of the same user): for several processes serving one port on purpose.
  /// How the check works: the listener first binds and listens *without* SO_REUSEPORT (which
  /// fails while any socket holds the port, and makes every other bind of the port fail until
  /// it is done: two servers starting at once cannot both succeed), then turns SO_REUSEPORT on
  /// for its own group to join. Limit: a process that itself sets SO_REUSEPORT (same user) can
  /// still join a kio port afterwards; that process asked for sharing.
  bool share_port = false;
  /// SO_REUSEADDR: rebind at once after a restart (connections in TIME_WAIT do not block it).
  bool reuse_address = true;
  /// TCP_NODELAY on accepted sockets (set on the listener; Linux copies it to each accepted
  /// socket, so it costs no system call per connection).
  bool nodelay = true;
  /// IPV6_V6ONLY for IPv6 listeners; false serves IPv4 too on "[::]" (dual stack).
  bool ipv6_only = false;
  /// Accepted connections a listener keeps while nobody calls accept(). When it is full the
  /// listener stops taking connections from the kernel (they wait in the backlog) until accept()
  /// makes room; nothing is dropped. Preallocated: accepting allocates nothing.
  unsigned accept_queue = 256;
  /// First and longest pause after the process ran out of file descriptors (EMFILE/ENFILE):
  /// the listener logs once, stops accepting, and retries after the pause (doubling up to
  /// `max_backoff`). Connections wait in the kernel backlog meanwhile.
  std::chrono::milliseconds backoff{10};
  std::chrono::milliseconds max_backoff{500};
};

struct ConnectOptions {
  /// TCP_NODELAY on the new socket.
  bool nodelay = true;
  /// SO_SNDBUF / SO_RCVBUF set before connecting (0: the kernel's defaults and autotuning).
  /// Shrinking the receive buffer of an established connection instead can stall it: the peer
  /// may already use segments larger than the new window and then waits for its persist timer.
  int send_buffer_size = 0;
  int recv_buffer_size = 0;
};

struct UdpOptions {
  bool reuse_address = false;
  bool reuse_port = false;
  bool ipv6_only = false;
};

/// The receive-buffer pool of one core: a provided-buffer ring (IORING_REGISTER_PBUF_RING) that
/// every TcpStream on the core receives into with multishot recv (TcpStream::recv()).
struct RecvBufferOptions {
  /// Number of buffers; a power of two in 1..32768.
  unsigned buffers = 1024;
  /// Bytes per buffer: the most one recv() returns at once.
  unsigned buffer_size = 16 * 1024;
  /// Received buffers one stream may hold before its multishot receive is paused (cancelled,
  /// re-armed when the application has consumed half of them): keeps one slow consumer from
  /// taking every buffer of the core. A soft limit: one burst of the kernel (up to what the
  /// socket holds at that moment) can overshoot it before the pause takes effect. At least 1.
  unsigned max_queued_per_stream = 8;
};

}  // namespace kio::net
