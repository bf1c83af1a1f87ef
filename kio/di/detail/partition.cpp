// Partition, part 1: the state machine, its queue and pump, and the runners (see partition.hpp
// for the design; requests, mirrors and whole-partition operations are partition_requests.cpp).
#include "kio/di/detail/partition.hpp"

#include <exception>
#include <string>
#include <utility>

#include "kio/core/log.hpp"
#include "kio/core/this_core.hpp"
#include "kio/core/with_cancel.hpp"
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

}  // namespace kio::di::detail
