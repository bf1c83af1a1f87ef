// Description: Router — literal/`:param`/`*rest` matching with backtracking, 404 vs 405 with
// Allow, any-method routes and unknown methods, HEAD falling back to GET, "OPTIONS *", pattern
// errors, the RequestHandler concept (wrong signatures: handler_signature_check.sh).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kio/http/router.hpp"

namespace http = kio::http;

namespace {

// What RequestHandler accepts and rejects (the compile errors themselves are checked by
// handler_signature_check.sh).
using SyncOk = decltype([](http::Request&) { return http::Response(); });
using ConstOk = decltype([](const http::Request&) { return http::Response(); });
using AsyncOk =
    decltype([](http::Request&) -> kio::Task<http::Response> { co_return http::Response(); });
using ReturnsString = decltype([](http::Request&) { return std::string(); });
using NoRequest = decltype([] { return http::Response(); });
static_assert(http::RequestHandler<SyncOk>);
static_assert(http::RequestHandler<ConstOk>);
static_assert(http::RequestHandler<AsyncOk>);
static_assert(http::RequestHandler<http::Response (*)(http::Request&)>);
static_assert(!http::RequestHandler<ReturnsString>);
static_assert(!http::RequestHandler<NoRequest>);

http::Handler tag(std::string name) {
  return [name](http::Request&) { return http::Response::text(name); };
}

struct Probe {
  http::Request req;
  http::Router::Match m;
  std::string which;  // the handler's tag
};

Probe probe(const http::Router& r, std::string_view method, std::string_view path) {
  Probe p;
  p.req.method_name = method;
  p.req.method = http::method_from_token(method);
  p.req.path = path;
  p.m = r.match(p.req);
  if (p.m.handler) p.which = std::string(p.m.handler->call(p.req).body());
  return p;
}

http::Router sample() {
  http::Router r;
  r.get("/", tag("root"));
  r.get("/users", tag("users"));
  r.post("/users", tag("create"));
  r.get("/users/:id", tag("user"));
  r.get("/users/me", tag("me"));
  r.del("/users/:id", tag("delete"));
  r.get("/users/:id/posts/:post", tag("post"));
  r.get("/a/:x/c", tag("axc"));
  r.get("/a/b/d", tag("abd"));
  r.get("/static/*file", tag("static"));
  r.any("/echo", tag("echo"));
  r.route("BREW", "/pot", tag("brew"));
  r.get("/slash/", tag("slash"));
  return r;
}

TEST(Router, LiteralAndRoot) {
  auto r = sample();
  EXPECT_EQ(probe(r, "GET", "/").which, "root");
  EXPECT_EQ(probe(r, "GET", "/users").which, "users");
  EXPECT_EQ(probe(r, "POST", "/users").which, "create");
}

TEST(Router, ParamsAreCaptured) {
  auto r = sample();
  auto p = probe(r, "GET", "/users/42");
  EXPECT_EQ(p.which, "user");
  EXPECT_EQ(p.req.param("id"), "42");
  auto q = probe(r, "GET", "/users/7/posts/hello");
  EXPECT_EQ(q.which, "post");
  EXPECT_EQ(q.req.param("id"), "7");
  EXPECT_EQ(q.req.param("post"), "hello");
  EXPECT_EQ(q.req.param("nope"), "");
}

TEST(Router, LiteralBeatsParamAndBacktracks) {
  auto r = sample();
  EXPECT_EQ(probe(r, "GET", "/users/me").which, "me");
  EXPECT_EQ(probe(r, "GET", "/a/b/d").which, "abd");
  auto p = probe(r, "GET", "/a/b/c");  // literal "b" dead-ends, ":x" matches
  EXPECT_EQ(p.which, "axc");
  EXPECT_EQ(p.req.param("x"), "b");
  EXPECT_EQ(p.req.params.size(), 1u);
}

TEST(Router, CatchAll) {
  auto r = sample();
  auto p = probe(r, "GET", "/static/css/site.css");
  EXPECT_EQ(p.which, "static");
  EXPECT_EQ(p.req.param("file"), "css/site.css");
  EXPECT_EQ(probe(r, "GET", "/static/").req.param("file"), "");
  EXPECT_EQ(probe(r, "GET", "/static").m.status, http::Status::not_found);
}

TEST(Router, EmptySegmentsAndTrailingSlash) {
  auto r = sample();
  EXPECT_EQ(probe(r, "GET", "/slash/").which, "slash");
  EXPECT_EQ(probe(r, "GET", "/slash").m.status, http::Status::not_found);
  EXPECT_EQ(probe(r, "GET", "/users/").m.status, http::Status::not_found);  // ":id" is non-empty
  EXPECT_EQ(probe(r, "GET", "//").m.status, http::Status::not_found);
}

TEST(Router, MethodNotAllowedListsAllow) {
  auto r = sample();
  auto p = probe(r, "PUT", "/users");
  EXPECT_EQ(p.m.status, http::Status::method_not_allowed);
  EXPECT_EQ(p.m.allow, "GET, POST, HEAD");
  auto q = probe(r, "PATCH", "/users/3");
  EXPECT_EQ(q.m.status, http::Status::method_not_allowed);
  EXPECT_EQ(q.m.allow, "GET, DELETE, HEAD");
}

TEST(Router, UnknownMethodsReachTheRouter) {
  auto r = sample();
  EXPECT_EQ(probe(r, "BREW", "/pot").which, "brew");
  EXPECT_EQ(probe(r, "WHATEVER", "/echo").which, "echo");
  EXPECT_EQ(probe(r, "WHATEVER", "/users").m.status, http::Status::method_not_allowed);
  EXPECT_EQ(probe(r, "WHATEVER", "/nowhere").m.status, http::Status::not_found);
  EXPECT_EQ(probe(r, "get", "/users").m.status, http::Status::method_not_allowed);  // case
}

TEST(Router, HeadUsesGet) {
  auto r = sample();
  EXPECT_EQ(probe(r, "HEAD", "/users/1").which, "user");
  EXPECT_EQ(probe(r, "HEAD", "/pot").m.status, http::Status::method_not_allowed);
}

TEST(Router, NotFound) {
  auto r = sample();
  EXPECT_EQ(probe(r, "GET", "/nope").m.status, http::Status::not_found);
  EXPECT_EQ(probe(r, "GET", "*").m.status, http::Status::not_found);
  EXPECT_EQ(probe(r, "GET", "").m.status, http::Status::not_found);
}

TEST(Router, OptionsAsteriskAnswersForTheServer) {
  auto r = sample();
  auto p = probe(r, "OPTIONS", "*");
  ASSERT_EQ(p.m.status, http::Status::ok);
  ASSERT_NE(p.m.handler, nullptr);
  http::Response resp = p.m.handler->call(p.req);
  EXPECT_EQ(resp.status(), http::Status::ok);
  EXPECT_EQ(resp.body(), "");
  // Every method a route names, in registration order; HEAD (GET answers it) and OPTIONS added.
  EXPECT_EQ(resp.header_lines(), "Allow: GET, POST, DELETE, BREW, HEAD, OPTIONS\r\n");
  EXPECT_EQ(p.m.allow, "GET, POST, DELETE, BREW, HEAD, OPTIONS");
  // Survives moving the router; an empty router still answers with OPTIONS alone.
  http::Router moved = std::move(r);
  EXPECT_EQ(probe(moved, "OPTIONS", "*").m.handler->call(p.req).header_lines(),
            "Allow: GET, POST, DELETE, BREW, HEAD, OPTIONS\r\n");
  http::Router empty;
  EXPECT_EQ(probe(empty, "OPTIONS", "*").m.handler->call(p.req).header_lines(),
            "Allow: OPTIONS\r\n");
  // Only OPTIONS, only the asterisk: "OPTIONS /users" is routed like any other request.
  EXPECT_EQ(probe(sample(), "OPTIONS", "/users").m.status, http::Status::method_not_allowed);
  EXPECT_EQ(probe(sample(), "GET", "*").m.status, http::Status::not_found);
}

TEST(Router, BadPatternsThrow) {
  http::Router r;
  EXPECT_THROW(r.get("nope", tag("x")), std::invalid_argument);
  EXPECT_THROW(r.get("/a/:", tag("x")), std::invalid_argument);
  EXPECT_THROW(r.get("/a/*rest/b", tag("x")), std::invalid_argument);
  EXPECT_THROW(r.route("G T", "/", tag("x")), std::invalid_argument);
  r.get("/u/:id", tag("x"));
  EXPECT_THROW(r.get("/u/:name/x", tag("x")), std::invalid_argument);
  EXPECT_THROW(r.get("/u/:id", tag("y")), std::invalid_argument);
  EXPECT_THROW(r.get("/:a/:b/:c/:d/:e/:f/:g/:h/:i", tag("x")), std::invalid_argument);
}

// A refused pattern leaves nothing behind: its captures do not conflict with later routes.
TEST(Router, RefusedPatternChangesNothing) {
  http::Router r;
  EXPECT_THROW(r.get("/a/:x/*rest/more", tag("bad")), std::invalid_argument);
  EXPECT_THROW(r.get("/b/*tail/c", tag("bad")), std::invalid_argument);
  EXPECT_THROW(r.get("/c/:1/:2/:3/:4/:5/:6/:7/:8/:9", tag("bad")), std::invalid_argument);
  EXPECT_NO_THROW(r.get("/a/:y", tag("a")));
  EXPECT_NO_THROW(r.get("/c/:z", tag("c")));
  EXPECT_EQ(probe(r, "GET", "/a/1").req.param("y"), "1");
  EXPECT_EQ(probe(r, "GET", "/c/2").which, "c");
  EXPECT_EQ(probe(r, "GET", "/b/x").m.status, http::Status::not_found);
}

TEST(Router, AsyncHandlersAreMarked) {
  http::Router r;
  r.get("/s", [](http::Request&) { return http::Response(); });
  r.get("/a", [](http::Request&) -> kio::Task<http::Response> { co_return http::Response(); });
  EXPECT_FALSE(probe(r, "GET", "/s").m.handler->is_async());
  http::Request req;
  req.method_name = "GET";
  req.path = "/a";
  EXPECT_TRUE(r.match(req).handler->is_async());
}

}  // namespace

