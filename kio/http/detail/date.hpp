// The "Date: <IMF-fixdate>\r\n" response line, formatted at most once per second per thread.
//
// Each worker thread (core) has its own cache; reading it costs one coarse clock read
// (CLOCK_REALTIME_COARSE, vDSO) and, when the second changed, one formatting of 37 bytes.
// Threading: thread-local; the view is valid on the calling thread until the next call.
#pragma once

#include <ctime>
#include <string_view>

namespace kio::http::detail {

/// Formats `t` (seconds since the epoch, UTC) as "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n" into
/// `out` (at least 37 bytes); returns the length (37).
std::size_t format_date_line(std::time_t t, char* out) noexcept;

class DateCache {
 public:
  /// The Date line for the current second.
  std::string_view line() noexcept {
    timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec != sec_) {
      sec_ = ts.tv_sec;
      len_ = format_date_line(sec_, buf_);
    }
    return {buf_, len_};
  }

 private:
  std::time_t sec_ = -1;
  std::size_t len_ = 0;
  char buf_[48];
};

/// This thread's cache.
inline DateCache& date_cache() noexcept {
  static thread_local DateCache cache;
  return cache;
}

}  // namespace kio::http::detail
