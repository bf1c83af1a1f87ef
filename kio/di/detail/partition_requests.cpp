// Partition, part 2: requests and their waiters, Remote calls, mirrors, and the operations on a
// whole partition (begin, settle, stop, quiesce, remove). The state machine is partition.cpp; the
// building of nodes and edges partition_build.cpp.
#include <string>

#include "kio/core/log.hpp"
#include "kio/core/with_cancel.hpp"
#include "kio/core/yield.hpp"
#include "kio/di/detail/partition.hpp"

namespace kio::di::detail {

// ---- requests
// ------------------------------------------------------------------------------------

void Partition::post(Op op, std::uint32_t service) {
  requests_.push_back(Request{op, service});
  schedule_pump();
}

void Partition::apply(const Request& r) {
  switch (r.op) {
    case Op::stop:
      for_each_instance(r.service, [&](Node& n) {
        if (n.want == Want::up) {
          n.want = Want::down;
          enqueue(n);
        }
      });
      break;
    case Op::start:
      if (closing_) break;
      for_each_instance(r.service, [&](Node& n) {
        if (n.want == Want::down) n.want = Want::up;
        if (n.want != Want::up) return;
        if (n.state == State::failed || n.state == State::stopped) {
          if (n.extras) n.extras->error.clear();
          n.state = State::waiting;
          note(n);
        }
        enqueue(n);
      });
      break;
    case Op::remove:
      removed_.insert(r.service);
      for_each_instance(r.service, [&](Node& n) {
        n.want = Want::gone;
        enqueue(n);
      });
      break;
  }
  if (waiters_) check_waiters(r.service);
}

Task<void> Partition::request(Op op, std::uint32_t service, bool wait) {
  post(op, service);
  if (!wait) co_return;
  Waiter w;
  w.service = service;
  w.op = op;
  w.next = waiters_;
  if (waiters_) waiters_->prev = &w;
  waiters_ = &w;
  (void)co_await w.done.wait();  // cancelled: stop waiting; the request still takes effect
  if (w.prev)
    w.prev->next = w.next;
  else
    waiters_ = w.next;
  if (w.next) w.next->prev = w.prev;
}

Task<bool> Partition::wait_for(std::uint32_t service, State s, bool expect_shared) {
  Waiter w;
  w.service = service;
  w.by_state = true;
  w.expect_shared = expect_shared;
  w.state = s;
  w.op = Op::start;
  if (waiter_done(w)) co_return w.ok;
  w.next = waiters_;
  if (waiters_) waiters_->prev = &w;
  waiters_ = &w;
  auto r = co_await w.done.wait();
  if (w.prev)
    w.prev->next = w.next;
  else
    waiters_ = w.next;
  if (w.next) w.next->prev = w.prev;
  co_return r&& w.ok;
}

bool Partition::waiter_done(Waiter& w) {
  if (w.expect_shared && (w.service >= by_service_.size() || !by_service_[w.service]))
    return false;  // not instantiated here yet (add() after start runs in the background)
  if (w.op == Op::remove && !w.by_state) return !has_instances(w.service);
  auto done = [&w](const Node& n) {
    if (w.by_state) return n.state == w.state;
    switch (w.op) {
      case Op::stop:
        return !n.running();
      case Op::start:
        return !(n.state == State::starting || n.state == State::stopping ||
                 (n.state == State::waiting && n.cls == Class::pending));
      case Op::remove:
        break;
    }
    return false;
  };
  if (w.service < by_service_.size() && by_service_[w.service])
    return done(*by_service_[w.service]);
  // Per-requester instances, maybe many: every state change of one of them comes here, so the
  // scan resumes where the last one stopped (instances before the cursor were done) and looks
  // at all of them once more only when the cursor reaches the end (one may have gone back, or
  // moved before the cursor when another was removed). O(instances) per request, not per check.
  auto it = dedicated_.find(w.service);
  if (it == dedicated_.end()) return true;
  const std::vector<Node*>& v = it->second;
  while (w.cursor < v.size() && done(*v[w.cursor]))
    ++w.cursor;
  if (w.cursor < v.size()) return false;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!done(*v[i])) {
      w.cursor = i;
      return false;
    }
  return true;
}

bool Partition::has_instances(std::uint32_t service) const noexcept {
  if (service < by_service_.size() && by_service_[service]) return true;
  return !dedicated_.empty() && dedicated_.count(service) != 0;  // erased once empty
}

void Partition::check_waiters(std::uint32_t service) {
  for (Waiter* w = waiters_; w; w = w->next) {
    if (w->service != service || w->done.is_set()) continue;
    if (w->by_state && !has_instances(service) &&
        (!w->expect_shared || w->ok == false || removed(service))) {
      w->ok = false;
      w->done.set();
      continue;
    }
    if (waiter_done(*w)) w->done.set();
  }
}

bool Partition::removed(std::uint32_t service) const noexcept {
  return removed_.count(service) != 0;
}

void Partition::noted(Node& n) {
  if (waiters_) check_waiters(n.def->index);
  if (n.extras && !n.extras->mirrors.empty()) announce(n);  // mirrors show the state too
}

bool Partition::state_of(std::uint32_t service, State& out) const noexcept {
  if (service >= by_service_.size() || !by_service_[service]) return false;
  out = by_service_[service]->state;
  return true;
}

Node* Partition::active_node(std::uint32_t service) const noexcept {
  if (service >= by_service_.size()) return nullptr;
  Node* n = by_service_[service];
  return n && n->state == State::active ? n : nullptr;
}

