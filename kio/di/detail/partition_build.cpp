// Partition: creating and removing instances, mirrors and edges; snapshots.
#include <algorithm>
#include <new>
#include <string>

#include "kio/core/detail/executor.hpp"
#include "kio/di/context.hpp"
#include "kio/di/detail/clock.hpp"
#include "kio/di/detail/partition.hpp"

namespace kio::di::detail {

namespace {
std::uint16_t need_of(const SlotSpec& s, unsigned cores) noexcept {
  switch (s.kind) {
    case SlotKind::ref:
    case SlotKind::remote:
      return 1;
    case SlotKind::opt:
      return 0;
    case SlotKind::all:
      return s.min;
    case SlotKind::per_core:
      return static_cast<std::uint16_t>(cores);
  }
  return 1;
}
SlotStatus initial_status(const Slot& s) noexcept {
  return s.need == 0 ? SlotStatus::satisfied : SlotStatus::off;
}
}  // namespace

Partition::Partition(Registry& reg, unsigned core, std::vector<std::unique_ptr<Partition>>& all,
                     bool time_starts, bool time_sync_starts)
    : reg_(reg),
      core_(core),
      all_(all),
      time_starts_(time_starts),
      time_sync_starts_(time_sync_starts) {}

Partition::~Partition() {
  for (Node* n : table_) {
    if (!n) continue;
    for (unsigned k = 0; k < n->nslots; ++k) {
      Edge* e = n->slots()[k].head;
      while (e) {
        Edge* next = e->next_cand;
        if (!e->in_slot) delete e;
        e = next;
      }
    }
    free_node(n);
  }
}

void Partition::free_node(Node* n) noexcept {
  delete n->extras;
  if (n->has(node_flag::mirror)) {
    delete static_cast<MirrorNode*>(n);
    return;
  }
  const ServiceMeta& m = *n->def->meta;
  n->~Node();
  slab_.deallocate(n, m.node_size, m.node_align);
}

Node* Partition::create_node(ServiceDef* def, Node* requester, bool initial) {
  const ServiceMeta& m = *def->meta;
  Node* n = ::new (slab_.allocate(m.node_size, m.node_align)) Node();
  n->def = def;
  n->core = static_cast<std::uint16_t>(core_);
  n->nslots = m.n_slots;
  n->aux = requester;
  if (requester) n->set(node_flag::dedicated);
  const unsigned cores = static_cast<unsigned>(all_.size());
  for (unsigned k = 0; k < m.n_slots; ++k) {
    Slot* s = ::new (&n->slots()[k]) Slot();
    const SlotSpec& sp = m.slots[k];
    s->kind = sp.kind;
    s->need = need_of(sp, cores);
    s->hooks = def->policy == Policy::dynamic && ((m.hook_mask >> k) & 1u);
    s->soft = s->hooks && s->need == 0;
    s->status = initial_status(*s);
    if (s->status == SlotStatus::off) ++n->unmet_off;
  }
  if (free_.empty()) {
    n->index = static_cast<std::uint32_t>(table_.size());
    table_.push_back(n);
  } else {
    n->index = free_.back();
    free_.pop_back();
    table_[n->index] = n;
  }
  if (initial) {
    n->set(node_flag::initial);
    ++initial_;
  }
  new_nodes_.push_back(n);
  return n;
}

MirrorNode* Partition::mirror_for(ServiceDef* p, unsigned core) {
  const std::uint64_t key = (std::uint64_t{p->index} << 16) | core;
  auto [it, inserted] = mirrors_.try_emplace(key, nullptr);
  if (!inserted) return it->second;
  auto* m = new MirrorNode();
  m->def = p;
  m->core = static_cast<std::uint16_t>(core_);
  m->set(node_flag::mirror);
  m->prov_core = static_cast<std::uint16_t>(core);
  m->prov_part = all_[core].get();
  if (free_.empty()) {
    m->index = static_cast<std::uint32_t>(table_.size());
    table_.push_back(m);
  } else {
    m->index = free_.back();
    free_.pop_back();
    table_[m->index] = m;
  }
  it->second = m;
  new_mirrors_.push_back(m);
  return m;
}

Edge& Partition::add_edge(Node& dep, unsigned slot, Node& prov, unsigned core, Edge** tail) {
  Slot& s = dep.slots()[slot];
  Edge* e;
  if (!s.first.in_slot) {
    e = &s.first;
    *e = Edge{};
    e->in_slot = true;
  } else {
    e = new Edge();
  }
  e->dep = &dep;
  e->prov = &prov;
  e->slot = static_cast<std::uint8_t>(slot);
  e->core = static_cast<std::uint16_t>(core);
  const int iface = prov.def->iface_index(dep.def->meta->slots[slot].type);
  e->iface = static_cast<std::uint8_t>(iface < 0 ? 0 : iface);
  e->seen = Class::pending;
  // the provider's dependents
  e->next = prov.dependents;
  if (prov.dependents) prov.dependents->prev = e;
  prov.dependents = e;
  // the slot's candidates: primary first, else in order
  if (!s.head || (prov.def->primary && !tail)) {
    e->next_cand = s.head;
    s.head = e;
    if (tail && !*tail) *tail = e;
  } else if (tail && *tail) {
    (*tail)->next_cand = e;
    *tail = e;
  } else {
    Edge* t = s.head;
    while (t->next_cand)
      t = t->next_cand;
    t->next_cand = e;
    if (tail) *tail = e;
  }
  ++s.n;
  ++s.pending;
  if ((s.kind == SlotKind::opt || s.kind == SlotKind::all) && !s.soft) {
    e->order = true;
    ++dep.order;
  }
  restatus(dep, s);
  if (prov.cls != Class::pending) new_edges_.push_back(e);
  return *e;
}

void Partition::remove_edge(Edge& e, bool notify_dep) {
  Node& d = *e.dep;
  Node& p = *e.prov;
  Slot& s = d.slots()[e.slot];
  if (e.bound) unbind(e);
  switch (e.seen) {
    case Class::active:
      --s.active;
      break;
    case Class::pending:
      --s.pending;
      break;
    case Class::broken:
      --s.broken;
      break;
    case Class::off:
      break;
  }
  --s.n;
  if (e.order) {
    e.order = false;
    --d.order;
  }
  if (e.prev)
    e.prev->next = e.next;
  else
    p.dependents = e.next;
  if (e.next) e.next->prev = e.prev;
  if (s.head == &e) {
    s.head = e.next_cand;
  } else {
    Edge* t = s.head;
    while (t && t->next_cand != &e)
      t = t->next_cand;
    if (t) t->next_cand = e.next_cand;
  }
  new_edges_.erase(std::remove(new_edges_.begin(), new_edges_.end(), &e), new_edges_.end());
  restatus(d, s);
  if (notify_dep) enqueue(d);
  if (e.in_slot)
    e = Edge{};
  else
    delete &e;
}

Node* Partition::provider_for(Node& dep, ServiceDef* p, unsigned slot, const Resolution& res,
                              bool initial, unsigned core) {
  (void)slot;
  (void)res;
  if (p->sharing == Sharing::per_requester) {
    Node* d = create_node(p, &dep, initial);
    std::vector<Node*>& list = dedicated_[p->index];
    d->pos = static_cast<std::uint32_t>(list.size());
    list.push_back(d);
    return d;
  }
  if (core == core_) {
    Node* n = p->index < by_service_.size() ? by_service_[p->index] : nullptr;
    return n;
  }
  return mirror_for(p, core);
}

void Partition::wire(Node& n, const Resolution& res, bool initial) {
  const ServiceMeta& m = *n.def->meta;
  const unsigned cores = static_cast<unsigned>(all_.size());
  for (unsigned k = 0; k < m.n_slots; ++k) {
    Edge* tail = nullptr;
    for (ServiceDef* p : res.of(*n.def, k)) {
      if (m.slots[k].kind == SlotKind::per_core) {
        for (unsigned c = 0; c < cores; ++c)
          if (Node* prov = provider_for(n, p, k, res, initial, c)) add_edge(n, k, *prov, c, &tail);
        continue;
      }
      const unsigned c = p->where.every_core() ? core_ : p->where.core();
      if (Node* prov = provider_for(n, p, k, res, initial, c)) add_edge(n, k, *prov, c, &tail);
    }
  }
}

void Partition::instantiate(std::span<ServiceDef* const> defs, const Resolution& res,
                            bool initial) {
  if (!shutdown_.can_be_cancelled())
    shutdown_ = kio::detail::this_executor("kio::di").shutdown_token();
  std::uint32_t top = 0;
  for (ServiceDef* d : defs)
    top = std::max(top, d->index + 1);
  if (by_service_.size() < top) by_service_.resize(top, nullptr);
  if (defs.size() > 1) {  // start(): about one node per service, twice with per-requester ones
    table_.reserve(table_.size() + defs.size());
    new_nodes_.reserve(defs.size());
  }
  const std::size_t first = new_nodes_.size();
  for (ServiceDef* d : defs)
    if (d->sharing == Sharing::shared && d->where.includes(core_))
      by_service_[d->index] = create_node(d, nullptr, initial);
  for (std::size_t i = first; i < new_nodes_.size(); ++i)  // grows with per-requester instances
    wire(*new_nodes_[i], res, initial);
}

void Partition::connect_consumers(ServiceDef* p, std::span<const ConsumerSlot> consumers,
                                  const Resolution& res) {
  const unsigned cores = static_cast<unsigned>(all_.size());
  const std::size_t first = new_nodes_.size();
  for (const ConsumerSlot& c : consumers) {
    for_each_instance(c.consumer->index, [&](Node& dep) {
      if (dep.want == Want::gone) return;
      if (c.consumer->meta->slots[c.slot].kind == SlotKind::per_core) {
        for (unsigned k = 0; k < cores; ++k)
          if (Node* prov = provider_for(dep, p, c.slot, res, false, k))
            add_edge(dep, c.slot, *prov, k, nullptr);
        return;
      }
      const unsigned k = p->where.every_core() ? core_ : p->where.core();
      if (Node* prov = provider_for(dep, p, c.slot, res, false, k))
        add_edge(dep, c.slot, *prov, k, nullptr);
      enqueue(dep);
    });
  }
  for (std::size_t i = first; i < new_nodes_.size(); ++i)  // per-requester instances created
    wire(*new_nodes_[i], res, false);
}

void Partition::link_mirrors() {
  // New mirrors here learn where their provider instance is (read-only look at its core).
  for (MirrorNode* m : new_mirrors_) {
    Partition& pp = *all_[m->prov_core];
    Node* p = m->def->index < pp.by_service_.size() ? pp.by_service_[m->def->index] : nullptr;
    m->prov_node = p;
    m->prov_index = p ? p->index : 0;
  }
  // Providers here learn about new mirrors of them on other cores.
  for (unsigned c = 0; c < all_.size(); ++c) {
    if (c == core_) continue;
    for (MirrorNode* m : all_[c]->new_mirrors_) {
      if (m->prov_core != core_) continue;
      Node* p = m->def->index < by_service_.size() ? by_service_[m->def->index] : nullptr;
      if (!p) continue;
      if (!p->extras) p->extras = new NodeExtras();
      p->extras->mirrors.push_back(MirrorLink{m, static_cast<std::uint16_t>(c), false});
      if (p->cls != Class::pending) {
        // Runtime addition: tell it now (only this one link).
        MirrorLink& l = p->extras->mirrors.back();
        if (p->cls == Class::active) {
          l.leased = true;
          ++p->holders;
        }
        Partition* mp = all_[c].get();
        send(c, [mp, m, cl = p->cls, s = p->state, gen = p->gen, idx = p->index] {
          mp->mirror_update(*m, cl, s, gen, idx);
        });
      }
    }
  }
}

void Partition::destroy_node(Node& n) {
  const std::uint32_t service = n.def->index;
  while (Edge* e = n.dependents)
    remove_edge(*e, true);
  for (unsigned k = 0; k < n.nslots; ++k) {
    Slot& s = n.slots()[k];
    while (Edge* e = s.head) {
      Node* p = e->prov;
      remove_edge(*e, false);
      if (p->has(node_flag::dedicated) && p->aux == &n) {
        p->aux = nullptr;
        p->want = Want::gone;
        enqueue(*p);
      } else if (p->has(node_flag::mirror)) {
        enqueue(*p);
      }
    }
  }
  if (n.extras)
    for (const MirrorLink& l : n.extras->mirrors) {
      Partition* mp = all_[l.core].get();
      auto* m = static_cast<MirrorNode*>(l.mirror);
      send(l.core, [mp, m] { mp->mirror_gone(*m); });
    }
  if (service < by_service_.size() && by_service_[service] == &n) by_service_[service] = nullptr;
  if (n.has(node_flag::dedicated)) {
    auto it = dedicated_.find(service);
    if (it != dedicated_.end()) {  // O(1): the last one takes its place
      std::vector<Node*>& v = it->second;
      if (n.pos < v.size() && v[n.pos] == &n) {
        v[n.pos] = v.back();
        v[n.pos]->pos = n.pos;
        v.pop_back();
      }
      if (v.empty()) dedicated_.erase(it);
    }
  }
  settle(n);
  table_[n.index] = nullptr;
  free_.push_back(n.index);
  free_node(&n);
  check_waiters(service);
}

void Partition::collect(std::vector<InstanceRecord>& out, std::vector<EdgeRecord>* edges,
                        bool problems_only) const {
  const double tick = problems_only ? 0 : seconds_per_stamp();
  for (const Node* n : table_) {
    if (!n) continue;
    if (edges)
      for (const Edge* e = n->dependents; e; e = e->next)
        edges->push_back(EdgeRecord{n->def->index, e->dep->def->index, e->slot});
    if (n->has(node_flag::mirror)) continue;
    if (problems_only && n->state != State::failed && n->state != State::blocked) continue;
    InstanceRecord r;
    r.service = n->def->index;
    InstanceInfo& i = r.info;
    i.core = n->core;
    i.state = n->state;
    if (n->extras) i.error = n->extras->error;
    if (n->has(node_flag::dedicated) && n->aux)
      i.requester =
          std::string(n->aux->def->name()) + " (core " + std::to_string(n->aux->core) + ")";
    i.last_start = std::chrono::nanoseconds(
        static_cast<std::int64_t>(static_cast<double>(n->start_seconds) * tick * 1e9));
    const ServiceMeta& m = *n->def->meta;
    for (unsigned k = 0; k < m.n_slots; ++k) {
      const Slot& s = n->slots()[k];
      SlotInfo si;
      si.parameter = m.slots[k].param;
      si.slot = slot_text(m.slots[k]);
      std::string waits;
      for (const Edge* e = s.head; e; e = e->next_cand) {
        const std::string who =
            std::string(e->prov->def->name()) + " (core " + std::to_string(e->core) + ")";
        if (e->bound) si.bound.push_back(who);
        const bool missing = s.status != SlotStatus::satisfied && e->seen != Class::active;
        if (missing || e->order)
          waits += (waits.empty() ? "" : ", ") + who + ", which is " +
                   std::string(to_string(e->prov->state));
      }
      if (s.status != SlotStatus::satisfied && s.n == 0)
        si.waiting_for = "no provider registered";
      else if (!waits.empty() && (s.status != SlotStatus::satisfied || n->state == State::waiting))
        si.waiting_for = waits;
      i.slots.push_back(std::move(si));
    }
    out.push_back(std::move(r));
  }
}

}  // namespace kio::di::detail
