// kio::http::Router — maps method + path to a handler, with `:param` and `*rest` captures.
//
//   kio::http::Router router;
//   router.get("/users/:id", [](kio::http::Request& r) {
//     return kio::http::Response::text(std::string(r.param("id")));
//   });
//   router.route("*", "/echo", echo);          // any method, even ones kio does not know
//   router.get("/static/*file", serve_file);   // "/static/a/b.css" -> file = "a/b.css"
//   router.static_dir("/assets", "/srv/www");  // files, with ranges and 304s (static_files.hpp)
//
// Patterns start with '/'; segments are literal, `:name` (one non-empty segment) or, last only,
// `*name` (the rest of the path, slashes included, possibly empty). Literal segments win over
// `:name`, which wins over `*name`; matching backtracks, so "/a/:x/c" and "/a/b/d" coexist.
// Methods are exact tokens ("GET", "BREW"); "*" accepts any method. A GET route also answers
// HEAD. A path that matches with no route for the method gives 405 with an Allow list;
// otherwise 404. Paths are matched as sent (no percent-decoding); the query is not part of it.
// "OPTIONS *" (asterisk-form, about the server as a whole: RFC 9110 §9.3.7) is answered by the
// router itself: 200, no content, Allow listing every method some route names (with HEAD when GET
// is there, and OPTIONS); "*" routes add none, since they accept any method.
// Handlers: `Response(Request&)` or `Task<Response>(Request&)` (see handler.hpp); any other
// signature fails to compile at the route() / get() call with a static_assert saying what the
// signature must be.
// Errors: route() throws std::invalid_argument for a malformed pattern, more than
// PathParams::capacity captures, or a duplicate method + pattern.
// Threading: build the router before starting the server; after that it is only read (from
// every core), so matching is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "kio/http/handler.hpp"
#include "kio/http/request.hpp"
#include "kio/http/status.hpp"

namespace kio::http {

struct StaticOptions;

class Router {
 public:
  Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;
  ~Router();

  Router& route(std::string_view method, std::string_view pattern, Handler handler);
  Router& get(std::string_view pattern, Handler h) { return route("GET", pattern, std::move(h)); }
  Router& post(std::string_view pattern, Handler h) { return route("POST", pattern, std::move(h)); }
  Router& put(std::string_view pattern, Handler h) { return route("PUT", pattern, std::move(h)); }
  Router& patch(std::string_view pattern, Handler h) {
    return route("PATCH", pattern, std::move(h));
  }
  Router& del(std::string_view pattern, Handler h) {
    return route("DELETE", pattern, std::move(h));
  }
  Router& any(std::string_view pattern, Handler h) { return route("*", pattern, std::move(h)); }
  /// Serves the files under `dir` at `prefix` (GET and HEAD); see static_files.hpp.
  Router& static_dir(std::string_view prefix, std::string_view dir);
  Router& static_dir(std::string_view prefix, std::string_view dir, const StaticOptions& opts);

  struct Match {
    /// ok: `handler` is set. not_found / method_not_allowed: answer that status.
    Status status = Status::not_found;
    const Handler* handler = nullptr;
    /// For 405: the methods the path accepts, "GET, HEAD, POST" (for "OPTIONS *": the server's).
    std::string_view allow;
  };
  /// Finds the handler for `req` (method_name and path) and stores the captures in req.params.
  Match match(Request& req) const noexcept;

 private:
  struct Node;
  std::unique_ptr<Node> root_;
};

}  // namespace kio::http
