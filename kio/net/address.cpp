#include "kio/net/address.hpp"

#include <arpa/inet.h>
#include <net/if.h>

#include <cstring>

#include <fmt/format.h>

namespace kio::net {

namespace {

class AddressCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "kio.address"; }
  std::string message(int e) const override {
    switch (static_cast<AddressError>(e)) {
      case AddressError::empty:
        return "empty address (expected host:port, e.g. 127.0.0.1:8080 or [::1]:8080)";
      case AddressError::missing_port:
        return "address has no port (expected host:port, e.g. 127.0.0.1:8080 or [::1]:8080)";
      case AddressError::bad_port:
        return "port is not a decimal number in 0..65535";
      case AddressError::bad_ipv4:
        return "not a numeric IPv4 address (expected a.b.c.d; kio does no DNS lookups)";
      case AddressError::bad_ipv6:
        return "not a numeric IPv6 address";
      case AddressError::unbracketed_ipv6:
        return "IPv6 address needs brackets around it, e.g. [::1]:8080";
      case AddressError::missing_bracket:
        return "IPv6 address has no closing ']' (expected [ipv6]:port)";
      case AddressError::bad_scope:
        return "unknown IPv6 scope (expected an interface name or index after '%')";
    }
    return "invalid address";
  }
};

bool parse_port(std::string_view s, std::uint16_t& out) noexcept {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 65535) return false;
  out = static_cast<std::uint16_t>(v);
  return true;
}

}  // namespace

const std::error_category& address_category() noexcept {
  static const AddressCategory cat;
  return cat;
}

Address::Address() noexcept {
  std::memset(&addr_, 0, sizeof addr_);
  addr_.sa.sa_family = AF_UNSPEC;
}

Result<Address> Address::parse(std::string_view text) {
  if (text.empty()) return make_error_code(AddressError::empty);
  Address a;
  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return make_error_code(AddressError::missing_bracket);
    std::string_view host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty()) return make_error_code(AddressError::missing_port);
    if (rest.front() != ':') return make_error_code(AddressError::bad_port);
    std::uint16_t port = 0;
    if (!parse_port(rest.substr(1), port)) return make_error_code(AddressError::bad_port);
    std::string_view scope;
    if (const std::size_t pct = host.find('%'); pct != std::string_view::npos) {
      scope = host.substr(pct + 1);
      host = host.substr(0, pct);
      if (scope.empty()) return make_error_code(AddressError::bad_scope);
    }
    char buf[INET6_ADDRSTRLEN];
    // (a NUL would end the C string early: "[::1\0junk]" is not "[::1]")
    if (host.empty() || host.size() >= sizeof buf || host.find('\0') != std::string_view::npos)
      return make_error_code(AddressError::bad_ipv6);
    std::memcpy(buf, host.data(), host.size());
    buf[host.size()] = '\0';
    a.addr_.v6.sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, buf, &a.addr_.v6.sin6_addr) != 1)
      return make_error_code(AddressError::bad_ipv6);
    a.addr_.v6.sin6_port = htons(port);
    if (!scope.empty()) {
      std::uint16_t idx = 0;
      if (parse_port(scope, idx)) {
        a.addr_.v6.sin6_scope_id = idx;
      } else {
        char name[IF_NAMESIZE];
        if (scope.size() >= sizeof name || scope.find('\0') != std::string_view::npos)
          return make_error_code(AddressError::bad_scope);
        std::memcpy(name, scope.data(), scope.size());
        name[scope.size()] = '\0';
        const unsigned i = if_nametoindex(name);
        if (i == 0) return make_error_code(AddressError::bad_scope);
        a.addr_.v6.sin6_scope_id = i;
      }
    }
    return a;
  }
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    // "1.2.3.4" lacks a port; anything else is not an address at all.
    return make_error_code(AddressError::missing_port);
  }
  std::string_view host = text.substr(0, colon);
  if (host.find(':') != std::string_view::npos)
    return make_error_code(AddressError::unbracketed_ipv6);
  std::uint16_t port = 0;
  if (!parse_port(text.substr(colon + 1), port)) return make_error_code(AddressError::bad_port);
  char buf[INET_ADDRSTRLEN];
  if (host.empty() || host.size() >= sizeof buf || host.find('\0') != std::string_view::npos)
    return make_error_code(AddressError::bad_ipv4);
  std::memcpy(buf, host.data(), host.size());
  buf[host.size()] = '\0';
  a.addr_.v4.sin_family = AF_INET;
  if (inet_pton(AF_INET, buf, &a.addr_.v4.sin_addr) != 1)
    return make_error_code(AddressError::bad_ipv4);
  a.addr_.v4.sin_port = htons(port);
  return a;
}

