// Router: a trie of path segments; each node holds the handlers of the routes ending there.
// Fast paths, computed when routes are added: each node resolves the methods kio knows to their
// handler in an array (no string compares per request), and the root keeps the routes without
// captures in a sorted table, so a static path is found by one binary search. Both give exactly
// what the trie walk gives (the walk tries literal segments first, so a static route that accepts
// the method is what it finds first); anything else falls back to the walk.
#include "kio/http/router.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>
#include <vector>

#include "kio/http/detail/chars.hpp"

namespace kio::http {

namespace {
/// The order of the static-route table: by length first, so most probes of a lookup end at a
/// length compare without comparing bytes.
bool static_less(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}
/// Where `path` is, or would go, in a table sorted by static_less.
template <class Table>
auto static_slot(Table& st, std::string_view path) noexcept {
  return std::lower_bound(st.begin(), st.end(), path, [](const auto& e, std::string_view p) {
    return static_less(e.first, p);
  });
}
}  // namespace

struct Router::Node {
  std::vector<std::pair<std::string, std::unique_ptr<Node>>> literals;
  std::unique_ptr<Node> param;  // ":name"
  std::string param_name;
  std::unique_ptr<Node> rest;  // "*name"
  std::string rest_name;
  std::vector<std::pair<std::string, Handler>> handlers;  // method -> handler
  std::unique_ptr<Handler> any;                           // method "*"
  std::string allow;
  /// The handler a request with a known method gets here (exact method, else "*", else GET for
  /// HEAD), indexed by Method; Method::other goes through `handlers`.
  std::array<const Handler*, static_cast<std::size_t>(Method::other)> resolved{};
  // Root only: the nodes of routes without captures, by pattern, sorted by static_less.
  std::vector<std::pair<std::string, const Node*>> statics;
  // Root only: every method some route names, for "OPTIONS *" (the server as a whole).
  std::vector<std::string> server_methods;
  std::string server_allow = "OPTIONS";
  std::unique_ptr<Handler> options_star;

  bool has_routes() const noexcept { return any || !handlers.empty(); }

  void resolve() noexcept {
    for (std::size_t i = 0; i < resolved.size(); ++i) {
      const auto m = static_cast<Method>(i);
      const Handler* h = nullptr;
      for (auto& [name, handler] : handlers)
        if (name == to_string(m)) h = &handler;
      if (!h && any) h = any.get();
      if (!h && m == Method::head)
        for (auto& [name, handler] : handlers)
          if (name == "GET") h = &handler;
      resolved[i] = h;
    }
  }

  void rebuild_allow() {
    allow.clear();
    bool get = false, head = false;
    for (auto& [m, h] : handlers) {
      if (!allow.empty()) allow += ", ";
      allow += m;
      get |= m == "GET";
      head |= m == "HEAD";
    }
    if (get && !head) allow += ", HEAD";
  }

