// Counts the global operator new calls of a test binary, for tests that check a path does not
// allocate. Link `alloc_counter_dep` (tests/meson.build) to replace the global allocator.
// Under TSan, whose runtime defines operator new itself, nothing is replaced and the count stays
// 0: tests reading it must be compiled out there (KIO_TEST_COUNTS_ALLOCATIONS is 0).
#pragma once

#include <atomic>

#include "sanitizers.hpp"

#define KIO_TEST_COUNTS_ALLOCATIONS (!KIO_TEST_TSAN)

/// Global operator new calls so far in this process (all threads).
extern std::atomic<long> g_news;
