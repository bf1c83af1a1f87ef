#include "kio/http/response.hpp"

#include <stdexcept>

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