TEST(Router, StaticRoutesGiveWhatTheWalkGives) {
  // Static routes are found by a table lookup: it must agree with the trie walk, including
  // falling through to captures when the static route does not take the method, HEAD taking
  // GET, any-method routes, unknown methods, and routes added after others at the same node.
  http::Router r;
  r.get("/a/b", tag("static-get"));
  r.post("/a/:x", tag("param-post"));
  r.route("BREW", "/a/b", tag("static-brew"));
  r.any("/a/*rest", tag("rest-any"));
  r.put("/a/b", tag("static-put"));  // added last: the node's method table is rebuilt
  r.get("/c/d:e", tag("literal-colon"));
  EXPECT_EQ(probe(r, "GET", "/a/b").which, "static-get");
  EXPECT_EQ(probe(r, "HEAD", "/a/b").which, "static-get");
  EXPECT_EQ(probe(r, "PUT", "/a/b").which, "static-put");
  EXPECT_EQ(probe(r, "BREW", "/a/b").which, "static-brew");
  EXPECT_EQ(probe(r, "POST", "/a/b").which, "param-post");  // not the static node's method
  EXPECT_EQ(probe(r, "POST", "/a/b").req.param("x"), "b");
  EXPECT_EQ(probe(r, "DELETE", "/a/b").which, "rest-any");
  EXPECT_EQ(probe(r, "WHATEVER", "/a/b").which, "rest-any");
  EXPECT_EQ(probe(r, "GET", "/a/b/").which, "rest-any");
  EXPECT_EQ(probe(r, "GET", "/a/bb").which, "rest-any");
  EXPECT_EQ(probe(r, "GET", "/c/d:e").which, "literal-colon");
  EXPECT_EQ(probe(r, "GET", "/c/d").m.status, http::Status::not_found);
  // A fixed response is a handler like any other.
  r.get("/fixed", http::Response::text("fixed"));
  auto f = probe(r, "GET", "/fixed");
  EXPECT_EQ(f.which, "fixed");
  ASSERT_NE(f.m.handler, nullptr);
  EXPECT_NE(f.m.handler->fixed(), nullptr);
  EXPECT_EQ(probe(r, "GET", "/a/b").m.handler->fixed(), nullptr);
}

TEST(Router, ManyStaticRoutesOfMixedLengthsAreEachFound) {
  // The static table is ordered by length first, then bytes. Whatever finds them (the table, or
  // the walk behind it), every route added in any order is found, and paths between them (same
  // length and other bytes, a prefix, an extension) are not.
  const std::vector<std::string> paths = {"/zz", "/",    "/b",       "/a",    "/abc",  "/ab",
                                          "/ba", "/a/b", "/metrics", "/aaaa", "/zzzz", "/m"};
  http::Router r;
  for (const std::string& p : paths)
    r.get(p, tag("t" + p));
  for (const std::string& p : paths)
    EXPECT_EQ(probe(r, "GET", p).which, "t" + p) << p;
  for (std::string_view miss : {"/c", "/aa", "/abd", "/zzz", "/metricz", "/aaaaa", "/a/c"})
    EXPECT_EQ(probe(r, "GET", miss).m.status, http::Status::not_found) << miss;
}
