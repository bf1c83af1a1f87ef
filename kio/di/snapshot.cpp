// Registry::snapshot / dump and StartReport::message.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "kio/core/submit_to.hpp"
#include "kio/di/detail/on_each.hpp"
#include "kio/di/registry.hpp"

namespace kio::di {

std::string StartReport::message() const {
  std::string out;
  for (const std::string& l : lines_) {
    out += l;
    out += '\n';
  }
  return out;
}

namespace {

struct Gathered {
  std::vector<ServiceInfo> infos;
  std::vector<detail::EdgeRecord> edges;
};

std::string ms(std::chrono::nanoseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f ms", static_cast<double>(d.count()) / 1e6);
  return buf;
}

std::string dot_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

const char* color_of(const ServiceInfo& s) {
  bool any_failed = false, any_blocked = false, all_active = !s.instances.empty(),
       any_stopped = false;
  for (const InstanceInfo& i : s.instances) {
    any_failed |= i.state == State::failed;
    any_blocked |= i.state == State::blocked;
    any_stopped |= i.state == State::stopped;
    all_active &= i.state == State::active;
  }
  if (any_failed) return "red";
  if (any_blocked) return "orange";
  if (all_active) return "darkgreen";
  if (any_stopped) return "black";
  return "gray";
}

}  // namespace

Task<std::vector<ServiceInfo>> Registry::snapshot() {
  std::vector<std::vector<detail::InstanceRecord>> per(parts_.size());
  std::vector<std::vector<detail::EdgeRecord>> edges(parts_.size());
  if (!parts_.empty()) {
    const detail::Cores all{0, static_cast<unsigned>(parts_.size())};
    // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines): awaited in this full-expression, so the closure outlives its coroutines
    co_await detail::on_each(all, [&](unsigned c) -> Task<void> {
      co_await kio::submit_to(c, [&, c] { parts_[c]->collect(per[c], &edges[c], false); });
    });
  }
  std::vector<ServiceInfo> out;
  std::vector<std::size_t> at(defs_.size(), ~std::size_t{0});
  for (std::uint32_t i = 0; i < defs_.size(); ++i) {
    const detail::ServiceDef& d = *defs_[i];
    if (d.removed) continue;
    ServiceInfo s;
    s.id = ServiceId{i};
    s.name = std::string(d.name());
    s.where = d.where;
    s.sharing = d.sharing;
    s.policy = d.policy;
    s.qualifier = std::string(d.qualifier());
    for (unsigned k = 0; k < d.meta->n_ifaces; ++k)
      s.interfaces.push_back(d.meta->ifaces[k].name());
    at[i] = out.size();
    out.push_back(std::move(s));
  }
  for (auto& v : per)
    for (detail::InstanceRecord& r : v)
      if (r.service < at.size() && at[r.service] != ~std::size_t{0})
        out[at[r.service]].instances.push_back(std::move(r.info));
  std::set<std::pair<std::uint32_t, std::uint32_t>> seen;
  for (const auto& v : edges)
    for (const detail::EdgeRecord& e : v) {
      if (e.prov >= at.size() || at[e.prov] == ~std::size_t{0} ||
          !seen.insert({e.prov, e.dep}).second)
        continue;
      out[at[e.prov]].dependents.emplace_back(defs_[e.dep]->name());
    }
  for (ServiceInfo& s : out)
    std::sort(s.instances.begin(), s.instances.end(),
              [](const InstanceInfo& a, const InstanceInfo& b) {
                return a.core != b.core ? a.core < b.core : a.requester < b.requester;
              });
  co_return out;
}

Task<std::string> Registry::dump(DumpFormat format) {
  std::vector<ServiceInfo> infos = co_await snapshot();
  std::string out;
  if (format == DumpFormat::text) {
    out = "kio::di registry: " + std::to_string(infos.size()) + " services on " +
          std::to_string(parts_.size()) + " cores\n";
    for (const ServiceInfo& s : infos) {
      out += s.name + " (" + s.where.to_string() + ")";
      if (!(s.interfaces.size() == 1 && s.interfaces[0] == s.name)) {
        out += " as ";
        for (std::size_t i = 0; i < s.interfaces.size(); ++i)
          out += (i ? ", " : "") + s.interfaces[i];
      }
      if (!s.qualifier.empty()) out += " named \"" + s.qualifier + "\"";
      if (s.sharing == Sharing::per_requester) out += ", per requester";
      if (s.policy == Policy::dynamic) out += ", dynamic";
      out += '\n';
      if (s.instances.empty()) out += "  (no instances)\n";
      for (const InstanceInfo& i : s.instances) {
        out += "  core " + std::to_string(i.core);
        if (!i.requester.empty()) out += " for " + i.requester;
        out += ": " + std::string(to_string(i.state));
        if (i.last_start.count() > 0) out += ", last start " + ms(i.last_start);
        if (!i.error.empty()) out += ": " + i.error;
        out += '\n';
        for (const SlotInfo& sl : i.slots) {
          out += "    parameter " + std::to_string(sl.parameter) + " " + sl.slot + ": ";
          if (!sl.bound.empty()) {
            for (std::size_t b = 0; b < sl.bound.size(); ++b)
              out += (b ? ", " : "") + sl.bound[b];
          } else if (sl.waiting_for.empty()) {
            out += "(none bound)";
          }
          if (!sl.waiting_for.empty())
            out += std::string(sl.bound.empty() ? "" : "; ") + "waiting for " + sl.waiting_for;
          out += '\n';
        }
      }
    }
    co_return out;
  }
  // Graphviz: one node per service, one edge per (dependent, parameter, provider).
  out = "digraph kio_di {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n";
  for (const ServiceInfo& s : infos) {
    std::string states;
    for (const InstanceInfo& i : s.instances)
      states += "\\ncore " + std::to_string(i.core) + ": " + std::string(to_string(i.state));
    out += "  s" + std::to_string(s.id.index) + " [label=\"" + dot_escape(s.name) + "\\n" +
           s.where.to_string() + states + "\", color=" + color_of(s) + "];\n";
  }
  std::vector<std::vector<detail::EdgeRecord>> edges(parts_.size());
  if (!parts_.empty()) {
    const detail::Cores all{0, static_cast<unsigned>(parts_.size())};
    std::vector<std::vector<detail::InstanceRecord>> ignore(parts_.size());
    // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines): awaited in this full-expression, so the closure outlives its coroutines
    co_await detail::on_each(all, [&](unsigned c) -> Task<void> {
      co_await kio::submit_to(c, [&, c] { parts_[c]->collect(ignore[c], &edges[c], true); });
    });
  }
  std::set<std::tuple<std::uint32_t, std::uint32_t, unsigned>> seen;
  for (const auto& v : edges)
    for (const detail::EdgeRecord& e : v) {
      if (!seen.insert({e.dep, e.prov, e.slot}).second) continue;
      const detail::ServiceDef& d = *defs_[e.dep];
      const detail::SlotSpec& sp = d.meta->slots[e.slot];
      out += "  s" + std::to_string(e.dep) + " -> s" + std::to_string(e.prov) + " [label=\"" +
             std::to_string(sp.param) + " " + dot_escape(detail::slot_text(sp)) + "\"];\n";
    }
  out += "}\n";
  co_return out;
}

}  // namespace kio::di
