// Socket system-call helpers shared by kio::net (synchronous, non-blocking calls only: socket,
// setsockopt, bind, listen, getsockname). Errors are errno as std::error_code.
#pragma once

#include <sys/socket.h>

#include <system_error>

#include "kio/core/result.hpp"
#include "kio/net/address.hpp"
#include "kio/net/options.hpp"

namespace kio::net::detail {

/// errno of the last failed call, as an error_code.
std::error_code last_error() noexcept;

/// socket(family, type | SOCK_CLOEXEC, 0).
Result<int> open_socket(int family, int type) noexcept;
Result<void> set_option(int fd, int level, int name, int value) noexcept;
Result<int> get_option(int fd, int level, int name) noexcept;
/// getsockname / getpeername.
Result<Address> local_address(int fd) noexcept;
Result<Address> peer_address(int fd) noexcept;
/// socket + options + bind + listen; the fd or the first error (the socket is closed then).
Result<int> open_listener(const Address& addr, const ListenOptions& opts) noexcept;

}  // namespace kio::net::detail
