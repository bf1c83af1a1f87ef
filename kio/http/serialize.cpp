#include <charconv>
#include <cstring>
#include <stdexcept>

#include "kio/http/detail/serialize.hpp"

namespace kio::http::detail {

namespace {

/// Writes the head into `p` (exactly head_size(...) bytes).
struct Head {
  Head(const Response& r, std::size_t body_size, const HeadOptions& o) noexcept
      : r_(r), o_(o), length_(status_allows_body(r.status())) {
    if (length_) {
      auto res = std::to_chars(digits_, digits_ + sizeof digits_, body_size);
      ndigits_ = static_cast<std::size_t>(res.ptr - digits_);
    }
    conn_ = !o.keep_alive ? std::string_view("Connection: close\r\n")
            : o.http10    ? std::string_view("Connection: keep-alive\r\n")
                          : std::string_view();
    reason_ = reason_phrase(r.status());
    size_ = 13 + reason_.size() + 2 + (length_ ? cl.size() + ndigits_ + 2 : 0) +
            o.date_line.size() + r.header_lines().size() + o.extra_lines.size() + conn_.size() + 2;
  }
  std::size_t size() const noexcept { return size_; }
  void write(char* p) const noexcept {
    auto put = [&p](std::string_view v) {
      if (v.empty()) return;  // may be a null view: no memcpy from nullptr
      std::memcpy(p, v.data(), v.size());
      p += v.size();
    };
    const unsigned c = code(r_.status());
    std::memcpy(p, "HTTP/1.1 ", 9);
    p[9] = static_cast<char>('0' + c / 100 % 10);
    p[10] = static_cast<char>('0' + c / 10 % 10);
    p[11] = static_cast<char>('0' + c % 10);
    p[12] = ' ';
    p += 13;
    put(reason_);
    put("\r\n");
    if (length_) {
      put(cl);
      put(std::string_view(digits_, ndigits_));
      put("\r\n");
    }
    put(o_.date_line);
    put(r_.header_lines());
    put(o_.extra_lines);
    put(conn_);
    put("\r\n");
  }

 private:
  static constexpr std::string_view cl = "Content-Length: ";
  const Response& r_;
  const HeadOptions& o_;
  bool length_;
  char digits_[24];
  std::size_t ndigits_ = 0;
  std::string_view conn_;
  std::string_view reason_;
  std::size_t size_;
};

}  // namespace

void append_head(OutBuffer& out, const Response& r, std::size_t body_size, const HeadOptions& o) {
  // Sizes everything first, then grows `out` once and copies the pieces in.
  const Head h(r, body_size, o);
  h.write(out.extend(h.size()));
}

void append_head(std::string& out, const Response& r, std::size_t body_size, const HeadOptions& o) {
  const Head h(r, body_size, o);
  const std::size_t at = out.size();
  out.resize(at + h.size());
  h.write(out.data() + at);
}

FixedResponse::FixedResponse(Response r) : response(std::move(r)) {
  if (response.has_file_body())
    throw std::invalid_argument(
        "kio::http::Router: a fixed response cannot have a file body (use a handler)");
  // A borrowed body is copied: the fixed response outlives whatever it pointed to.
  if (!response.body().empty()) response.body(std::string(response.body()));
  has_body = status_allows_body(response.status());
  body = has_body ? response.body() : std::string_view();
  // before_date: everything a kept-alive HTTP/1.1 head has before the Date line.
  HeadOptions o;
  o.date_line = "\x01";  // a marker: the Date line goes there
  std::string head;
  append_head(head, response, body.size(), o);
  const std::size_t at = head.find('\x01');
  before_date = head.substr(0, at);
  after_date = head.substr(at + 1);
}

}  // namespace kio::http::detail
