// kio::http::Status — HTTP status codes and their reason phrases.
//
//   kio::http::Response r(kio::http::Status::not_found);
//   std::string_view why = kio::http::reason_phrase(kio::http::Status::not_found);  // "Not Found"
//
// Any code 100..999 may be used (`Status{299}`); codes without a registered phrase get "Unknown".
// Threading: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace kio::http {

enum class Status : std::uint16_t {
  continue_ = 100,
  switching_protocols = 101,
  ok = 200,
  created = 201,
  accepted = 202,
  no_content = 204,
  partial_content = 206,
  moved_permanently = 301,
  found = 302,
  see_other = 303,
  not_modified = 304,
  temporary_redirect = 307,
  permanent_redirect = 308,
  bad_request = 400,
  unauthorized = 401,
  forbidden = 403,
  not_found = 404,
  method_not_allowed = 405,
  not_acceptable = 406,
  request_timeout = 408,
  conflict = 409,
  gone = 410,
  length_required = 411,
  content_too_large = 413,
  uri_too_long = 414,
  unsupported_media_type = 415,
  range_not_satisfiable = 416,
  expectation_failed = 417,
  unprocessable_content = 422,
  too_many_requests = 429,
  request_header_fields_too_large = 431,
  internal_server_error = 500,
  not_implemented = 501,
  bad_gateway = 502,
  service_unavailable = 503,
  gateway_timeout = 504,
  http_version_not_supported = 505,
};

/// The reason phrase for `s` ("OK", "Not Found", ...); "Unknown" for unregistered codes.
constexpr std::string_view reason_phrase(Status s) noexcept {
  switch (s) {
    case Status::continue_:
      return "Continue";
    case Status::switching_protocols:
      return "Switching Protocols";
    case Status::ok:
      return "OK";
    case Status::created:
      return "Created";
    case Status::accepted:
      return "Accepted";
    case Status::no_content:
      return "No Content";
    case Status::partial_content:
      return "Partial Content";
    case Status::moved_permanently:
      return "Moved Permanently";
    case Status::found:
      return "Found";
    case Status::see_other:
      return "See Other";
    case Status::not_modified:
      return "Not Modified";
    case Status::temporary_redirect:
      return "Temporary Redirect";
    case Status::permanent_redirect:
      return "Permanent Redirect";
    case Status::bad_request:
      return "Bad Request";
    case Status::unauthorized:
      return "Unauthorized";
    case Status::forbidden:
      return "Forbidden";
    case Status::not_found:
      return "Not Found";
    case Status::method_not_allowed:
      return "Method Not Allowed";
    case Status::not_acceptable:
      return "Not Acceptable";
    case Status::request_timeout:
      return "Request Timeout";
    case Status::conflict:
      return "Conflict";
    case Status::gone:
      return "Gone";
    case Status::length_required:
      return "Length Required";
    case Status::content_too_large:
      return "Content Too Large";
    case Status::uri_too_long:
      return "URI Too Long";
    case Status::unsupported_media_type:
      return "Unsupported Media Type";
    case Status::range_not_satisfiable:
      return "Range Not Satisfiable";
    case Status::expectation_failed:
      return "Expectation Failed";
    case Status::unprocessable_content:
      return "Unprocessable Content";
    case Status::too_many_requests:
      return "Too Many Requests";
    case Status::request_header_fields_too_large:
      return "Request Header Fields Too Large";
    case Status::internal_server_error:
      return "Internal Server Error";
    case Status::not_implemented:
      return "Not Implemented";
    case Status::bad_gateway:
      return "Bad Gateway";
    case Status::service_unavailable:
      return "Service Unavailable";
    case Status::gateway_timeout:
      return "Gateway Timeout";
    case Status::http_version_not_supported:
      return "HTTP Version Not Supported";
  }
  return "Unknown";
}

constexpr unsigned code(Status s) noexcept {
  return static_cast<unsigned>(s);
}

/// 1xx, 204 and 304 responses never carry a body (RFC 9110 §6.4.1).
constexpr bool status_allows_body(Status s) noexcept {
  unsigned c = code(s);
  return c >= 200 && c != 204 && c != 304;
}

}  // namespace kio::http
