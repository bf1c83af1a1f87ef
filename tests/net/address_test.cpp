// Description: kio::net::Address parsing (IPv4, IPv6, scopes), clear errors for bad text,
// printing, comparison, and sockaddr round trips.
#include <gtest/gtest.h>

#include <string_view>

#include "kio/net/address.hpp"

using kio::net::Address;
using kio::net::AddressError;

TEST(Address, ParsesIpv4) {
  auto a = Address::parse("127.0.0.1:8080");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_TRUE(a->is_v4());
  EXPECT_EQ(a->port(), 8080);
  EXPECT_TRUE(a->is_loopback());
  EXPECT_EQ(a->to_string(), "127.0.0.1:8080");
  EXPECT_EQ(*a, Address::loopback_v4(8080));
}

TEST(Address, ParsesIpv6) {
  auto a = Address::parse("[::1]:8080");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_TRUE(a->is_v6());
  EXPECT_EQ(a->port(), 8080);
  EXPECT_TRUE(a->is_loopback());
  EXPECT_EQ(a->to_string(), "[::1]:8080");
  EXPECT_EQ(*a, Address::loopback_v6(8080));

  auto b = Address::parse("[2001:db8::42]:0");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->to_string(), "[2001:db8::42]:0");
  EXPECT_FALSE(b->is_loopback());

  auto scoped = Address::parse("[fe80::1%1]:53");
  ASSERT_TRUE(scoped) << scoped.error().message();
  EXPECT_EQ(scoped->to_string(), "[fe80::1%1]:53");
  auto by_name = Address::parse("[fe80::1%lo]:53");
  ASSERT_TRUE(by_name) << by_name.error().message();
  EXPECT_NE(by_name->to_string().find('%'), std::string::npos);
}

TEST(Address, BadTextHasAClearError) {
  struct Case {
    const char* text;
    AddressError want;
  };
  const Case cases[] = {
      {"", AddressError::empty},
      {"127.0.0.1", AddressError::missing_port},
      {"localhost", AddressError::missing_port},
      {"127.0.0.1:", AddressError::bad_port},
      {"127.0.0.1:http", AddressError::bad_port},
      {"127.0.0.1:65536", AddressError::bad_port},
      {"127.0.0.1:-1", AddressError::bad_port},
      {"127.0.0.300:80", AddressError::bad_ipv4},
      {"example.com:80", AddressError::bad_ipv4},
      {":80", AddressError::bad_ipv4},
      {"::1:80", AddressError::unbracketed_ipv6},
      {"[::1:80", AddressError::missing_bracket},
      {"[::1]", AddressError::missing_port},
      {"[::1]80", AddressError::bad_port},
      {"[::g]:80", AddressError::bad_ipv6},
      {"[]:80", AddressError::bad_ipv6},
      {"[fe80::1%]:80", AddressError::bad_scope},
      {"[fe80::1%no-such-interface0]:80", AddressError::bad_scope},
  };
  for (const Case& c : cases) {
    auto a = Address::parse(c.text);
    ASSERT_FALSE(a) << c.text << " parsed as " << a->to_string();
    EXPECT_EQ(a.error(), c.want) << c.text << ": " << a.error().message();
    EXPECT_EQ(a.error().category().name(), std::string("kio.address"));
    EXPECT_GT(a.error().message().size(), 10u) << c.text;
  }
  EXPECT_NE(Address::parse("1.2.3.4").error().message().find("port"), std::string::npos);
}

// A NUL inside the text must not cut it short (the C functions underneath stop at one): found
// by tests/fuzz/address_fuzz.cpp.
TEST(Address, EmbeddedNulIsRefused) {
  using namespace std::string_view_literals;
  EXPECT_EQ(Address::parse("1.2.3.4\0junk:80"sv).error(), AddressError::bad_ipv4);
  EXPECT_EQ(Address::parse("[::1\0junk]:80"sv).error(), AddressError::bad_ipv6);
  EXPECT_EQ(Address::parse("[fe80::1%lo\0junk]:80"sv).error(), AddressError::bad_scope);
  EXPECT_TRUE(Address::parse("[fe80::1%lo]:80"sv));
}

TEST(Address, PortAndComparison) {
  Address a = Address::any_v4(0);
  EXPECT_EQ(a.to_string(), "0.0.0.0:0");
  a.set_port(443);
  EXPECT_EQ(a.port(), 443);
  EXPECT_EQ(a.with_port(80).port(), 80);
  EXPECT_NE(a, a.with_port(80));
  EXPECT_TRUE(a.same_ip(a.with_port(80)));
  EXPECT_NE(Address::any_v4(1), Address::any_v6(1));
  EXPECT_EQ(Address::any_v6(7).to_string(), "[::]:7");
  Address none;
  EXPECT_FALSE(none.valid());
  EXPECT_EQ(none.to_string(), "(unspecified)");
  EXPECT_EQ(none.port(), 0);
}

TEST(Address, SockaddrRoundTrip) {
  for (const char* text : {"10.1.2.3:9", "[2001:db8::1]:65535"}) {
    auto a = Address::parse(text);
    ASSERT_TRUE(a);
    auto b = Address::from_sockaddr(a->sockaddr_ptr(), a->sockaddr_len());
    ASSERT_TRUE(b);
    EXPECT_EQ(*a, *b);
    EXPECT_EQ(b->to_string(), text);
  }
  sockaddr sa{};
  sa.sa_family = AF_UNIX;
  EXPECT_FALSE(Address::from_sockaddr(&sa, sizeof sa));
}
