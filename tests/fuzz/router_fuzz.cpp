// Fuzz target: the Router against a model written here plainly (a list of routes, each pattern
// matched against the path on its own). The input is lines: routes to add ("<m><pattern>"),
// then requests ("<m><path>"), the first byte of a line choosing the method. Checks: route()
// accepts exactly the valid patterns and refuses (invalid_argument) duplicates and conflicting
// capture names; match() finds the route the model finds (literal before :param before *rest,
// position by position; exact method, then "*", then GET for HEAD), with the same captures, or
// the same 405 with the same Allow, or 404; "OPTIONS *" is answered for the whole server.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "kio/http/router.hpp"

namespace {

using kio_fuzz::fail;
namespace http = kio::http;

constexpr std::string_view route_methods[] = {"GET", "POST", "HEAD", "*", "BREW", "OPTIONS"};
constexpr std::string_view request_methods[] = {"GET",  "HEAD",    "POST", "PUT",
                                                "BREW", "OPTIONS", "get",  "DELETE"};

enum Kind { literal = 0, param = 1, rest = 2 };
struct Seg {
  Kind kind;
  std::string text;  // literal text, or capture name
};
struct Route {
  std::string method;
  std::vector<Seg> segs;
  int id;
};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    std::size_t at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

/// The pattern's segments, or nullopt when route() must refuse it on its own.
std::optional<std::vector<Seg>> model_pattern(std::string_view p) {
  if (p.empty() || p[0] != '/') return std::nullopt;
  std::vector<std::string_view> parts = split(p.substr(1), '/');
  std::vector<Seg> segs;
  std::size_t captures = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string_view s = parts[i];
    if (!s.empty() && s[0] == ':') {
      if (s.size() == 1) return std::nullopt;
      segs.push_back({param, std::string(s.substr(1))});
      ++captures;
    } else if (!s.empty() && s[0] == '*') {
      if (i + 1 != parts.size()) return std::nullopt;
      segs.push_back({rest, std::string(s.substr(1))});
      ++captures;
    } else {
      segs.push_back({literal, std::string(s)});
    }
  }
  if (captures > http::PathParams::capacity) return std::nullopt;
  return segs;
}

/// Whether adding `q` next to `p` is refused: same position, different capture names.
bool conflicts(const std::vector<Seg>& p, const std::vector<Seg>& q) {
  for (std::size_t i = 0; i < p.size() && i < q.size(); ++i) {
    if (p[i].kind != q[i].kind) return false;
    if (p[i].kind == literal) {
      if (p[i].text != q[i].text) return false;
    } else if (p[i].text != q[i].text) {
      return true;
    }
  }
  return false;
}
bool same_shape(const std::vector<Seg>& p, const std::vector<Seg>& q) {
  if (p.size() != q.size()) return false;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i].kind != q[i].kind || p[i].text != q[i].text) return false;
  return true;
}

/// Captures when `segs` matches `path` ("/..."), else nullopt.
std::optional<std::vector<std::pair<std::string, std::string>>> model_match(
    const std::vector<Seg>& segs, std::string_view path) {
  std::vector<std::pair<std::string, std::string>> caps;
  std::string_view rest_of = path.substr(1);
  std::vector<std::string_view> parts = split(rest_of, '/');
  std::size_t offset = 0;  // of parts[i] in rest_of
  for (std::size_t i = 0; i < segs.size(); ++i) {
    if (i >= parts.size()) return std::nullopt;
    if (segs[i].kind == rest) {
      caps.emplace_back(segs[i].text, std::string(rest_of.substr(offset)));
      return caps;
    }
    if (segs[i].kind == literal && parts[i] != segs[i].text) return std::nullopt;
    if (segs[i].kind == param) {
      if (parts[i].empty()) return std::nullopt;
      caps.emplace_back(segs[i].text, std::string(parts[i]));
    }
    offset += parts[i].size() + 1;
  }
  if (parts.size() != segs.size()) return std::nullopt;
  return caps;
}

