// Description: SmallString copies and moves its bytes, inline or on the heap, and keeps appending.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "kio/http/detail/small_string.hpp"

using kio::http::detail::SmallString;

namespace {

TEST(SmallString, CopyAndMoveInline) {
  SmallString<16> a;
  a.append("Host: x\r\n");
  SmallString<16> b(a);
  EXPECT_EQ(b.view(), "Host: x\r\n");
  SmallString<16> c(std::move(b));
  EXPECT_EQ(c.view(), "Host: x\r\n");
  c.append("A: b\r\n");  // still fits inline (15 of 16 bytes)
  EXPECT_EQ(c.view(), "Host: x\r\nA: b\r\n");
  EXPECT_EQ(a.view(), "Host: x\r\n");  // the copy did not share storage
  SmallString<16> d;
  d.append("old");
  d = c;
  EXPECT_EQ(d.view(), c.view());
  d = std::move(c);
  EXPECT_EQ(d.view(), "Host: x\r\nA: b\r\n");
}

TEST(SmallString, CopyAndMoveOnTheHeap) {
  SmallString<4> a;
  a.append("abc");
  a.append("defgh");  // moves to the heap
  SmallString<4> b(a);
  EXPECT_EQ(b.view(), "abcdefgh");
  SmallString<4> c(std::move(b));
  EXPECT_EQ(c.view(), "abcdefgh");
  c.append("!");
  EXPECT_EQ(c.view(), "abcdefgh!");
  SmallString<4> d;
  d.append("xy");
  d = c;  // inline target, heap source
  EXPECT_EQ(d.view(), "abcdefgh!");
  SmallString<4> e;
  e.append("zz");
  d = std::move(e);  // heap target, inline source
  EXPECT_EQ(d.view(), "zz");
  d.append("12345");
  EXPECT_EQ(d.view(), "zz12345");
}

TEST(SmallString, EmptyAndSelfAssignment) {
  SmallString<8> a;
  SmallString<8> b(a);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.view(), "");
  a.append("abc");
  SmallString<8>& alias = a;
  a = alias;
  a = std::move(alias);
  EXPECT_EQ(a.view(), "abc");
  a.clear();
  EXPECT_EQ(a.view(), "");
}

}  // namespace
