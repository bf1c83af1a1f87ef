// Which sanitizer a test binary is built with, for tests that must scale down or leave out a
// check under one (never to skip an assertion silently: say why where it is used).
#pragma once

#if defined(__SANITIZE_THREAD__)
#define KIO_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KIO_TEST_TSAN 1
#endif
#endif
#ifndef KIO_TEST_TSAN
#define KIO_TEST_TSAN 0
#endif

namespace kio_test {
/// TSan slows every cross-thread hand-off by an order of magnitude.
inline constexpr bool under_tsan = KIO_TEST_TSAN != 0;
}  // namespace kio_test