std::vector<int> kinds(const std::vector<Seg>& segs) {
  std::vector<int> k;
  for (const Seg& s : segs)
    k.push_back(s.kind);
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t nroutes = data[0] % 12;
  std::vector<std::string_view> lines = split(in, '\n');

  http::Router router;
  std::vector<Route> model;
  std::size_t li = 0;
  for (; li < lines.size() && li < nroutes; ++li) {
    std::string_view line = lines[li];
    if (line.empty()) continue;
    std::string method(route_methods[static_cast<unsigned char>(line[0]) % 6]);
    std::string_view pattern = line.substr(1);
    const int id = static_cast<int>(li);
    bool threw = false;
    try {
      router.route(method, pattern,
                   [id](http::Request&) { return http::Response::text(std::to_string(id)); });
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    std::optional<std::vector<Seg>> segs = model_pattern(pattern);
    bool refuse = !segs;
    if (segs)
      for (const Route& r : model)
        if (conflicts(r.segs, *segs) || (same_shape(r.segs, *segs) && r.method == method))
          refuse = true;
    if (threw != refuse)
      fail("route() disagrees with the model",
           method + " " + kio_fuzz::printable(pattern) + (threw ? " threw" : " added"));
    if (!threw) model.push_back({method, std::move(*segs), id});
  }

  for (; li < lines.size(); ++li) {
    std::string_view line = lines[li];
    if (line.empty()) continue;
    http::Request req;
    req.method_name = request_methods[static_cast<unsigned char>(line[0]) % 8];
    req.method = http::method_from_token(req.method_name);
    req.path = line.substr(1);
    http::Router::Match m = router.match(req);

    if (req.method == http::Method::options && req.path == "*") {
      KIO_FUZZ_CHECK(m.status == http::Status::ok && m.handler != nullptr);
      continue;
    }
    // The model: the best matching shape (literal < :param < *rest, position by position)
    // among routes whose method fits; else the best matching shape at all (405); else 404.
    auto accepts = [&](const Route& r) {
      return r.method == req.method_name || r.method == "*" ||
             (req.method == http::Method::head && r.method == "GET");
    };
    const Route* best = nullptr;
    const Route* best_any = nullptr;
    int best_rank = 0;
    for (const Route& r : model) {
      if (req.path.empty() || req.path[0] != '/') break;
      if (!model_match(r.segs, req.path)) continue;
      if (!best_any || kinds(r.segs) < kinds(best_any->segs)) best_any = &r;
      if (!accepts(r)) continue;
      // Within one shape: the exact method, then "*", then GET answering HEAD.
      int rank = r.method == req.method_name ? 0 : r.method == "*" ? 1 : 2;
      if (!best || kinds(r.segs) < kinds(best->segs) ||
          (same_shape(r.segs, best->segs) && rank < best_rank)) {
        best = &r;
        best_rank = rank;
      }
    }
    const std::string what = std::string(req.method_name) + " " + kio_fuzz::printable(req.path);
    if (best) {
      KIO_FUZZ_CHECK(m.status == http::Status::ok && m.handler != nullptr, what);
      std::string got = std::string(m.handler->call(req).body());
      KIO_FUZZ_CHECK(got == std::to_string(best->id),
                     what + ": router chose " + got + ", model " + std::to_string(best->id));
      auto caps = *model_match(best->segs, req.path);
      KIO_FUZZ_CHECK(req.params.size() == caps.size(), what);
      std::size_t i = 0;
      for (const http::Header& p : req.params) {
        KIO_FUZZ_CHECK(p.name == caps[i].first && p.value == caps[i].second, what);
        ++i;
      }
    } else if (best_any) {
      KIO_FUZZ_CHECK(m.status == http::Status::method_not_allowed, what);
      std::string allow;
      bool get = false, head = false;
      for (const Route& r : model)
        if (same_shape(r.segs, best_any->segs)) {
          if (!allow.empty()) allow += ", ";
          allow += r.method;
          get |= r.method == "GET";
          head |= r.method == "HEAD";
        }
      if (get && !head) allow += ", HEAD";
      KIO_FUZZ_CHECK(m.allow == allow, what + ": Allow " + std::string(m.allow) + " vs " + allow);
    } else {
      KIO_FUZZ_CHECK(m.status == http::Status::not_found, what);
    }
  }
  return 0;
}
