// Fatal assertions usable inside coroutines returning kio::Task<void> (gtest's ASSERT_* use
// `return`, which coroutines cannot).
#pragma once

#include <gtest/gtest.h>

#define CO_ASSERT_TRUE(cond)                          \
  do {                                                \
    if (!(cond)) {                                    \
      ADD_FAILURE() << "assertion failed: " << #cond; \
      co_return;                                      \
    }                                                 \
  } while (0)

#define CO_ASSERT_EQ(a, b) CO_ASSERT_TRUE((a) == (b))
#define CO_ASSERT_FALSE(cond) CO_ASSERT_TRUE(!(cond))
