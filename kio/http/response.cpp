#include "kio/http/response.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "kio/fs/file.hpp"

#include "kio/http/detail/chars.hpp"

namespace kio::http {

Response Response::text(std::string body, Status s) {
  Response r(s);
  r.text_body(std::move(body));
  return r;
}

Response Response::json_body(std::string body, Status s) {
  Response r(s);
  r.json(std::move(body));
  return r;
}

void detail::FileBody::close_fd(int fd) noexcept {
  ::close(fd);
}

int detail::FileBody::dup_fd(int fd) {
  const int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (d < 0)
    throw std::system_error(errno, std::generic_category(),
                            "kio::http::Response: copying a file body (dup)");
  return d;
}

Response& Response::body_file(kio::fs::File&& file, std::uint64_t offset, std::uint64_t length) {
  owned_.clear();
  borrowed_ = {};
  owns_ = false;
  file_ = detail::FileBody(file.release(), offset, length);
  return *this;
}

namespace {

/// A value's bytes are all field-value bytes (VCHAR, SP, HTAB, obs-text).
bool valid_value(std::string_view value) noexcept {
  const char* p = value.data();
  const char* end = p + value.size();
  for (;;) {
    p = detail::skip_value_words(p, end);
    if (p == end) return true;
    if (!detail::is(*p, detail::field_char)) return false;
    ++p;
  }
}

/// The fields the server writes itself.
bool managed(std::string_view name) noexcept {
  switch (name.size()) {
    case 4:
      return detail::iequals(name, "date");
    case 10:
      return detail::iequals(name, "connection");
    case 14:
      return detail::iequals(name, "content-length");
    case 17:
      return detail::iequals(name, "transfer-encoding");
    default:
      return false;
  }
}

}  // namespace

Response& Response::header(std::string_view name, std::string_view value) {
  if (name.empty()) throw std::invalid_argument("kio::http::Response::header: empty name");
  for (char c : name)
    if (!detail::is(c, detail::tchar))
      throw std::invalid_argument("kio::http::Response::header: name is not a token");
  if (!valid_value(value))
    throw std::invalid_argument("kio::http::Response::header: control character in value");
  if (managed(name)) throw std::invalid_argument("kio::http::Response::header: set by the server");
  headers_.append_field(name, value);
  return *this;
}

Response& Response::content_type(std::string_view value) {
  if (!valid_value(value))
    throw std::invalid_argument("kio::http::Response::header: control character in value");
  headers_.append_field("Content-Type", value);
  return *this;
}

}  // namespace kio::http
