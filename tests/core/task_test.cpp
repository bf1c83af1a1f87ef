// Description: Task<T> chains: values, void, exceptions, deep chains without stack growth.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "kio/kio.hpp"
#include "one_worker.hpp"

namespace {

using kio_test::rt;

kio::Task<int> value(int v) {
  co_return v;
}
kio::Task<int> add(int a, int b) {
  co_return co_await value(a) + co_await value(b);
}
kio::Task<void> nothing(int& hits) {
  ++hits;
  co_return;
}
kio::Task<int> thrower() {
  throw std::runtime_error("boom");
  co_return 0;
}

TEST(Task, ReturnsValue) {
  EXPECT_EQ(rt().block_on(add(2, 3)), 5);
}

TEST(Task, ReturnsMoveOnly) {
  auto t = []() -> kio::Task<std::unique_ptr<std::string>> {
    co_return std::make_unique<std::string>("moved");
  };
  EXPECT_EQ(*rt().block_on(t()), "moved");
}

TEST(Task, VoidTask) {
  int hits = 0;
  rt().block_on(nothing(hits));
  EXPECT_EQ(hits, 1);
}

TEST(Task, ExceptionPropagatesThroughChain) {
  auto outer = []() -> kio::Task<int> { co_return co_await thrower() + 1; };
  EXPECT_THROW(rt().block_on(outer()), std::runtime_error);
}

TEST(Task, CaughtExceptionLetsChainContinue) {
  auto outer = []() -> kio::Task<std::string> {
    try {
      co_await thrower();
    } catch (const std::runtime_error& e) {
      co_return std::string("caught ") + e.what();
    }
    co_return "not thrown";
  };
  EXPECT_EQ(rt().block_on(outer()), "caught boom");
}

TEST(Task, LazyUntilAwaited) {
  int hits = 0;
  {
    auto t = nothing(hits);  // created, never awaited, destroyed
    EXPECT_FALSE(t.done());
  }
  EXPECT_EQ(hits, 0);
}

TEST(Task, AwaitLvalueTask) {
  auto outer = []() -> kio::Task<int> {
    kio::Task<int> t = value(7);
    int v = co_await t;
    co_return v + (t.done() ? 1 : 0);
  };
  EXPECT_EQ(rt().block_on(outer()), 8);
}

// A million synchronously-completing awaits in a loop: without symmetric transfer every one would
// nest a resume() on the stack.
TEST(Task, MillionSequentialAwaits) {
  auto loop = []() -> kio::Task<long> {
    long sum = 0;
    for (int i = 0; i < 1'000'000; ++i)
      sum += co_await value(1);
    co_return sum;
  };
  EXPECT_EQ(rt().block_on(loop()), 1'000'000);
}

// A chain one million tasks deep: each awaits the next. Resuming down and completing back up
// the chain happens by symmetric transfer, so the worker's stack does not grow with depth.
kio::Task<long> deep(int n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await deep(n - 1);
}

TEST(Task, MillionDeepChain) {
  EXPECT_EQ(rt().block_on(deep(1'000'000)), 1'000'000);
}

}  // namespace
