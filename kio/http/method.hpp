// kio::http::Method — the request method as parsed: a known method, or `other` with its token.
//
//   if (req.method == kio::http::Method::get) ...
//   std::string_view m = req.method_name;   // always the exact token, "GET" or "BREW"
//
// Methods are case-sensitive tokens (RFC 9110 §9.1): "get" is `other`, not `get`. Unknown methods
// are valid and reach the router, which answers 405 or 404 unless a route accepts them.
// Threading: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace kio::http {

enum class Method : std::uint8_t {
  get,
  head,
  post,
  put,
  delete_,
  connect,
  options,
  trace,
  patch,
  other
};

/// The known method named by `token`, or Method::other.
constexpr Method method_from_token(std::string_view token) noexcept {
  switch (token.size()) {
    case 3:
      if (token == "GET") return Method::get;
      if (token == "PUT") return Method::put;
      break;
    case 4:
      if (token == "POST") return Method::post;
      if (token == "HEAD") return Method::head;
      break;
    case 5:
      if (token == "PATCH") return Method::patch;
      if (token == "TRACE") return Method::trace;
      break;
    case 6:
      if (token == "DELETE") return Method::delete_;
      break;
    case 7:
      if (token == "OPTIONS") return Method::options;
      if (token == "CONNECT") return Method::connect;
      break;
    default:
      break;
  }
  return Method::other;
}

/// The token of a known method; "" for Method::other.
constexpr std::string_view to_string(Method m) noexcept {
  switch (m) {
    case Method::get:
      return "GET";
    case Method::head:
      return "HEAD";
    case Method::post:
      return "POST";
    case Method::put:
      return "PUT";
    case Method::delete_:
      return "DELETE";
    case Method::connect:
      return "CONNECT";
    case Method::options:
      return "OPTIONS";
    case Method::trace:
      return "TRACE";
    case Method::patch:
      return "PATCH";
    case Method::other:
      return "";
  }
  return "";
}

}  // namespace kio::http
