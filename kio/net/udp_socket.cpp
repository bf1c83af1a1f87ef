#include "kio/net/udp_socket.hpp"

#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>

#include "kio/net/detail/socket.hpp"

namespace kio::net {

Result<Datagram> RecvFromOp::await_resume() const noexcept {
  if (res_ < 0) return errno_code(res_);
  Datagram d;
  const auto n = static_cast<std::size_t>(res_);
  d.size = std::min(n, buf_.size());
  d.truncated = n > buf_.size();
  if (auto a = Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&from_), sizeof from_))
    d.from = *a;
  return d;
}

Result<UdpSocket> UdpSocket::bind(const Address& addr, const UdpOptions& opts) {
  if (!addr.valid()) return std::errc::invalid_argument;
  auto fd = detail::open_socket(addr.family(), SOCK_DGRAM);
  if (!fd) return fd.error();
  UdpSocket s(*fd);
  if (opts.reuse_address)
    if (auto r = detail::set_option(*fd, SOL_SOCKET, SO_REUSEADDR, 1); !r) return r.error();
  if (opts.reuse_port)
    if (auto r = detail::set_option(*fd, SOL_SOCKET, SO_REUSEPORT, 1); !r) return r.error();
  if (addr.is_v6())
    if (auto r = detail::set_option(*fd, IPPROTO_IPV6, IPV6_V6ONLY, opts.ipv6_only ? 1 : 0); !r)
      return r.error();
  if (::bind(*fd, addr.sockaddr_ptr(), addr.sockaddr_len()) != 0) return detail::last_error();
  return s;
}

Result<UdpSocket> UdpSocket::open(int family) {
  if (family != AF_INET && family != AF_INET6) return std::errc::address_family_not_supported;
  auto fd = detail::open_socket(family, SOCK_DGRAM);
  if (!fd) return fd.error();
  return UdpSocket(*fd);
}

Result<void> UdpSocket::connect(const Address& peer) noexcept {
  if (fd_ < 0) return std::errc::bad_file_descriptor;
  if (::connect(fd_, peer.sockaddr_ptr(), peer.sockaddr_len()) != 0) return detail::last_error();
  return {};
}

Result<Address> UdpSocket::local_address() const noexcept {
  if (fd_ < 0) return std::errc::bad_file_descriptor;
  return detail::local_address(fd_);
}

void UdpSocket::reset() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

Task<Result<void>> UdpSocket::close() {
  return close_impl(std::move(*this));
}

// Takes the socket by value: a close() that is never awaited still closes it (synchronously).
Task<Result<void>> UdpSocket::close_impl(UdpSocket self) {
  const int fd = std::exchange(self.fd_, -1);
  if (fd < 0) co_return std::errc::bad_file_descriptor;
  co_return co_await make_io_op([fd](io_uring_sqe* sqe) { io_uring_prep_close(sqe, fd); },
                                map_status);
}

}  // namespace kio::net
