// kio::di: type names, the stamp calibration, properties and errors.
#include <chrono>
#include <cstdio>
#include <string>

#include "kio/di/detail/clock.hpp"
#include "kio/di/detail/node.hpp"
#include "kio/di/detail/type_name.hpp"
#include "kio/di/errors.hpp"
#include "kio/di/properties.hpp"

namespace kio::di {

namespace detail {

std::string clean_type_name(std::string_view pf) {
  // gcc: "... [with T = ns::X; std::string_view = ...]"; clang: "... [T = ns::X]"
  std::size_t b = pf.find("T = ");
  if (b == std::string_view::npos) return std::string(pf);
  b += 4;
  int depth = 0;
  std::size_t e = b;
  for (; e < pf.size(); ++e) {
    const char c = pf[e];
    if (c == '<' || c == '(' || c == '[' || c == '{') ++depth;
    if (c == '>' || c == ')' || c == '}') --depth;
    if (c == ']') {
      if (depth == 0) break;
      --depth;
    }
    if (c == ';' && depth == 0) break;
  }
  const std::string_view raw = pf.substr(b, e - b);
  // Drop namespace qualifiers (including "{anonymous}::" and "(anonymous namespace)::").
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == ':' && i + 1 < raw.size() && raw[i + 1] == ':') {
      auto ident = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
      };
      // One qualifier: "ns", "{anonymous}", "(anonymous namespace)" or "fn()" (local types).
      if (!out.empty() && (out.back() == '}' || out.back() == ')')) {
        const char open = out.back() == '}' ? '{' : '(';
        while (!out.empty() && out.back() != open)
          out.pop_back();
        if (!out.empty()) out.pop_back();
      }
      while (!out.empty() && ident(out.back()))
        out.pop_back();
      ++i;
      continue;
    }
    out += raw[i];
  }
  return out;
}

double seconds_per_stamp() noexcept {
  static const double value = [] {
#if defined(__x86_64__) || defined(__i386__)
    using clk = std::chrono::steady_clock;
    const auto t0 = clk::now();
    const std::uint64_t s0 = stamp();
    while (clk::now() - t0 < std::chrono::milliseconds(2)) {
    }
    const auto t1 = clk::now();
    const std::uint64_t s1 = stamp();
    const double secs = std::chrono::duration<double>(t1 - t0).count();
    return s1 > s0 ? secs / static_cast<double>(s1 - s0) : 1e-9;
#else
    return 1e-9;  // steady_clock ticks are nanoseconds
#endif
  }();
  return value;
}

}  // namespace detail

std::string to_string(const Value& v) {
  struct V {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", d);
      return buf;
    }
    std::string operator()(const std::string& s) const { return "\"" + s + "\""; }
  };
  return std::visit(V{}, v);
}

const Value* Properties::find(std::string_view key) const noexcept {
  for (const auto& [k, v] : items_)
    if (k == key) return &v;
  return nullptr;
}

void Properties::put(std::string_view key, Value v) {
  for (auto& [k, old] : items_)
    if (k == key) {
      old = std::move(v);
      return;
    }
  if (items_.empty()) items_.reserve(2);  // most services have one or two keys
  items_.emplace_back(std::string(key), std::move(v));
}

std::string Properties::to_string() const {
  std::string out = "{";
  for (std::size_t i = 0; i < items_.size(); ++i) {
    if (i) out += ", ";
    out += items_[i].first + ": " + kio::di::to_string(items_[i].second);
  }
  return out + "}";
}

namespace {
std::string join(const std::vector<Problem>& ps) {
  std::string out;
  for (const Problem& p : ps) {
    if (!out.empty()) out += '\n';
    out += p.text;
  }
  return out;
}
}  // namespace

GraphError::GraphError(std::vector<Problem> problems)
    : std::logic_error(join(problems)), problems_(std::move(problems)) {}

namespace detail {
const Properties& ServiceDef::properties() const noexcept {
  static const Properties none;
  return extras ? extras->properties : none;
}
}  // namespace detail

}  // namespace kio::di
