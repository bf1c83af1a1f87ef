// Helpers shared by the kio::net tests.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "co_assert.hpp"
#include "kio/core/core.hpp"
#include "kio/net/net.hpp"

namespace nettest {

/// Deterministic bytes: the same (n, seed) always gives the same content, and different seeds
/// differ at almost every offset (so reordering or mixing streams is detected).
inline std::vector<std::byte> pattern(std::size_t n, std::uint32_t seed) {
  std::vector<std::byte> v(n);
  std::uint32_t x = seed * 2654435761u + 12345u;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    v[i] = static_cast<std::byte>(x);
  }
  return v;
}

/// Receives exactly out.size() bytes with recv(span); connection_reset-style errors and early
/// EOF are returned as errors (EOF: std::errc::connection_aborted).
inline kio::Task<kio::Result<void>> recv_exact(kio::net::TcpStream& s, std::span<std::byte> out) {
  std::size_t got = 0;
  while (got < out.size()) {
    auto r = co_await s.recv(out.subspan(got));
    if (!r) co_return r.error();
    if (*r == 0) co_return std::errc::connection_aborted;
    got += *r;
  }
  co_return kio::Result<void>{};
}

/// Receives exactly out.size() bytes through leases (recv()).
inline kio::Task<kio::Result<void>> recv_exact_leased(kio::net::TcpStream& s,
                                                      std::span<std::byte> out) {
  std::size_t got = 0;
  while (got < out.size()) {
    auto b = co_await s.recv();
    if (!b) co_return b.error();
    if (b->empty()) co_return std::errc::connection_aborted;
    if (b->size() > out.size() - got) co_return std::errc::message_size;
    std::memcpy(out.data() + got, b->data(), b->size());
    got += b->size();
  }
  co_return kio::Result<void>{};
}

/// Echoes every leased buffer back until EOF or an error.
inline kio::Task<void> echo(kio::net::TcpStream s) {
  for (;;) {
    auto b = co_await s.recv();
    if (!b || b->empty()) co_return;
    if (!co_await s.send_all(b->bytes())) co_return;
  }
}

/// A connected loopback pair: `client` connected to `server`, which a listener on an ephemeral
/// port accepted (the listener is closed again).
struct Pair {
  kio::net::TcpStream client;
  kio::net::TcpStream server;
};

inline kio::Task<kio::Result<Pair>> connected_pair(kio::net::ConnectOptions opts = {}) {
  auto l = kio::net::TcpListener::bind(kio::net::Address::loopback_v4(0));
  if (!l) co_return l.error();
  auto c = co_await kio::net::TcpStream::connect(*l->local_address(), opts);
  if (!c) co_return c.error();
  auto s = co_await l->accept();
  if (!s) co_return s.error();
  co_return Pair{std::move(*c), std::move(*s)};
}

}  // namespace nettest
