#include "kio/net/detail/socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>

namespace kio::net::detail {

std::error_code last_error() noexcept {
  return kio::errno_code(-errno);
}

Result<int> open_socket(int family, int type) noexcept {
  const int fd = ::socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return last_error();
  return fd;
}

Result<void> set_option(int fd, int level, int name, int value) noexcept {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) return last_error();
  return {};
}

Result<int> get_option(int fd, int level, int name) noexcept {
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, level, name, &value, &len) != 0) return last_error();
  return value;
}

Result<Address> local_address(int fd) noexcept {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return last_error();
  return Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

Result<Address> peer_address(int fd) noexcept {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return last_error();
  return Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

Result<int> open_listener(const Address& addr, const ListenOptions& opts) noexcept {
  if (!addr.valid()) return std::errc::invalid_argument;
  auto fd = open_socket(addr.family(), SOCK_STREAM);
  if (!fd) return fd.error();
  auto fail = [&](std::error_code ec) -> Result<int> {
    ::close(*fd);
    return ec;
  };
  // Exclusive unless share_port: bind and listen without SO_REUSEPORT, which fails with
  // EADDRINUSE while any other socket holds the port (a foreign SO_REUSEPORT group included),
  // and while this socket listens without it no other socket can bind or listen on the port
  // (two servers racing: the second listen() fails). Only then is SO_REUSEPORT turned on, so
  // this server's own later listeners (share_port) can join it: the kernel builds the group
  // when the first of them listens.
  const bool join = opts.reuse_port && opts.share_port;
  if (opts.reuse_address)
    if (auto r = set_option(*fd, SOL_SOCKET, SO_REUSEADDR, 1); !r) return fail(r.error());
  if (join)
    if (auto r = set_option(*fd, SOL_SOCKET, SO_REUSEPORT, 1); !r) return fail(r.error());
  if (opts.nodelay)
    if (auto r = set_option(*fd, IPPROTO_TCP, TCP_NODELAY, 1); !r) return fail(r.error());
  if (addr.is_v6())
    if (auto r = set_option(*fd, IPPROTO_IPV6, IPV6_V6ONLY, opts.ipv6_only ? 1 : 0); !r)
      return fail(r.error());
  if (::bind(*fd, addr.sockaddr_ptr(), addr.sockaddr_len()) != 0) return fail(last_error());
  if (::listen(*fd, opts.backlog) != 0) return fail(last_error());
  if (opts.reuse_port && !join)
    if (auto r = set_option(*fd, SOL_SOCKET, SO_REUSEPORT, 1); !r) return fail(r.error());
  return *fd;
}

}  // namespace kio::net::detail
