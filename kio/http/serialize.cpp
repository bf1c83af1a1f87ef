#include <charconv>

#include "kio/http/detail/serialize.hpp"

namespace kio::http::detail {

void append_head(std::string& out, const Response& r, std::size_t body_size, const HeadOptions& o) {
  Status s = r.status();
  unsigned c = code(s);
  char line[16] = {'H',
                   'T',
                   'T',
                   'P',
                   '/',
                   '1',
                   '.',
                   '1',
                   ' ',
                   static_cast<char>('0' + c / 100 % 10),
                   static_cast<char>('0' + c / 10 % 10),
                   static_cast<char>('0' + c % 10),
                   ' '};
  out.append(line, 13);
  out.append(reason_phrase(s));
  out.append("\r\n");
  if (status_allows_body(s)) {
    char digits[24];
    auto res = std::to_chars(digits, digits + sizeof digits, body_size);
    out.append("Content-Length: ");
    out.append(digits, static_cast<std::size_t>(res.ptr - digits));
    out.append("\r\n");
  }
  out.append(o.date_line);
  out.append(r.header_lines());
  out.append(o.extra_lines);
  if (!o.keep_alive)
    out.append("Connection: close\r\n");
  else if (o.http10)
    out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
}

}  // namespace kio::http::detail
