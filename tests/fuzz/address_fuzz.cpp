// Fuzz target: net::Address::parse against a model written here: "a.b.c.d:port" (decimal
// octets without leading zeros, as inet_pton takes them) or "[ipv6]:port" / "[ipv6%scope]:port"
// (the address itself checked by inet_pton on exactly the bracketed text), port 1-5 digits up to
// 65535. Both must agree on accept/reject; an accepted text must give the model's family, IP,
// port and scope, and print (to_string) as text that parses back to the same address.
#include <arpa/inet.h>
#include <net/if.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "kio/net/address.hpp"

namespace {

struct Model {
  int family = AF_UNSPEC;
  unsigned char ip[16] = {};
  std::uint16_t port = 0;
  std::uint32_t scope = 0;
};

std::optional<std::uint32_t> decimal(std::string_view s, std::size_t max_digits,
                                     std::uint32_t max) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

std::optional<Model> model(std::string_view t) {
  Model m;
  std::string_view host, port;
  if (!t.empty() && t[0] == '[') {
    std::size_t close = t.find(']');
    if (close == std::string_view::npos || close + 1 >= t.size() || t[close + 1] != ':')
      return std::nullopt;
    host = t.substr(1, close - 1);
    port = t.substr(close + 2);
    std::string_view scope;
    if (std::size_t pct = host.find('%'); pct != std::string_view::npos) {
      scope = host.substr(pct + 1);
      host = host.substr(0, pct);
      if (scope.empty()) return std::nullopt;
    }
    if (host.empty() || host.find('\0') != std::string_view::npos ||
        scope.find('\0') != std::string_view::npos)
      return std::nullopt;
    std::string h(host);
    if (inet_pton(AF_INET6, h.c_str(), m.ip) != 1) return std::nullopt;
    if (!scope.empty()) {
      if (auto n = decimal(scope, 5, 65535)) {
        m.scope = *n;
      } else {
        std::string name(scope);
        if (name.size() >= IF_NAMESIZE) return std::nullopt;
        m.scope = if_nametoindex(name.c_str());
        if (m.scope == 0) return std::nullopt;
      }
    }
    m.family = AF_INET6;
  } else {
    std::size_t colon = t.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = t.substr(0, colon);
    port = t.substr(colon + 1);
    std::size_t at = 0;
    for (int i = 0; i < 4; ++i) {
      std::size_t end = i < 3 ? host.find('.', at) : host.size();
      if (end == std::string_view::npos) return std::nullopt;
      std::string_view octet = host.substr(at, end - at);
      if (octet.size() > 1 && octet[0] == '0') return std::nullopt;
      auto v = decimal(octet, 3, 255);
      if (!v) return std::nullopt;
      m.ip[i] = static_cast<unsigned char>(*v);
      at = end + 1;
    }
    m.family = AF_INET;
  }
  auto p = decimal(port, 5, 65535);
  if (!p) return std::nullopt;
  m.port = static_cast<std::uint16_t>(*p);
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto got = kio::net::Address::parse(text);
  std::optional<Model> want = model(text);
  std::string shown;
  for (char c : text)
    shown += (c >= 0x20 && c < 0x7f) ? std::string(1, c) : "\\x" + std::to_string(int(c) & 0xff);
  KIO_FUZZ_CHECK(bool(got) == want.has_value(), "\"" + shown + "\": kio " +
                                                    (got ? "accepts" : "refuses") + ", model " +
                                                    (want ? "accepts" : "refuses"));
  if (!got) {
    KIO_FUZZ_CHECK(got.error().category() == kio::net::address_category());
    KIO_FUZZ_CHECK(!got.error().message().empty());
    return 0;
  }
  const kio::net::Address& a = *got;
  KIO_FUZZ_CHECK(a.family() == want->family && a.port() == want->port, shown);
  if (a.is_v4()) {
    auto* sin = reinterpret_cast<const sockaddr_in*>(a.sockaddr_ptr());
    KIO_FUZZ_CHECK(std::memcmp(&sin->sin_addr, want->ip, 4) == 0, shown);
  } else {
    auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a.sockaddr_ptr());
    KIO_FUZZ_CHECK(std::memcmp(&sin6->sin6_addr, want->ip, 16) == 0, shown);
    KIO_FUZZ_CHECK(sin6->sin6_scope_id == want->scope, shown);
  }
  auto again = kio::net::Address::parse(a.to_string());
  KIO_FUZZ_CHECK(again && *again == a, shown + " printed as " + a.to_string());
  return 0;
}
