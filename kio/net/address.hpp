// kio::net::Address — an IPv4 or IPv6 socket address (IP + port), parsed from and printed as text.
//
//   auto a = kio::net::Address::parse("127.0.0.1:8080");     // Result<Address>
//   auto b = kio::net::Address::parse("[::1]:8080");
//   if (!a) std::puts(a.error().message().c_str());            // "... has no port ..." etc.
//   kio::net::Address any = kio::net::Address::any_v4(8080);   // 0.0.0.0:8080
//   std::string s = b->to_string();                            // "[::1]:8080"
//
// Text forms: "a.b.c.d:port", "[ipv6]:port", "[ipv6%scope]:port" (scope: interface name or
// index). Only numeric addresses: kio does no DNS (name lookup blocks; resolve names yourself).
// The port is decimal 0..65535 (0: let the kernel pick one when binding).
// Errors: parse() returns an error_code of kio::net::AddressError (category "kio.address") whose
// message() says what is wrong with the text.
// Threading: a plain value type (32 bytes); copy it anywhere.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "kio/core/result.hpp"

namespace kio::net {

/// Why a text is not an address.
enum class AddressError {
  empty = 1,         // ""
  missing_port,      // "127.0.0.1"
  bad_port,          // "127.0.0.1:http", ":99999"
  bad_ipv4,          // "127.0.0.300:80"
  bad_ipv6,          // "[::g]:80"
  unbracketed_ipv6,  // "::1:80"
  missing_bracket,   // "[::1:80"
  bad_scope,         // "[fe80::1%nosuchif]:80"
};

const std::error_category& address_category() noexcept;
inline std::error_code make_error_code(AddressError e) noexcept {
  return {static_cast<int>(e), address_category()};
}

class Address {
 public:
  /// An unspecified address (family AF_UNSPEC); valid() is false.
  Address() noexcept;

  /// Parses "a.b.c.d:port" or "[ipv6]:port"; the error says what is wrong.
  static Result<Address> parse(std::string_view text);
  /// From a kernel sockaddr (AF_INET or AF_INET6); invalid_argument for other families.
  static Result<Address> from_sockaddr(const sockaddr* sa, socklen_t len) noexcept;

  /// `ip` in host byte order, e.g. 0x7f000001 for 127.0.0.1.
  static Address ipv4(std::uint32_t ip, std::uint16_t port) noexcept;
  static Address loopback_v4(std::uint16_t port) noexcept { return ipv4(0x7f000001u, port); }
  static Address any_v4(std::uint16_t port) noexcept { return ipv4(0, port); }
  static Address loopback_v6(std::uint16_t port) noexcept;
  static Address any_v6(std::uint16_t port) noexcept;

  bool valid() const noexcept { return family() != AF_UNSPEC; }
  bool is_v4() const noexcept { return family() == AF_INET; }
  bool is_v6() const noexcept { return family() == AF_INET6; }
  /// AF_INET, AF_INET6 or AF_UNSPEC.
  int family() const noexcept { return addr_.sa.sa_family; }
  std::uint16_t port() const noexcept;
  void set_port(std::uint16_t port) noexcept;
  /// A copy with another port.
  Address with_port(std::uint16_t port) const noexcept {
    Address a = *this;
    a.set_port(port);
    return a;
  }
  /// True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104.
  bool is_loopback() const noexcept;
  /// Same family and same IP (ports ignored).
  bool same_ip(const Address& o) const noexcept;

  /// "127.0.0.1:8080", "[::1]:8080", "[fe80::1%2]:80"; "(unspecified)" when !valid().
  std::string to_string() const;

  const sockaddr* sockaddr_ptr() const noexcept { return &addr_.sa; }
  socklen_t sockaddr_len() const noexcept;

  friend bool operator==(const Address& a, const Address& b) noexcept;

 private:
  union Storage {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } addr_;
};

}  // namespace kio::net

template <>
struct std::is_error_code_enum<kio::net::AddressError> : std::true_type {};