// ---- Remote calls
// --------------------------------------------------------------------------------

Node* Partition::acquire(const RemoteTarget& t) noexcept {
  Node* n = nullptr;
  if (t.by_service) {
    n = t.index < by_service_.size() ? by_service_[t.index] : nullptr;
  } else {
    n = t.index < table_.size() ? table_[t.index] : nullptr;
    if (n && n->gen != t.gen) n = nullptr;
  }
  if (!n || n->has(node_flag::mirror) || n->state != State::active) return nullptr;
  ++n->holders;
  return n;
}

void Partition::release(Node* n) noexcept {
  if (--n->holders == 0 && n->state == State::stopping) {
    enqueue(*n);
    schedule_pump();
  }
}

// ---- mirrors
// -------------------------------------------------------------------------------------

void Partition::undelivered(unsigned core, const char* what) noexcept {
  kio::log_error(
      "kio::di: a message to core {} was not delivered ({}); stop the registry "
      "before the runtime",
      core, what);
}

void Partition::announce(Node& n) {
  for (MirrorLink& l : n.extras->mirrors) {
    if (n.cls == Class::active && !l.leased) {
      l.leased = true;
      ++n.holders;
    }
    Partition* mp = all_[l.core].get();
    auto* m = static_cast<MirrorNode*>(l.mirror);
    send(l.core, [mp, m, c = n.cls, s = n.state, gen = n.gen, idx = n.index] {
      mp->mirror_update(*m, c, s, gen, idx);
    });
  }
}

void Partition::mirror_update(MirrorNode& m, Class c, State s, std::uint32_t gen,
                              std::uint32_t index) {
  m.update = true;
  m.next_cls = c;
  m.next_state = s;
  if (c == Class::active) {
    m.prov_gen = gen;
    m.prov_index = index;
    m.leased = true;
  } else if (m.leased) {
    m.leased = false;
    m.lease_owed = true;
  }
  enqueue(m);
  schedule_pump();
}

void Partition::step_mirror(MirrorNode& m) {
  if (m.want == Want::gone) {
    while (Edge* e = m.dependents)
      remove_edge(*e, true);
    mirrors_.erase((std::uint64_t{m.def->index} << 16) | m.prov_core);
    table_[m.index] = nullptr;
    free_.push_back(m.index);
    free_node(&m);
    return;
  }
  if (m.update) {
    m.update = false;
    m.state = m.next_state;
    set_class(m, m.next_cls);
  }
  if (m.lease_owed && m.holders == 0) {
    m.lease_owed = false;
    Partition* pp = m.prov_part;
    Node* p = m.prov_node;
    Node* self = &m;
    send(m.prov_core, [pp, p, self] { pp->released(*p, self); });
  }
}

void Partition::released(Node& p, Node* mirror) {
  if (p.extras)
    for (MirrorLink& l : p.extras->mirrors)
      if (l.mirror == mirror && l.leased) {
        l.leased = false;
        --p.holders;
        break;
      }
  enqueue(p);
  schedule_pump();
}

void Partition::mirror_gone(MirrorNode& m) {
  m.want = Want::gone;
  enqueue(m);
  schedule_pump();
}

// ---- whole-partition operations
// ------------------------------------------------------------------

void Partition::begin() {
  pumping_ = true;  // hooks the edge updates may call must see a running pump
  for (Edge* e : new_edges_)
    on_class(*e, e->prov->cls);
  new_edges_.clear();
  for (Node* n : new_nodes_) {
    // One waiting only for providers that are on their way is left alone: they queue it when
    // they change. Everything else gets a first step (start it, or settle it as blocked/off).
    if (n->unmet_off || n->unmet_broken || (n->unmet_pending == 0 && n->order == 0)) enqueue(*n);
    if (waiters_) check_waiters(n->def->index);  // waits registered before it existed
  }
  std::vector<Node*>().swap(new_nodes_);  // transient: give the memory back
  std::vector<MirrorNode*>().swap(new_mirrors_);
  std::vector<Edge*>().swap(new_edges_);
  pumping_ = false;
  pump();
}

Task<void> Partition::settled() {
  if (initial_ != 0) (void)co_await kio::with_cancel(CancelToken{}, settled_event_.wait());
}

void Partition::stop_all() {
  closing_ = true;
  for (Waiter* w = waiters_; w; w = w->next)  // waits for instances that will never come
    if (w->by_state && w->expect_shared &&
        (w->service >= by_service_.size() || !by_service_[w->service])) {
      w->ok = false;
      w->done.set();
    }
  for (Node* n : table_)
    if (n && !n->has(node_flag::mirror)) {
      if (n->want == Want::up) n->want = Want::down;
      enqueue(*n);
    }
  pump();
  maybe_stopped();
}

Task<void> Partition::stopped() {
  // Not cancellable: stop() runs while the runtime stops too.
  if (running_ != 0) (void)co_await kio::with_cancel(CancelToken{}, stopped_event_.wait());
}

bool Partition::quiet() const noexcept {
  return messages_ == 0 && tracked_ == 0 && runners_ == 0 && !pump_scheduled_ && !pumping_ &&
         !events_.dispatching() && req_head_ == requests_.size();
}

Task<void> Partition::quiesce() {
  while (!quiet())
    co_await kio::yield();
}

Task<void> Partition::remove_service(std::uint32_t service) {
  co_await request(Op::remove, service, true);
  while (messages_ != 0)
    co_await kio::yield();
}

}  // namespace kio::di::detail
