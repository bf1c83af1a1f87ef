#include <charconv>
#include <cstring>

#include "kio/http/detail/serialize.hpp"

namespace kio::http::detail {

void append_head(std::string& out, const Response& r, std::size_t body_size, const HeadOptions& o) {
  // Sizes everything first, then grows `out` once and copies the pieces in: one capacity check
  // per response instead of one per piece.
  const Status s = r.status();
  const unsigned c = code(s);
  const std::string_view reason = reason_phrase(s);
  char digits[24];
  std::size_t ndigits = 0;
  const bool length = status_allows_body(s);
  if (length) {
    auto res = std::to_chars(digits, digits + sizeof digits, body_size);
    ndigits = static_cast<std::size_t>(res.ptr - digits);
  }
  constexpr std::string_view cl = "Content-Length: ";
  const std::string_view conn = !o.keep_alive ? std::string_view("Connection: close\r\n")
                                : o.http10    ? std::string_view("Connection: keep-alive\r\n")
                                              : std::string_view();
  const std::string_view fields = r.header_lines();
  const std::size_t n = 13 + reason.size() + 2 + (length ? cl.size() + ndigits + 2 : 0) +
                        o.date_line.size() + fields.size() + o.extra_lines.size() + conn.size() + 2;
  const std::size_t at = out.size();
  out.resize(at + n);
  char* p = out.data() + at;
  auto put = [&p](std::string_view v) {
    if (v.empty()) return;  // may be a null view: no memcpy from nullptr
    std::memcpy(p, v.data(), v.size());
    p += v.size();
  };
  std::memcpy(p, "HTTP/1.1 ", 9);
  p[9] = static_cast<char>('0' + c / 100 % 10);
  p[10] = static_cast<char>('0' + c / 10 % 10);
  p[11] = static_cast<char>('0' + c % 10);
  p[12] = ' ';
  p += 13;
  put(reason);
  put("\r\n");
  if (length) {
    put(cl);
    put(std::string_view(digits, ndigits));
    put("\r\n");
  }
  put(o.date_line);
  put(fields);
  put(o.extra_lines);
  put(conn);
  put("\r\n");
}

}  // namespace kio::http::detail
