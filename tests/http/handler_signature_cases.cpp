// Description: routes with wrong handler signatures (one per KIO_CASE) that must fail to compile
// with kio's static_assert message; handler_signature_check.sh compiles each case and checks
// the message. KIO_CASE 0 holds the right signatures and must compile.
#include "kio/http/router.hpp"

#include <memory>
#include <string>

namespace http = kio::http;

void routes(http::Router& r) {
#if KIO_CASE == 0
  r.get("/a", [](http::Request&) { return http::Response::text("a"); });
  r.get("/b", [](const http::Request&) { return http::Response::text("b"); });
  r.get("/c", [](auto&) { return http::Response::text("c"); });
  r.get("/d",
        [](http::Request&) -> kio::Task<http::Response> { co_return http::Response::text("d"); });
  r.get("/e", http::Response::text("e"));  // a fixed response (not a function)
#elif KIO_CASE == 1                        // returns a string
  r.get("/", [](http::Request&) { return std::string("hi"); });
#elif KIO_CASE == 2                        // takes no request
  r.get("/", [] { return http::Response::text("hi"); });
#elif KIO_CASE == 3                        // wrong parameter type
  r.get("/", [](int) { return http::Response::text("hi"); });
#elif KIO_CASE == 4                        // asynchronous with the wrong value type
  r.get("/", [](http::Request&) -> kio::Task<std::string> { co_return "hi"; });
#elif KIO_CASE == 5                        // move-only capture
  r.get("/", [p = std::make_unique<int>(1)](http::Request&) { return http::Response(); });
#endif
}

int main() {
  http::Router r;
  routes(r);
}
