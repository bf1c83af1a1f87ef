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

Response& Response::header(std::string_view name, std::string_view value) {
  if (name.empty()) throw std::invalid_argument("kio::http::Response::header: empty name");
  for (char c : name)
    if (!detail::is(c, detail::tchar))
      throw std::invalid_argument("kio::http::Response::header: name is not a token");
  for (char c : value)
    if (!detail::is(c, detail::field_char))
      throw std::invalid_argument("kio::http::Response::header: control character in value");
  if (detail::iequals(name, "content-length") || detail::iequals(name, "transfer-encoding") ||
      detail::iequals(name, "connection") || detail::iequals(name, "date"))
    throw std::invalid_argument("kio::http::Response::header: set by the server");
  headers_.append(name);
  headers_.append(": ");
  headers_.append(value);
  headers_.append("\r\n");
  return *this;
}

}  // namespace kio::http