  void add_server_method(std::string_view m) {
    for (const std::string& known : server_methods)
      if (known == m) return;
    server_methods.emplace_back(m);
    bool get = false, head = false, options = false;
    server_allow.clear();
    for (const std::string& known : server_methods) {
      server_allow += known;
      server_allow += ", ";
      get |= known == "GET";
      head |= known == "HEAD";
      options |= known == "OPTIONS";
    }
    if (get && !head) server_allow += "HEAD, ";
    if (!options) server_allow += "OPTIONS, ";
    server_allow.resize(server_allow.size() - 2);
  }
};

Router::Router() : root_(std::make_unique<Node>()) {
  // "OPTIONS *" is about the server, not a resource (RFC 9110 §9.3.7): 200, Allow, no content.
  // The root node is on the heap, so the pointer survives moves of the Router.
  const std::string* allow = &root_->server_allow;
  root_->options_star = std::make_unique<Handler>(
      [allow](Request&) { return Response(Status::ok).header("Allow", *allow); });
}
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;
Router::~Router() = default;

namespace {

[[noreturn]] void bad_pattern(std::string_view pattern, const char* why) {
  throw std::invalid_argument("kio::http::Router: pattern \"" + std::string(pattern) +
                              "\": " + why);
}

bool valid_method(std::string_view m) {
  if (m == "*") return true;
  if (m.empty()) return false;
  for (char c : m)
    if (!detail::is(c, detail::tchar)) return false;
  return true;
}

}  // namespace

Router& Router::route(std::string_view method, std::string_view pattern, Handler handler) {
  if (!valid_method(method))
    throw std::invalid_argument("kio::http::Router: invalid method \"" + std::string(method) +
                                "\"");
  if (pattern.empty() || pattern[0] != '/') bad_pattern(pattern, "must start with '/'");
  // Two passes: the first only checks (syntax, and capture names against the nodes that
  // exist), the second builds. A refused pattern so leaves the trie as it was.
  auto walk_pattern = [&](bool build) -> Node* {
    Node* n = root_.get();  // nullptr once the check pass leaves the existing nodes
    std::string_view rest = pattern.substr(1);
    std::size_t captures = 0;
    for (;;) {
      std::size_t slash = rest.find('/');
      std::string_view seg = rest.substr(0, slash);
      if (!seg.empty() && (seg[0] == ':' || seg[0] == '*')) {
        const bool is_param = seg[0] == ':';
        std::string_view name = seg.substr(1);
        if (is_param && name.empty()) bad_pattern(pattern, "':' needs a name");
        if (!is_param && slash != std::string_view::npos)
          bad_pattern(pattern, "'*' must be the last segment");
        if (++captures > PathParams::capacity) bad_pattern(pattern, "too many captures");
        if (n) {
          std::unique_ptr<Node>& child = is_param ? n->param : n->rest;
          std::string& child_name = is_param ? n->param_name : n->rest_name;
          if (child && child_name != name)
            bad_pattern(pattern, is_param ? "conflicting parameter names at the same position"
                                          : "conflicting '*' names at the same position");
          if (!child && build) {
            child = std::make_unique<Node>();
            child_name = name;
          }
          n = child.get();
        }
      } else if (n) {
        Node* next = nullptr;
        for (auto& [text, child] : n->literals)
          if (text == seg) next = child.get();
        if (!next && build) {
          n->literals.emplace_back(std::string(seg), std::make_unique<Node>());
          next = n->literals.back().second.get();
        }
        n = next;
      }
      if (slash == std::string_view::npos) break;
      rest = rest.substr(slash + 1);
    }
    return n;
  };
  walk_pattern(false);
  Node* n = walk_pattern(true);
  if (method == "*") {
    if (n->any) bad_pattern(pattern, "duplicate route for any method");
    n->any = std::make_unique<Handler>(std::move(handler));
  } else {
    for (auto& [m, h] : n->handlers)
      if (m == method) bad_pattern(pattern, "duplicate route");
    n->handlers.emplace_back(std::string(method), std::move(handler));
    n->rebuild_allow();
    root_->add_server_method(method);
  }
  n->resolve();  // (handlers may have moved: every pointer is taken again)
  if (pattern.find_first_of(":*") == std::string_view::npos) {
    auto& st = root_->statics;
    auto at = static_slot(st, pattern);
    if (at == st.end() || at->first != pattern) st.emplace(at, std::string(pattern), n);
  }
  return *this;
}

namespace {

/// The handler of node `n` for the request's method, or nullptr.
template <class NodeT>
const Handler* resolve(const NodeT& n, const Request& req) noexcept {
  if (req.method != Method::other) return n.resolved[static_cast<std::size_t>(req.method)];
  for (auto& [method, h] : n.handlers)
    if (method == req.method_name) return &h;
  return n.any.get();
}

struct Walk {
  Request& req;
  const Handler* found = nullptr;
  const std::string* allow = nullptr;  // first node whose path matched without the method
};

template <class NodeT>
bool walk(const NodeT& n, std::string_view rest, bool more, Walk& w) {
  if (!more) {
    if (!n.has_routes()) return false;
    if (const Handler* h = resolve(n, w.req)) {
      w.found = h;
      return true;
    }
    if (!w.allow) w.allow = &n.allow;
    return false;
  }
  std::size_t slash = rest.find('/');
  std::string_view seg = rest.substr(0, slash);
  std::string_view next =
      slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  bool next_more = slash != std::string_view::npos;
  for (auto& [text, child] : n.literals)
    if (text == seg && walk(*child, next, next_more, w)) return true;
  PathParams& params = w.req.params;
  std::size_t mark = params.size();
  if (n.param && !seg.empty()) {
    params.push(n.param_name, seg);
    if (walk(*n.param, next, next_more, w)) return true;
    params.resize(mark);
  }
  if (n.rest) {
    params.push(n.rest_name, rest);
    if (walk(*n.rest, {}, false, w)) return true;
    params.resize(mark);
  }
  return false;
}

}  // namespace

Router::Match Router::match(Request& req) const noexcept {
  req.params.clear();
  if (req.method == Method::options && req.path == "*")
    return Match{Status::ok, root_->options_star.get(), root_->server_allow};
  if (req.path.empty() || req.path[0] != '/') return {};
  if (const auto& st = root_->statics; !st.empty()) {
    auto at = static_slot(st, req.path);
    if (at != st.end() && at->first == req.path)
      if (const Handler* h = resolve(*at->second, req)) return Match{Status::ok, h, {}};
  }
  Walk w{req};
  if (walk(*root_, req.path.substr(1), true, w)) return Match{Status::ok, w.found, {}};
  if (w.allow) return Match{Status::method_not_allowed, nullptr, *w.allow};
  return {};
}

}  // namespace kio::http
