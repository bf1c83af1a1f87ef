// kio/net — TCP and UDP on the per-core executor.
//
// Choosing among the primitives
// -----------------------------
// * kio::net::Address      IPv4/IPv6 socket address; parse("127.0.0.1:80"), "[::1]:80".
// (address.hpp)
// * kio::net::TcpListener  a listening socket on this core; multishot accept. (tcp_listener.hpp)
// * kio::net::TcpServer /  one SO_REUSEPORT listener per core, a handler task per
//   kio::net::serve        connection on the core that accepted it. (tcp_server.hpp)
// * kio::net::TcpStream    connect, recv (leased ring buffers or your buffer), send,
//                          send_all (vectored, zero copy for large payloads), close.
//                          (tcp_stream.hpp)
// * kio::net::BufferedReader  read_line / read_until / read_exact over a TcpStream, views
//                          into the receive buffers (copies only what straddles them).
//                          (buffered_reader.hpp)
// * kio::net::RecvBuffer   the lease recv() returns; drop it to recycle the buffer.
// (recv_buffer.hpp)
// * kio::net::SendZcOp     one zero-copy send (IORING_OP_SEND_ZC). (zerocopy.hpp)
// * kio::net::UdpSocket    datagrams: bind, send_to/recv_from, connected send/recv.
// (udp_socket.hpp)
//
// Errors are std::error_code values (connection_reset, broken_pipe, ...): a misbehaving peer
// never throws out of the runtime. Every object belongs to the core that created it.
//
// Example: an echo server on every core
// -------------------------------------
//   kio::Task<void> echo(kio::net::TcpStream s) {
//     for (;;) {
//       auto buf = co_await s.recv();
//       if (!buf || buf->empty() || !co_await s.send_all(buf->bytes())) co_return;
//     }
//   }
//   int main() {
//     kio::Runtime rt({.stop_on_signals = true});
//     auto r = rt.block_on(kio::net::serve(kio::net::Address::any_v4(8080), {}, echo));
//     return r ? 0 : 1;
//   }
#pragma once

#include "kio/net/address.hpp"
#include "kio/net/buffered_reader.hpp"
#include "kio/net/options.hpp"
#include "kio/net/recv_buffer.hpp"
#include "kio/net/tcp_listener.hpp"
#include "kio/net/tcp_server.hpp"
#include "kio/net/tcp_stream.hpp"
#include "kio/net/udp_socket.hpp"
#include "kio/net/zerocopy.hpp"
