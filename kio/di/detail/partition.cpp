// Partition: the state machine (see partition.hpp for the design).
#include "kio/di/detail/partition.hpp"

#include <exception>
#include <string>
#include <utility>

#include "kio/core/log.hpp"
#include "kio/core/this_core.hpp"
#include "kio/core/with_cancel.hpp"
#include "kio/core/yield.hpp"
#include "kio/di/context.hpp"
#include "kio/di/detail/clock.hpp"
#include "kio/di/detail/runner.hpp"

namespace kio::di::detail {

// ---- entry points for the public headers -----------------------------------------------------

EventChannel& events_of(Partition* p) noexcept {
  return p->events();
}
Registry& registry_of(Partition* p) noexcept {
  return p->registry();
}
CancelToken shutdown_token_of(Partition* p) noexcept {
  return p->shutdown_token();
}
unsigned core_of(Partition* p) noexcept {
  return p->core();
}
Node* acquire_call(const RemoteTarget& t) noexcept {
  return t.part ? t.part->acquire(t) : nullptr;
}
void release_call(const RemoteTarget& t, Node* n) noexcept {
  t.part->release(n);
}
void* object_of(const Node* n) noexcept {
  return n->obj;
}
RemoteTarget target_of(const Edge& e, Partition* here) noexcept {
  const Node& p = *e.prov;
  auto cast = p.def->meta->ifaces[e.iface].cast;
  if (p.has(node_flag::mirror)) {
    const MirrorNode& m = as_mirror(p);
    return RemoteTarget{m.prov_part, cast, m.prov_index, m.prov_gen, m.prov_core, false};
  }
  return RemoteTarget{here, cast, p.index, p.gen, p.core, false};
}

namespace {

bool single(SlotKind k) noexcept {
  return k == SlotKind::ref || k == SlotKind::opt || k == SlotKind::remote;
}
bool orders(const Slot& s) noexcept {
  return (s.kind == SlotKind::opt || s.kind == SlotKind::all) && !s.soft;
}
bool in_place(const ServiceMeta& m) noexcept {
  return m.node_size > m.obj_offset;
}
unsigned bound_count(const Slot& s) noexcept {
  unsigned n = 0;
  for (const Edge* e = s.head; e; e = e->next_cand)
    n += e->bound ? 1 : 0;
  return n;
}
void count(Slot& s, Class c, int d) noexcept {
  switch (c) {
    case Class::active:
      s.active = static_cast<std::uint16_t>(s.active + d);
      break;
    case Class::pending:
      s.pending = static_cast<std::uint16_t>(s.pending + d);
      break;
    case Class::broken:
      s.broken = static_cast<std::uint16_t>(s.broken + d);
      break;
    case Class::off:
      break;
  }
}
SlotStatus status_of(const Slot& s) noexcept {
  if (s.need == 0 || s.active >= s.need) return SlotStatus::satisfied;
  if (s.active + s.pending >= s.need) return SlotStatus::pending;
  if (s.broken > 0) return SlotStatus::broken;
  return SlotStatus::off;
}
void count_status(Node& n, SlotStatus st, int d) noexcept {
  switch (st) {
    case SlotStatus::pending:
      n.unmet_pending = static_cast<std::uint8_t>(n.unmet_pending + d);
      break;
    case SlotStatus::broken:
      n.unmet_broken = static_cast<std::uint8_t>(n.unmet_broken + d);
      break;
    case SlotStatus::off:
      n.unmet_off = static_cast<std::uint8_t>(n.unmet_off + d);
      break;
    case SlotStatus::satisfied:
      break;
  }
}

Context* context_of(Node& n) noexcept {
  return n.has(node_flag::context) ? &ContextAccess::get(n.ctx_storage()) : nullptr;
}

// One asynchronous start: factory and start() (see runner.hpp).
Runner run_start(Partition* p, Node* n, std::uint64_t t0) {
  CancelSource src(p->shutdown_token());
  Partition::RunnerLink link{nullptr, nullptr, n, &src};
  p->link_runner(link);
  const ServiceMeta& m = *n->def->meta;
  std::string err;
  const char* stage = "factory";
  try {
    BuildCtx b{n, n->def, p, n->has(node_flag::context) ? n->ctx_storage() : nullptr,
               n->obj_storage()};
    if (m.build_is_async)
      co_await kio::with_cancel(src.token(), m.build_task(b));
    else
      m.build(b);
    n->set(node_flag::built);
    stage = "start()";
    if (m.start_kind == HookKind::async)
      err = co_await kio::with_cancel(src.token(), m.start_task(n->obj));
    else if (m.start_kind == HookKind::sync)
      err = m.start_sync(n->obj);
    if (!err.empty()) err = "start(): " + err;
  } catch (const std::exception& e) {
    err = std::string(stage) + ": " + e.what();
  } catch (...) {
    err = std::string(stage) + ": unknown exception";
  }
  p->unlink_runner(link);
  p->finish_start(*n, std::move(err), t0);
  p->pump();
}

void log_stop_failure(const Node& n, const std::string& what) {
  kio::log_error("kio::di: {} (core {}): stop() failed: {}", n.def->name(), n.core, what);
}

std::string run_stop_sync(Node& n) {
  try {
    return n.def->meta->stop_sync(n.obj);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

// Waits for the Context's tasks, runs an asynchronous stop(), waits again, then finishes.
Runner run_teardown(Partition* p, Node* n, bool stop_hook, bool failed) {
  Partition::RunnerLink link{nullptr, nullptr, n, nullptr};
  p->link_runner(link);
  const ServiceMeta& m = *n->def->meta;
  if (Context* c = context_of(*n)) co_await ContextAccess::scope(*c).join();
  if (stop_hook) {
    std::string err;
    if (m.stop_kind == HookKind::async) {
      try {
        err = co_await m.stop_task(n->obj);
      } catch (const std::exception& e) {
        err = e.what();
      } catch (...) {
        err = "unknown exception";
      }
    } else {
      err = run_stop_sync(*n);
    }
    if (!err.empty()) log_stop_failure(*n, err);
    if (Context* c = context_of(*n)) co_await ContextAccess::scope(*c).join();
  }
  p->unlink_runner(link);
  n->clear(node_flag::busy);
  p->finish_teardown(*n, failed);
  p->pump();
}

}  // namespace

// ---- queue and pump
// ------------------------------------------------------------------------------

void Partition::NodeQueue::grow() {
  {
    const std::size_t cap = buf_ ? (mask_ + 1) * 2 : 256;
    auto next = std::make_unique<Node*[]>(cap);
    const std::size_t size = tail_ - head_;
    for (std::size_t i = 0; i < size; ++i)
      next[i] = buf_[(head_ + i) & mask_];
    buf_ = std::move(next);
    mask_ = cap - 1;
    head_ = 0;
    tail_ = size;
  }
}

void Partition::pump() {
  if (pumping_) return;
  pumping_ = true;
  for (;;) {
    if (req_head_ < requests_.size()) {
      const Request r = requests_[req_head_++];
      apply(r);
      continue;
    }
    if (req_head_ != 0) {
      requests_.clear();
      req_head_ = 0;
    }
    if (work_.empty()) break;
    Node* n = work_.pop();
    n->clear(node_flag::queued);
    if (n->has(node_flag::mirror))
      step_mirror(as_mirror(*n));
    else
      step(*n);
  }
  work_.shrink_if_large();  // after a start/stop wave of thousands; steady state keeps it
  pumping_ = false;
}

Task<void> Partition::pump_task(Partition* self) {
  self->pump_scheduled_ = false;
  self->pump();
  co_return;
}

void Partition::schedule_pump() {
  if (pumping_ || pump_scheduled_) return;
  pump_scheduled_ = true;
  kio::spawn(pump_task(this));
}

void Partition::link_runner(RunnerLink& r) noexcept {
  r.prev = nullptr;
  r.next = runner_list_;
  if (runner_list_) runner_list_->prev = &r;
  runner_list_ = &r;
  ++runners_;
}

void Partition::unlink_runner(RunnerLink& r) noexcept {
  if (r.prev)
    r.prev->next = r.next;
  else
    runner_list_ = r.next;
  if (r.next) r.next->prev = r.prev;
  --runners_;
}

void Partition::cancel_runner(Node& n) noexcept {
  for (RunnerLink* r = runner_list_; r; r = r->next)
    if (r->node == &n && r->src) r->src->request_cancel();
}

bool Partition::in_transition(CancelToken caller) const noexcept {
  if (!caller.can_be_cancelled()) return false;
  for (RunnerLink* r = runner_list_; r; r = r->next) {
    if (r->src && r->src->token() == caller) return true;
    if (Context* c = context_of(*r->node); c && c->token() == caller) return true;
  }
  return false;
}

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

// ---- the state machine
// ---------------------------------------------------------------------------

bool Partition::startable(const Node& n) const noexcept {
  return (n.state == State::waiting || n.state == State::blocked) && n.want == Want::up &&
         !closing_ && n.unmet() == 0 && n.order == 0;
}

void Partition::step(Node& n) {
  switch (n.state) {
    case State::starting:
      if ((n.want != Want::up || n.has(node_flag::restart)) && !n.has(node_flag::cancelled)) {
        n.set(node_flag::cancelled);
        cancel_runner(n);
      }
      return;
    case State::active:
      if (n.want != Want::up || n.has(node_flag::restart)) {
        begin_stop(n);
        return;
      }
      if (n.has(node_flag::rescan)) rescan(n);
      return;
    case State::stopping:
      if (n.holders == 0 && !n.has(node_flag::busy)) teardown(n, true, false);
      return;
    default:
      break;
  }
  if (n.want == Want::gone) {
    destroy_node(n);
    return;
  }
  if (startable(n)) {
    begin_start(n);
    return;
  }
  rest_state(n);
}

void Partition::rest_state(Node& n) {
  State st;
  Class c;
  if (n.state == State::failed) {
    st = State::failed;
    c = Class::broken;
  } else if (n.want != Want::up) {
    st = State::stopped;
    c = Class::off;
  } else if (n.unmet_broken) {
    st = State::blocked;
    c = Class::broken;
    troubled_ = true;
  } else if (n.unmet_off) {
    st = State::waiting;
    c = Class::off;
  } else {
    st = State::waiting;
    c = Class::pending;
  }
  if (st != n.state) {
    n.state = st;
    note(n);
  }
  set_class(n, c);
  if (c != Class::pending) settle(n);
}

void Partition::set_class(Node& n, Class c) {
  if (n.cls == c) return;
  n.cls = c;
  propagate(n);
}

void Partition::propagate(Node& n) {
  for (Edge* e = n.dependents; e; e = e->next)
    on_class(*e, n.cls);
  if (n.extras && !n.extras->mirrors.empty()) announce(n);
}

void Partition::on_class(Edge& e, Class now) {
  const Class was = e.seen;
  if (was == now) return;
  e.seen = now;
  Node& d = *e.dep;
  Slot& s = d.slots()[e.slot];
  count(s, was, -1);
  count(s, now, +1);
  restatus(d, s);
  if (orders(s)) {
    const bool o = now == Class::pending;
    if (o != e.order) {
      e.order = o;
      if (o)
        ++d.order;
      else
        --d.order;
    }
  }
  if (e.bound) {
    if (now != Class::active) lost(e);
  } else if (now == Class::active) {
    gained(e);
  }
  enqueue(d);
}

void Partition::restatus(Node& d, Slot& s) noexcept {
  const SlotStatus now = status_of(s);
  if (now == s.status) return;
  count_status(d, s.status, -1);
  count_status(d, now, +1);
  s.status = now;
}

void Partition::lost(Edge& e) {
  Node& d = *e.dep;
  Slot& s = d.slots()[e.slot];
  if (s.hooks && d.has(node_flag::built) &&
      (d.state == State::active || d.state == State::stopping)) {
    unsigned alternatives = 0;
    for (const Edge* x = s.head; x; x = x->next_cand)
      alternatives += (x->seen == Class::active && !x->bound) ? 1 : 0;
    if (s.need > 0 && bound_count(s) - 1 + alternatives < s.need) {
      // A required slot left without enough providers: the dependent keeps holding this one
      // and stops first, as with the restart policy (unbound() would leave it running with a
      // reference to something about to be destroyed).
      d.set(node_flag::restart);
      return;
    }
    // Rebind in place: unbound() before the provider goes (also while the dependent stops:
    // a cycle through a dynamic optional slot unwinds that way), then bound() an alternative.
    call_hook(d, e, false);
    unbind(e);
    if (d.state != State::active || !single(s.kind)) return;
    for (Edge* x = s.head; x; x = x->next_cand)
      if (x->seen == Class::active && !x->bound) {
        bind(*x);
        call_hook(d, *x, true);
        break;
      }
    return;
  }
  d.set(node_flag::restart);  // it stops first; with want up it starts again once it can
}

void Partition::gained(Edge& e) {
  Node& d = *e.dep;
  Slot& s = d.slots()[e.slot];
  const bool greedy = s.kind == SlotKind::all || (s.kind == SlotKind::opt && bound_count(s) == 0);
  if (d.state == State::active) {
    if (s.hooks) {
      if (!single(s.kind) || bound_count(s) == 0) {
        bind(e);
        call_hook(d, e, true);
      }
      return;
    }
    if (greedy) d.set(node_flag::restart);
    return;
  }
  if (d.state == State::starting) {
    if (s.hooks)
      d.set(node_flag::rescan);
    else if (greedy)
      d.set(node_flag::restart);
  }
}

void Partition::rescan(Node& n) {
  n.clear(node_flag::rescan);
  for (unsigned k = 0; k < n.nslots; ++k) {
    Slot& s = n.slots()[k];
    if (!s.hooks) continue;
    for (Edge* e = s.head; e; e = e->next_cand)
      if (e->seen == Class::active && !e->bound && (!single(s.kind) || bound_count(s) == 0)) {
        bind(*e);
        call_hook(n, *e, true);
      }
  }
}

void Partition::bind(Edge& e) noexcept {
  e.bound = true;
  ++e.prov->holders;
}

void Partition::unbind(Edge& e) noexcept {
  e.bound = false;
  Node& p = *e.prov;
  --p.holders;
  if (p.has(node_flag::mirror) || (p.state == State::stopping && p.holders == 0)) enqueue(p);
}

void Partition::call_hook(Node& n, Edge& e, bool bound) {
  try {
    n.def->meta->hook(n.obj, e.slot, bound, e, this);
  } catch (const std::exception& x) {
    kio::log_error("kio::di: {} (core {}): {}() threw: {}", n.def->name(), n.core,
                   bound ? "bound" : "unbound", x.what());
  } catch (...) {
    kio::log_error("kio::di: {} (core {}): {}() threw", n.def->name(), n.core,
                   bound ? "bound" : "unbound");
  }
}

void Partition::settle(Node& n) noexcept {
  if (!n.has(node_flag::initial)) return;
  n.clear(node_flag::initial);
  if (--initial_ == 0) settled_event_.set();
}

void Partition::set_error(Node& n, std::string msg) {
  troubled_ = true;
  if (!n.extras) n.extras = new NodeExtras();
  n.extras->error = std::move(msg);
}

void Partition::maybe_stopped() noexcept {
  if (closing_ && running_ == 0) stopped_event_.set();
}

void Partition::begin_start(Node& n) {
  n.clear(node_flag::restart | node_flag::rescan | node_flag::cancelled);
  n.state = State::starting;
  n.gen = ++gen_;
  ++running_;
  for (unsigned k = 0; k < n.nslots; ++k) {
    Slot& s = n.slots()[k];
    const bool one = single(s.kind);
    for (Edge* e = s.head; e; e = e->next_cand)
      if (e->seen == Class::active) {
        bind(*e);
        if (one) break;
      }
  }
  note(n);
  set_class(n, Class::pending);
  const ServiceMeta& m = *n.def->meta;
  if (m.uses_context) {
    m.make_context(n.ctx_storage(), &n, this);
    n.set(node_flag::context);
  }
  const bool sync = !m.build_is_async && m.start_kind != HookKind::async;
  const std::uint64_t t0 = (sync ? time_sync_starts_ : time_starts_) ? stamp() : 0;
  if (sync) {
    std::string err;
    const char* stage = "factory";
    try {
      BuildCtx b{&n, n.def, this, n.has(node_flag::context) ? n.ctx_storage() : nullptr,
                 n.obj_storage()};
      m.build(b);
      n.set(node_flag::built);
      if (m.start_kind == HookKind::sync) {
        stage = "start()";
        err = m.start_sync(n.obj);
        if (!err.empty()) err = "start(): " + err;
      }
    } catch (const std::exception& e) {
      err = std::string(stage) + ": " + e.what();
    } catch (...) {
      err = std::string(stage) + ": unknown exception";
    }
    finish_start(n, std::move(err), t0);
    return;
  }
  n.set(node_flag::busy);
  run_start(this, &n, t0);
}

void Partition::finish_start(Node& n, std::string err, std::uint64_t t0) {
  n.clear(node_flag::busy);
  if (t0 != 0) n.start_seconds = static_cast<float>(stamp() - t0);  // ticks; see collect()
  if (err.empty()) {
    n.state = State::active;
    note(n);
    set_class(n, Class::active);
    settle(n);
    if (n.want != Want::up || n.has(node_flag::restart) || n.has(node_flag::rescan)) enqueue(n);
    return;
  }
  const bool deliberate = n.has(node_flag::cancelled) || n.want != Want::up;
  if (!deliberate) set_error(n, std::move(err));
  set_class(n, deliberate ? Class::off : Class::broken);
  teardown(n, false, !deliberate);
}

void Partition::begin_stop(Node& n) {
  n.state = State::stopping;
  note(n);
  set_class(n, Class::off);  // dependents holding it stop first (or are told unbound())
  if (n.holders == 0) teardown(n, true, false);
}

void Partition::teardown(Node& n, bool run_stop, bool failed) {
  if (n.state != State::stopping) {
    n.state = State::stopping;
    note(n);
  }
  const ServiceMeta& m = *n.def->meta;
  Context* ctx = context_of(n);
  if (ctx) {
    ContextAccess::unsubscribe_all(*ctx);
    ContextAccess::cancel(*ctx);
  }
  const bool stop_hook = run_stop && n.has(node_flag::built) && m.stop_kind != HookKind::none;
  if ((ctx && ContextAccess::scope(*ctx).running() > 0) ||
      (stop_hook && m.stop_kind == HookKind::async)) {
    n.set(node_flag::busy);
    run_teardown(this, &n, stop_hook, failed);
    return;
  }
  if (stop_hook) {
    const std::string err = run_stop_sync(n);
    if (!err.empty()) log_stop_failure(n, err);
    if (ctx && ContextAccess::scope(*ctx).running() > 0) {  // stop() spawned something
      n.set(node_flag::busy);
      run_teardown(this, &n, false, failed);
      return;
    }
  }
  finish_teardown(n, failed);
}

void Partition::finish_teardown(Node& n, bool failed) {
  const ServiceMeta& m = *n.def->meta;
  if (n.has(node_flag::built)) {
    m.destroy(n.obj, in_place(m));
    n.clear(node_flag::built);
  }
  n.obj = nullptr;
  if (n.has(node_flag::context)) {
    m.drop_context(n.ctx_storage());
    n.clear(node_flag::context);
  }
  for (unsigned k = 0; k < n.nslots; ++k)
    for (Edge* e = n.slots()[k].head; e; e = e->next_cand)
      if (e->bound) unbind(*e);
  --running_;
  n.state = failed ? State::failed : (n.want == Want::up ? State::waiting : State::stopped);
  note(n);
  rest_state(n);
  enqueue(n);
  maybe_stopped();
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
