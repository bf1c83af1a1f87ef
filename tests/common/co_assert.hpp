// Fatal assertions usable inside coroutines returning kio::Task<void> (gtest's ASSERT_* use
// `return`, which coroutines cannot).
#pragma once

#include <gtest/gtest.h>

/// Records a failure (with the optional streamed message) and co_returns when `cond` is false.
#define CO_ASSERT(cond, ...)                                                      \
  do {                                                                            \
    if (!(cond)) {                                                                \
      ADD_FAILURE() << "assertion failed: " #cond " " __VA_OPT__(<< __VA_ARGS__); \
      co_return;                                                                  \
    }                                                                             \
  } while (0)

#define CO_ASSERT_TRUE(cond) CO_ASSERT(cond)

#define CO_ASSERT_EQ(a, b) CO_ASSERT_TRUE((a) == (b))
#define CO_ASSERT_FALSE(cond) CO_ASSERT_TRUE(!(cond))
