#include "kio/di/detail/plan.hpp"

#include <algorithm>
#include <string>

namespace kio::di::detail {

namespace {

std::string where_text(const ServiceDef& d) {
  return d.where.to_string();
}

/// "PgStore core 0" / "MemStore every core".
std::string short_label(const ServiceDef& d) {
  return std::string(d.name()) + " " + where_text(d);
}

std::string list(const std::vector<ServiceDef*>& ds) {
  std::string out;
  for (std::size_t i = 0; i < ds.size(); ++i) {
    if (i) out += ", ";
    out += short_label(*ds[i]);
  }
  return out;
}

bool same_core_ok(const ServiceDef& consumer, const ServiceDef& provider) {
  if (provider.where.every_core()) return true;
  return !consumer.where.every_core() && consumer.where.core() == provider.where.core();
}

bool single(SlotKind k) {
  return k == SlotKind::ref || k == SlotKind::opt || k == SlotKind::remote;
}

std::string prefix(const ServiceDef& d, const SlotSpec& s) {
  return d.label() + " parameter " + std::to_string(s.param) + " " + slot_text(s) + ": ";
}

}  // namespace

std::string slot_text(const SlotSpec& s) {
  std::string out;
  switch (s.kind) {
    case SlotKind::ref:
      out = "Ref<";
      break;
    case SlotKind::opt:
      out = "Opt<";
      break;
    case SlotKind::remote:
      out = "Remote<";
      break;
    case SlotKind::all:
      out = "All<";
      break;
    case SlotKind::per_core:
      out = "PerCore<";
      break;
  }
  out += s.type_name();
  if (!s.qualifier.empty()) {
    out += ", named<\"";
    out += s.qualifier;
    out += "\">";
  }
  if (s.kind == SlotKind::all && s.min > 0) out += ", " + std::to_string(s.min);
  out += '>';
  return out;
}

bool is_hard(const ServiceDef& d, unsigned k) noexcept {
  const SlotSpec& s = d.meta->slots[k];
  const bool optional = s.kind == SlotKind::opt || (s.kind == SlotKind::all && s.min == 0);
  const bool hooks = d.policy == Policy::dynamic && ((d.meta->hook_mask >> k) & 1u);
  return !(optional && hooks);
}

void Plan::add(ServiceDef* d) {
  const ServiceMeta& m = *d->meta;
  for (unsigned i = 0; i < m.n_ifaces; ++i) {
    Providers& p = providers_[m.ifaces[i].type];
    p.all.defs.push_back(d);
    if (!d->qualifier().empty()) {
      auto it = std::find_if(p.by_qualifier.begin(), p.by_qualifier.end(),
                             [&](const auto& b) { return b.first == d->qualifier(); });
      if (it == p.by_qualifier.end()) {
        p.by_qualifier.emplace_back(std::string(d->qualifier()), DefList{});
        it = p.by_qualifier.end() - 1;
      }
      it->second.defs.push_back(d);
    }
  }
  for (unsigned k = 0; k < m.n_slots; ++k) {
    std::vector<ServiceDef*>& v = consumers_[m.slots[k].type].defs;
    if (v.empty() || v.back() != d) v.push_back(d);
  }
}

void Plan::DefList::drop(const ServiceDef* d) {
  if (++dead * 2 <= defs.size()) return;
  std::erase_if(defs, [d](const ServiceDef* x) { return x == d || x->removed; });
  dead = 0;
}

void Plan::remove(ServiceDef* d) {
  const ServiceMeta& m = *d->meta;
  for (unsigned i = 0; i < m.n_ifaces; ++i) {
    auto it = providers_.find(m.ifaces[i].type);
    if (it == providers_.end()) continue;
    it->second.all.drop(d);
    for (auto& b : it->second.by_qualifier)
      if (b.first == d->qualifier()) b.second.drop(d);
  }
  for (unsigned k = 0; k < m.n_slots; ++k) {
    bool seen = false;  // a service is listed once per interface, however many slots of it
    for (unsigned j = 0; j < k && !seen; ++j)
      seen = m.slots[j].type == m.slots[k].type;
    if (seen) continue;
    auto it = consumers_.find(m.slots[k].type);
    if (it != consumers_.end()) it->second.drop(d);
  }
}

const std::vector<ServiceDef*>* Plan::lookup(TypeKey t, std::string_view q) const {
  auto it = providers_.find(t);
  if (it == providers_.end()) return nullptr;
  if (q.empty()) return &it->second.all.defs;
  for (const auto& b : it->second.by_qualifier)
    if (b.first == q) return &b.second.defs;
  return nullptr;
}

void Plan::candidates(const ServiceDef& consumer, const SlotSpec& s, std::vector<ServiceDef*>& out,
                      std::size_t* rejected) const {
  out.clear();
  const std::vector<ServiceDef*>* v = lookup(s.type, s.qualifier);
  if (!v) return;
  std::size_t primaries = 0;
  for (ServiceDef* p : *v) {
    if (p->removed) continue;
    bool ok = true;
    for (const Filter& f : consumer.filters())
      if (f.type() == s.type && !f.accepts(p->properties())) {
        ok = false;
        break;
      }
    if (!ok) {
      if (rejected) ++*rejected;
      continue;
    }
    out.push_back(p);
    primaries += p->primary ? 1 : 0;
  }
  if (primaries > 0 && primaries < out.size()) {  // primary ones first, order kept otherwise
    std::vector<ServiceDef*> sorted;
    sorted.reserve(out.size());
    for (ServiceDef* p : out)
      if (p->primary) sorted.push_back(p);
    for (ServiceDef* p : out)
      if (!p->primary) sorted.push_back(p);
    out.swap(sorted);
  }
}

void Plan::resolve_slot(const ServiceDef& d, unsigned k, unsigned cores, bool strict,
                        std::vector<ServiceDef*>& chosen, std::vector<Problem>* problems) const {
  const SlotSpec& s = d.meta->slots[k];
  std::size_t rejected = 0;
  candidates(d, s, chosen, &rejected);
  auto report = [&](Problem::Kind kind, const std::string& text) {
    if (problems)
      problems->push_back(Problem{kind, std::string(d.name()), s.param, prefix(d, s) + text});
  };
  auto missing_text = [&] {
    if (rejected == 0) return std::string("no provider registered");
    std::string f;
    for (const Filter& x : d.filters())
      if (x.type() == s.type) f += (f.empty() ? "" : ", ") + x.description();
    return "none of the " + std::to_string(rejected) + " registered providers passes where(" + f +
           ")";
  };
  const bool required = s.min > 0;

  if (s.kind == SlotKind::per_core) {
    if (chosen.empty()) {
      report(Problem::Kind::missing, missing_text());
      return;
    }
    if (chosen.size() > 1) {
      if (chosen[0]->primary && !chosen[1]->primary) {
        chosen.erase(chosen.begin() + 1, chosen.end());
      } else {
        report(Problem::Kind::ambiguous, std::to_string(chosen.size()) + " providers (" +
                                             list(chosen) + "); use named<>/where<>/primary");
        chosen.clear();
        return;
      }
    }
    ServiceDef& p = *chosen[0];
    if (!p.where.every_core() || p.sharing != Sharing::shared) {
      report(Problem::Kind::cross_core,
             std::string(p.name()) +
                 (p.sharing != Sharing::shared ? " is per_requester"
                                               : " lives on " + where_text(p) + " only") +
                 "; PerCore needs one shared every_core provider");
      chosen.clear();
    }
    return;
  }

  if (single(s.kind)) {
    if (chosen.empty()) {
      if (required && strict) report(Problem::Kind::missing, missing_text());
      return;
    }
    if (chosen.size() > 1 && strict) {
      const std::size_t primaries = static_cast<std::size_t>(std::count_if(
          chosen.begin(), chosen.end(), [](const ServiceDef* p) { return p->primary; }));
      if (primaries == 1) {
        chosen.erase(chosen.begin() + 1, chosen.end());
      } else {
        report(Problem::Kind::ambiguous,
               std::to_string(primaries > 1 ? primaries : chosen.size()) +
                   (primaries > 1 ? " primary providers (" : " providers (") + list(chosen) +
                   "); use All<>/named<>/where<>/primary");
        chosen.clear();
        return;
      }
    }
    if (s.kind != SlotKind::remote) {
      for (ServiceDef* p : chosen) {
        if (!same_core_ok(d, *p) ||
            (p->sharing == Sharing::per_requester && !p->where.every_core())) {
          report(Problem::Kind::cross_core, std::string(p->name()) + " lives on " + where_text(*p) +
                                                " only; use Remote<" + s.type_name() + ">");
          chosen.clear();
          return;
        }
      }
    }
    return;
  }

  // All<T, Q, Min>
  if (chosen.size() < s.min && strict) {
    if (chosen.empty())
      report(Problem::Kind::missing, missing_text());
    else
      report(Problem::Kind::missing, std::to_string(chosen.size()) + " provider" +
                                         (chosen.size() == 1 ? "" : "s") + " (" + list(chosen) +
                                         "), needs at least " + std::to_string(s.min));
  }
  (void)cores;
}

std::vector<Problem> Plan::check_all(std::span<ServiceDef* const> defs, unsigned cores,
                                     Resolution& out) const {
  std::vector<Problem> problems;
  out = Resolution{};
  out.dense.assign(defs.size(), Resolution::none);
  std::size_t slots = 0;
  for (const ServiceDef* d : defs)
    slots += d->meta->n_slots;
  out.off.reserve(defs.size() + slots);
  out.providers.reserve(slots);
  std::vector<ServiceDef*> chosen;
  for (ServiceDef* d : defs) {
    if (d->removed) continue;
    if (!d->where.every_core() && d->where.core() >= cores)
      problems.push_back(
          Problem{Problem::Kind::placement, std::string(d->name()), -1,
                  d->label() + ": the runtime has " + std::to_string(cores) +
                      (cores == 1 ? " core (0)" : " cores (0.." + std::to_string(cores - 1) + ")") +
                      "; place it on one of them or every_core"});
    if (d->sharing == Sharing::per_requester && !d->where.every_core())
      problems.push_back(Problem{Problem::Kind::placement, std::string(d->name()), -1,
                                 d->label() +
                                     ": per_requester instances are built on their requester's "
                                     "core; register it every_core"});
    out.dense[d->index] = static_cast<std::uint32_t>(out.off.size());
    for (unsigned k = 0; k < d->meta->n_slots; ++k) {
      out.off.push_back(static_cast<std::uint32_t>(out.providers.size()));
      resolve_slot(*d, k, cores, true, chosen, &problems);
      out.providers.insert(out.providers.end(), chosen.begin(), chosen.end());
    }
    out.off.push_back(static_cast<std::uint32_t>(out.providers.size()));
  }
  find_cycles(defs, out, problems);
  return problems;
}

void Plan::find_cycles(std::span<ServiceDef* const> defs, const Resolution& r,
                       std::vector<Problem>& problems) const {
  // Iterative DFS over hard edges. Frame: a service, the slot and candidate to look at next.
  struct Frame {
    ServiceDef* d;
    unsigned slot;
    std::size_t cand;
  };
  enum : std::uint8_t { white, gray, black };
  std::vector<std::uint8_t> color(defs.size(), white);
  std::vector<Frame> stack;
  std::vector<std::string> seen;  // canonical texts already reported
  constexpr std::size_t max_reported = 16;
  std::size_t cycles = 0;

  for (ServiceDef* root : defs) {
    if (root->removed || color[root->index] != white) continue;
    color[root->index] = gray;
    stack.push_back(Frame{root, 0, 0});
    while (!stack.empty()) {
      Frame& f = stack.back();
      const ServiceMeta& m = *f.d->meta;
      ServiceDef* next = nullptr;
      while (f.slot < m.n_slots) {
        if (!is_hard(*f.d, f.slot)) {
          ++f.slot;
          f.cand = 0;
          continue;
        }
        auto ps = r.of(*f.d, f.slot);
        if (f.cand < ps.size()) {
          next = ps[f.cand++];
          break;
        }
        ++f.slot;
        f.cand = 0;
      }
      if (!next) {
        color[f.d->index] = black;
        stack.pop_back();
        continue;
      }
      if (color[next->index] == white) {
        color[next->index] = gray;
        stack.push_back(Frame{next, 0, 0});
        continue;
      }
      if (color[next->index] != gray) continue;
      // A cycle: from next's frame to the top, then back to next.
      std::size_t from = stack.size() - 1;
      while (stack[from].d != next)
        --from;
      struct Hop {
        ServiceDef* d;
        const SlotSpec* s;
      };
      std::vector<Hop> hops;
      for (std::size_t i = from; i < stack.size(); ++i)
        hops.push_back(Hop{stack[i].d, &stack[i].d->meta->slots[stack[i].slot]});
      // start at the service registered first
      std::size_t start = 0;
      for (std::size_t i = 1; i < hops.size(); ++i)
        if (hops[i].d->index < hops[start].d->index) start = i;
      std::string text = "dependency cycle: ";
      for (std::size_t j = 0; j < hops.size(); ++j) {
        const Hop& h = hops[(start + j) % hops.size()];
        text += std::string(h.d->name()) + " -[" + std::to_string(h.s->param) + " " +
                slot_text(*h.s) + "]-> ";
      }
      text += hops[start].d->name();
      if (std::find(seen.begin(), seen.end(), text) != seen.end()) continue;
      seen.push_back(text);
      if (++cycles <= max_reported)
        problems.push_back(
            Problem{Problem::Kind::cycle, std::string(hops[start].d->name()), -1, std::move(text)});
    }
  }
  if (cycles > max_reported)
    problems.push_back(
        Problem{Problem::Kind::cycle,
                {},
                -1,
                "... and " + std::to_string(cycles - max_reported) + " more dependency cycles"});
}

bool Plan::reaches(const ServiceDef* from, const ServiceDef* target, std::vector<std::string>& path,
                   unsigned cores) const {
  // Depth-first over the current lenient resolution (add() after start: the part of the graph
  // reachable from one service).
  struct Frame {
    const ServiceDef* d;
    unsigned slot = 0;
    std::size_t cand = 0;
    bool loaded = false;
    std::vector<ServiceDef*> cands{};
  };
  std::vector<const ServiceDef*> visited;
  std::vector<Frame> stack;
  stack.push_back(Frame{from});
  while (!stack.empty()) {
    Frame& f = stack.back();
    const ServiceMeta& m = *f.d->meta;
    const ServiceDef* next = nullptr;
    while (f.slot < m.n_slots) {
      if (!is_hard(*f.d, f.slot)) {
        ++f.slot;
        f.loaded = false;
        continue;
      }
      if (!f.loaded) {
        resolve_slot(*f.d, f.slot, cores, false, f.cands, nullptr);
        f.cand = 0;
        f.loaded = true;
      }
      if (f.cand < f.cands.size()) {
        next = f.cands[f.cand++];
        break;
      }
      ++f.slot;
      f.loaded = false;
    }
    if (!next) {
      stack.pop_back();
      continue;
    }
    if (next == target) {
      path.clear();
      for (const Frame& s : stack)
        path.push_back(std::string(s.d->name()) + " -[" +
                       std::to_string(s.d->meta->slots[s.slot].param) + " " +
                       slot_text(s.d->meta->slots[s.slot]) + "]-> ");
      return true;
    }
    if (std::find(visited.begin(), visited.end(), next) != visited.end()) continue;
    visited.push_back(next);
    stack.push_back(Frame{next});
  }
  return false;
}

std::vector<Problem> Plan::check_new(ServiceDef* d, unsigned cores, Resolution& out,
                                     std::vector<ConsumerSlot>& consumers) const {
  std::vector<Problem> problems;
  out = Resolution{};
  consumers.clear();
  if (!d->where.every_core() && d->where.core() >= cores)
    problems.push_back(Problem{Problem::Kind::placement, std::string(d->name()), -1,
                               d->label() + ": the runtime has " + std::to_string(cores) +
                                   " cores; place it on one of them or every_core"});
  if (d->sharing == Sharing::per_requester && !d->where.every_core())
    problems.push_back(Problem{Problem::Kind::placement, std::string(d->name()), -1,
                               d->label() +
                                   ": per_requester instances are built on their requester's "
                                   "core; register it every_core"});
  // d's slots, and those of the per-requester providers its instances will create.
  std::vector<ServiceDef*> todo{d};
  std::vector<ServiceDef*> chosen;
  for (std::size_t i = 0; i < todo.size(); ++i) {
    ServiceDef* x = todo[i];
    if (out.has(*x)) continue;
    out.sparse[x->index] = static_cast<std::uint32_t>(out.off.size());
    for (unsigned k = 0; k < x->meta->n_slots; ++k) {
      out.off.push_back(static_cast<std::uint32_t>(out.providers.size()));
      resolve_slot(*x, k, cores, false, chosen, x == d ? &problems : nullptr);
      for (ServiceDef* p : chosen) {
        out.providers.push_back(p);
        if (p->sharing == Sharing::per_requester) todo.push_back(p);
      }
    }
    out.off.push_back(static_cast<std::uint32_t>(out.providers.size()));
  }
  // Existing slots d can serve.
  const ServiceMeta& m = *d->meta;
  for (unsigned i = 0; i < m.n_ifaces; ++i) {
    auto it = consumers_.find(m.ifaces[i].type);
    if (it == consumers_.end()) continue;
    for (ServiceDef* consumer : it->second.defs)
      for (unsigned k = 0; k < consumer->meta->n_slots; ++k) {
        const ConsumerSlot c{consumer, static_cast<std::uint8_t>(k)};
        if (consumer->meta->slots[k].type != m.ifaces[i].type) continue;
        if (c.consumer == d || c.consumer->removed) continue;
        const SlotSpec& s = c.consumer->meta->slots[c.slot];
        if (!s.qualifier.empty() && s.qualifier != d->qualifier()) continue;
        bool ok = true;
        for (const Filter& f : c.consumer->filters())
          if (f.type() == s.type && !f.accepts(d->properties())) ok = false;
        if (!ok) continue;
        if ((s.kind == SlotKind::ref || s.kind == SlotKind::opt) &&
            !same_core_ok(*c.consumer, *d)) {
          problems.push_back(
              Problem{Problem::Kind::cross_core, std::string(c.consumer->name()), s.param,
                      prefix(*c.consumer, s) + std::string(d->name()) + " lives on " +
                          where_text(*d) + " only; use Remote<" + s.type_name() + ">"});
          continue;
        }
        if (s.kind == SlotKind::per_core) {
          if (!d->where.every_core() || d->sharing != Sharing::shared) continue;
          candidates(*c.consumer, s, chosen);
          if (chosen.size() > 1) continue;  // it has its provider already
        }
        consumers.push_back(c);
      }
  }
  // A cycle through d: d -> ... -> d.
  std::vector<std::string> path;
  if (reaches(d, d, path, cores)) {
    std::string text = "dependency cycle: ";
    for (const std::string& h : path)
      text += h;
    text += d->name();
    problems.push_back(Problem{Problem::Kind::cycle, std::string(d->name()), -1, std::move(text)});
  }
  return problems;
}

}  // namespace kio::di::detail
