#include <cstring>

#include "kio/http/detail/date.hpp"

namespace kio::http::detail {

std::size_t format_date_line(std::time_t t, char* out) noexcept {
  static constexpr char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&t, &tm);
  auto two = [](char* p, int v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  char* p = out;
  std::memcpy(p, "Date: ", 6);
  p += 6;
  std::memcpy(p, days[tm.tm_wday % 7], 3);
  p += 3;
  *p++ = ',';
  *p++ = ' ';
  two(p, tm.tm_mday);
  p += 2;
  *p++ = ' ';
  std::memcpy(p, months[tm.tm_mon % 12], 3);
  p += 3;
  *p++ = ' ';
  int year = tm.tm_year + 1900;
  two(p, (year / 100) % 100);
  two(p + 2, year % 100);
  p += 4;
  *p++ = ' ';
  two(p, tm.tm_hour);
  p[2] = ':';
  two(p + 3, tm.tm_min);
  p[5] = ':';
  two(p + 6, tm.tm_sec);
  p += 8;
  std::memcpy(p, " GMT\r\n", 6);
  p += 6;
  return static_cast<std::size_t>(p - out);
}

}  // namespace kio::http::detail