Result<Address> Address::from_sockaddr(const sockaddr* sa, socklen_t len) noexcept {
  Address a;
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    std::memcpy(&a.addr_.v4, sa, sizeof(sockaddr_in));
    return a;
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    std::memcpy(&a.addr_.v6, sa, sizeof(sockaddr_in6));
    return a;
  }
  return std::errc::address_family_not_supported;
}

Address Address::ipv4(std::uint32_t ip, std::uint16_t port) noexcept {
  Address a;
  a.addr_.v4.sin_family = AF_INET;
  a.addr_.v4.sin_addr.s_addr = htonl(ip);
  a.addr_.v4.sin_port = htons(port);
  return a;
}

Address Address::loopback_v6(std::uint16_t port) noexcept {
  Address a;
  a.addr_.v6.sin6_family = AF_INET6;
  a.addr_.v6.sin6_addr = in6addr_loopback;
  a.addr_.v6.sin6_port = htons(port);
  return a;
}

Address Address::any_v6(std::uint16_t port) noexcept {
  Address a;
  a.addr_.v6.sin6_family = AF_INET6;
  a.addr_.v6.sin6_addr = in6addr_any;
  a.addr_.v6.sin6_port = htons(port);
  return a;
}

std::uint16_t Address::port() const noexcept {
  if (is_v4()) return ntohs(addr_.v4.sin_port);
  if (is_v6()) return ntohs(addr_.v6.sin6_port);
  return 0;
}

void Address::set_port(std::uint16_t port) noexcept {
  if (is_v4()) addr_.v4.sin_port = htons(port);
  if (is_v6()) addr_.v6.sin6_port = htons(port);
}

bool Address::is_loopback() const noexcept {
  if (is_v4()) return (ntohl(addr_.v4.sin_addr.s_addr) >> 24) == 127;
  if (is_v6()) {
    const in6_addr& x = addr_.v6.sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&x)) return true;
    return IN6_IS_ADDR_V4MAPPED(&x) && x.s6_addr[12] == 127;
  }
  return false;
}

bool Address::same_ip(const Address& o) const noexcept {
  if (family() != o.family()) return false;
  if (is_v4()) return addr_.v4.sin_addr.s_addr == o.addr_.v4.sin_addr.s_addr;
  if (is_v6())
    return std::memcmp(&addr_.v6.sin6_addr, &o.addr_.v6.sin6_addr, sizeof(in6_addr)) == 0;
  return true;
}

socklen_t Address::sockaddr_len() const noexcept {
  if (is_v4()) return sizeof(sockaddr_in);
  if (is_v6()) return sizeof(sockaddr_in6);
  return 0;
}

std::string Address::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    inet_ntop(AF_INET, &addr_.v4.sin_addr, buf, sizeof buf);
    return fmt::format("{}:{}", buf, port());
  }
  if (is_v6()) {
    inet_ntop(AF_INET6, &addr_.v6.sin6_addr, buf, sizeof buf);
    if (addr_.v6.sin6_scope_id != 0)
      return fmt::format("[{}%{}]:{}", buf, addr_.v6.sin6_scope_id, port());
    return fmt::format("[{}]:{}", buf, port());
  }
  return "(unspecified)";
}

bool operator==(const Address& a, const Address& b) noexcept {
  if (a.family() != b.family()) return false;
  if (a.is_v6() && a.addr_.v6.sin6_scope_id != b.addr_.v6.sin6_scope_id) return false;
  return a.port() == b.port() && a.same_ip(b);
}

}  // namespace kio::net
