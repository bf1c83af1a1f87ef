#include "kio/di/registry.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <numeric>
#include <set>

#include "kio/core/log.hpp"
#include "kio/core/submit_to.hpp"
#include "kio/core/this_core.hpp"
#include "kio/core/with_cancel.hpp"
#include "kio/core/yield.hpp"
#include "kio/di/detail/on_each.hpp"

namespace kio::di {

using detail::Op;
using detail::Partition;
using detail::ServiceDef;

namespace {

Task<void> begin_and_settle(Partition* p) {
  p->begin();
  co_await p->settled();
}

Task<void> stop_partition(Partition* p) {
  p->stop_all();
  co_await p->stopped();
  co_await p->quiesce();
}

detail::Cores all_of(std::size_t n) {
  return detail::Cores{0, static_cast<unsigned>(n)};
}

std::string instance_label(const ServiceDef& d, const InstanceInfo& i) {
  std::string s = d.label();
  if (d.where.every_core()) s += " on core " + std::to_string(i.core);
  if (!i.requester.empty()) s += " for " + i.requester;
  return s;
}

}  // namespace

Task<void> detail::Partition::tracked(Partition* self, Task<void> t) {
  try {
    co_await std::move(t);
  } catch (const std::exception& e) {
    kio::log_error("kio::di: a background registry operation failed: {}", e.what());
  }
  --self->tracked_;
}

Registry::Registry(RegistryOptions opts) : opts_(opts) {}

Registry::~Registry() {
  if (phase_ == Phase::running || phase_ == Phase::stopping) {
    std::fputs("kio::di::Registry destroyed while running; co_await its stop() first\n", stderr);
    std::terminate();
  }
  parts_.clear();
  for (std::uint32_t i = 0; i < defs_.size(); ++i) {
    ServiceDef* d = defs_[i];
    d->meta->destroy_factory(d->factory());
    if (d->extras) d->extras->~DefExtras();
    d->~ServiceDef();  // the arena frees the memory
  }
}

void Registry::require_started(const char* what) const {
  if (parts_.empty())
    throw std::logic_error(std::string("kio::di::Registry::") + what +
                           ": the registry is not started (co_await start() first)");
}

void* (*Registry::cast_for(const ServiceDef& d, detail::TypeKey t,
                           const std::string& tname))(void*) noexcept {
  if (t == d.meta->impl_type) return [](void* p) noexcept { return p; };
  const int i = d.iface_index(t);
  if (i < 0)
    throw std::invalid_argument("kio::di::Registry: " + std::string(d.name()) +
                                " is not published as " + tname);
  return d.meta->ifaces[i].cast;
}

ServiceId Registry::add_def(ServiceDef* def, Placement where, Options opts) {
  def->where = where;
  def->sharing = opts.sharing;
  def->policy = opts.policy;
  def->primary = opts.primary;
  if (!opts.name.empty() || !opts.qualifier.empty() || !opts.properties.empty() ||
      !opts.filters.empty()) {
    auto text = [this](const std::string& s) {
      if (s.empty()) return std::string_view();
      char* p = static_cast<char*>(arena_.allocate(s.size(), 1));
      std::memcpy(p, s.data(), s.size());
      return std::string_view(p, s.size());
    };
    auto* x = ::new (arena_.allocate(sizeof(detail::DefExtras), alignof(detail::DefExtras)))
        detail::DefExtras{std::move(opts.properties), text(opts.name), text(opts.qualifier)};
    if (!opts.filters.empty()) {
      x->filters = static_cast<Filter*>(
          arena_.allocate(sizeof(Filter) * opts.filters.size(), alignof(Filter)));
      for (Filter& f : opts.filters)
        ::new (&x->filters[x->n_filters++]) Filter(std::move(f));
    }
    def->extras = x;
  }
  auto discard = [def] {
    def->meta->destroy_factory(def->factory());
    if (def->extras) def->extras->~DefExtras();
    def->~ServiceDef();
  };
  if (phase_ == Phase::stopping || phase_ == Phase::stopped) {
    discard();
    throw std::logic_error("kio::di::Registry::add: the registry is stopped");
  }
  if (phase_ == Phase::running && kio::this_core() != home_) {
    discard();
    throw std::logic_error("kio::di::Registry::add after start(): call it on the home core (core " +
                           std::to_string(home_) + ")");
  }
  def->index = defs_.push(def);
  plan_.add(def);
  if (phase_ == Phase::running) {
    detail::Resolution res;
    std::vector<detail::ConsumerSlot> consumers;
    std::vector<Problem> problems =
        plan_.check_new(def, static_cast<unsigned>(parts_.size()), res, consumers);
    if (!problems.empty()) {
      plan_.remove(def);
      def->removed = true;
      throw GraphError(std::move(problems));
    }
    ++background_;
    parts_[home_]->track(add_later(def, std::move(res), std::move(consumers)));
  }
  return ServiceId{def->index};
}

Task<StartReport> Registry::start() {
  if (phase_ != Phase::idle)
    throw std::logic_error("kio::di::Registry::start: a Registry is started once");
  const unsigned home = kio::this_core();
  if (home == kio::no_core)
    throw std::logic_error("kio::di::Registry::start: call it on a kio worker (Runtime::block_on)");
  const unsigned cores = kio::core_count();
  std::vector<ServiceDef*> defs(defs_.size());
  for (std::uint32_t i = 0; i < defs_.size(); ++i)
    defs[i] = defs_[i];
  detail::Resolution res;
  std::vector<Problem> problems = plan_.check_all(defs, cores, res);
  if (!problems.empty()) throw GraphError(std::move(problems));

  home_ = home;
  phase_ = Phase::running;
  plan_mu_ = std::make_unique<Mutex>();
  stop_done_ = std::make_unique<Event>();
  parts_.reserve(cores);
  for (unsigned c = 0; c < cores; ++c)
    parts_.push_back(
        std::make_unique<Partition>(*this, c, parts_, opts_.time_starts, opts_.time_sync_starts));
  const detail::Cores all = all_of(cores);
  // Phase 1: every core builds its instances and edges (reads defs and res only).
  // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines): awaited in this full-expression, so the closure outlives its coroutines
  co_await detail::on_each(all, [&](unsigned c) -> Task<void> {
    co_await kio::submit_to(c, [&, c] { parts_[c]->instantiate(defs, res, true); });
  });
  // Phase 2: mirrors and their providers find each other (read-only looks across cores).
  if (cores > 1)
    // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines): awaited in this full-expression, so the closure outlives its coroutines
    co_await detail::on_each(all, [&](unsigned c) -> Task<void> {
      co_await kio::submit_to(c, [&, c] { parts_[c]->link_mirrors(); });
    });
  // Phase 3: run; wait until every instance settled.
  // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines): awaited in this full-expression, so the closure outlives its coroutines
  co_await detail::on_each(all, [&](unsigned c) -> Task<void> {
    co_await kio::submit_to(c, [&, c] { return begin_and_settle(parts_[c].get()); });
  });
  co_return co_await report();
}

Task<StartReport> Registry::report() {
  std::vector<std::vector<detail::InstanceRecord>> per(parts_.size());
  // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines): awaited in this full-expression, so the closure outlives its coroutines
  co_await detail::on_each(all_of(parts_.size()), [&](unsigned c) -> Task<void> {
    co_await kio::submit_to(c, [&, c] {
      if (parts_[c]->troubled()) parts_[c]->collect(per[c], nullptr, true);
    });
  });
  StartReport r;
  for (auto& v : per)
    for (detail::InstanceRecord& rec : v) {
      const ServiceDef& d = *defs_[rec.service];
      const InstanceInfo& i = rec.info;
      if (i.state == State::failed) {
        r.lines_.push_back(instance_label(d, i) + " failed: " + i.error);
        if (std::find(r.failed_.begin(), r.failed_.end(), ServiceId{rec.service}) ==
            r.failed_.end())
          r.failed_.push_back(ServiceId{rec.service});
      } else {
        std::string why;
        for (const SlotInfo& s : i.slots)
          if (!s.waiting_for.empty()) {
            why += (why.empty() ? "" : "; ") + std::string("parameter ") +
                   std::to_string(s.parameter) + " " + s.slot + ": waiting for " + s.waiting_for;
          }
        r.lines_.push_back(instance_label(d, i) + " blocked: " + why);
        if (std::find(r.blocked_.begin(), r.blocked_.end(), ServiceId{rec.service}) ==
            r.blocked_.end())
          r.blocked_.push_back(ServiceId{rec.service});
      }
    }
  co_return r;
}

Task<void> Registry::stop() {
  if (phase_ == Phase::idle) {
    phase_ = Phase::stopped;
    co_return;
  }
  if (kio::this_core() != home_) {
    co_await kio::submit_to(home_, [this] { return stop_here(); });
    co_return;
  }
  co_await stop_here();
}

Task<void> Registry::stop_here() {
  if (phase_ == Phase::stopped) co_return;
  if (phase_ == Phase::stopping) {
    (void)co_await kio::with_cancel(CancelToken{}, stop_done_->wait());
    co_return;
  }
  phase_ = Phase::stopping;
  {
    // A plan operation in progress finishes first. Not cancellable (nor are the other internal
    // waits): stop() is typically awaited while the runtime stops, its token cancelled.
    auto lock = co_await kio::with_cancel(CancelToken{}, plan_mu_->lock());
  }
  const detail::Cores all = all_of(parts_.size());
  // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines): awaited in this full-expression, so the closure outlives its coroutines
  co_await detail::on_each(all, [&](unsigned c) -> Task<void> {
    co_await kio::submit_to(c, [&, c] { return stop_partition(parts_[c].get()); });
  });
  // Every core quiet in one round: no message can still be on its way to a partition.
  for (;;) {
    bool quiet = true;
    for (unsigned c : all)
      quiet = co_await kio::submit_to(
                  c, [&, c] { return parts_[c]->quiet() && parts_[c]->running() == 0; }) &&
              quiet;
    if (quiet) break;
    // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines): awaited in this full-expression, so the closure outlives its coroutines
    co_await detail::on_each(all, [&](unsigned c) -> Task<void> {
      co_await kio::submit_to(c, [&, c] { return stop_partition(parts_[c].get()); });
    });
  }
  phase_ = Phase::stopped;
  stop_done_->set();
}

detail::Cores Registry::cores_of(const ServiceDef& d, unsigned core) const noexcept {
  if (core != all_cores) return core < parts_.size() ? detail::Cores{core, 1} : detail::Cores{};
  if (d.where.every_core() || d.sharing == Sharing::per_requester) return all_of(parts_.size());
  if (d.where.core() >= parts_.size()) return {};
  return detail::Cores{d.where.core(), 1};
}

Task<void> Registry::request(Op op, ServiceId id, unsigned core) {
  require_started(op == Op::stop ? "stop" : "start");
  const ServiceDef* d = defs_.find(id.index);
  if (!d) co_return;
  const unsigned here = kio::this_core();
  const CancelToken tok = co_await kio::this_cancel_token();
  const bool wait = !(here < parts_.size() && parts_[here]->in_transition(tok));
  const detail::Cores cores = cores_of(*d, core);
  // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines): awaited in this full-expression, so the closure outlives its coroutines
  co_await detail::on_each(cores, [&](unsigned c) -> Task<void> {
    if (c == here)
      co_await parts_[c]->request(op, id.index, wait);
    else
      co_await kio::submit_to(c, [&, c] { return parts_[c]->request(op, id.index, wait); });
  });
}

Task<void> Registry::stop(ServiceId id, unsigned core) {
  return request(Op::stop, id, core);
}

Task<void> Registry::start(ServiceId id, unsigned core) {
  return request(Op::start, id, core);
}

void Registry::post_stop(ServiceId id, unsigned core) {
  require_started("post_stop");
  const ServiceDef* d = defs_.find(id.index);
  if (!d) return;
  const unsigned here = kio::this_core();
  for (unsigned c : cores_of(*d, core)) {
    if (c == here)
      parts_[c]->post(Op::stop, id.index);
    else if (here < parts_.size())
      parts_[here]->send(c, [p = parts_[c].get(), i = id.index] { p->post(Op::stop, i); });
  }
}

void Registry::post_start(ServiceId id, unsigned core) {
  require_started("post_start");
  const ServiceDef* d = defs_.find(id.index);
  if (!d) return;
  const unsigned here = kio::this_core();
  for (unsigned c : cores_of(*d, core)) {
    if (c == here)
      parts_[c]->post(Op::start, id.index);
    else if (here < parts_.size())
      parts_[here]->send(c, [p = parts_[c].get(), i = id.index] { p->post(Op::start, i); });
  }
}

Task<void> Registry::remove(ServiceId id) {
  require_started("remove");
  const unsigned here = kio::this_core();
  const CancelToken tok = co_await kio::this_cancel_token();
  if (here < parts_.size() && parts_[here]->in_transition(tok)) {
    // From this registry's own transition: queue it (waiting would wait for itself).
    auto later = [](Registry* self, ServiceId i) -> Task<void> {
      co_await kio::submit_to(self->home_, [self, i] { return self->remove_here(i); });
    };
    parts_[here]->track(later(this, id));
    co_return;
  }
  if (here == home_)
    co_await remove_here(id);
  else
    co_await kio::submit_to(home_, [this, id] { return remove_here(id); });
}

Task<void> Registry::remove_here(ServiceId id) {
  auto lock = co_await kio::with_cancel(CancelToken{}, plan_mu_->lock());
  ServiceDef* d = defs_.find(id.index);
  if (!d || d->removed || phase_ != Phase::running) co_return;
  d->removed = true;
  plan_.remove(d);
  // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines): awaited in this full-expression, so the closure outlives its coroutines
  co_await detail::on_each(cores_of(*d, all_cores), [&](unsigned c) -> Task<void> {
    co_await kio::submit_to(c, [&, c] { return parts_[c]->remove_service(id.index); });
  });
}

Task<void> Registry::add_later(ServiceDef* def, detail::Resolution res,
                               std::vector<detail::ConsumerSlot> consumers) {
  auto lock = co_await kio::with_cancel(CancelToken{}, plan_mu_->lock());
  if (phase_ == Phase::running && !def->removed) {
    const detail::Cores all = all_of(parts_.size());
    ServiceDef* one[1] = {def};
    // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines): awaited in this full-expression, so the closure outlives its coroutines
    co_await detail::on_each(all, [&](unsigned c) -> Task<void> {
      co_await kio::submit_to(c, [&, c] {
        parts_[c]->instantiate(one, res, false);
        parts_[c]->connect_consumers(def, consumers, res);
      });
    });
    if (all.size() > 1)
      // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines): awaited in this full-expression, so the closure outlives its coroutines
      co_await detail::on_each(all, [&](unsigned c) -> Task<void> {
        co_await kio::submit_to(c, [&, c] { parts_[c]->link_mirrors(); });
      });
    // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines): awaited in this full-expression, so the closure outlives its coroutines
    co_await detail::on_each(all, [&](unsigned c) -> Task<void> {
      // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines): awaited in this full-expression, so the closure outlives its coroutines
      co_await kio::submit_to(c, [&, c]() -> Task<void> {
        parts_[c]->begin();
        co_return;
      });
    });
  }
  --background_;
}

Task<bool> Registry::wait_for(ServiceId id, State s, unsigned core) {
  require_started("wait_for");
  const ServiceDef* d = defs_.find(id.index);
  if (!d || d->removed) co_return false;
  bool ok = true;
  const unsigned here = kio::this_core();
  const bool shared = d->sharing == Sharing::shared;
  // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines): awaited in this full-expression, so the closure outlives its coroutines
  co_await detail::on_each(cores_of(*d, core), [&](unsigned c) -> Task<void> {
    bool r;
    if (c == here)
      r = co_await parts_[c]->wait_for(id.index, s, shared);
    else
      r = co_await kio::submit_to(c, [&, c] { return parts_[c]->wait_for(id.index, s, shared); });
    ok = ok && r;
  });
  co_return ok;
}

std::optional<State> Registry::state(ServiceId id) const noexcept {
  const unsigned c = kio::this_core();
  if (c >= parts_.size()) return std::nullopt;
  State s;
  if (!parts_[c]->state_of(id.index, s)) return std::nullopt;
  return s;
}

EventChannel& Registry::events() {
  require_started("events");
  const unsigned c = kio::this_core();
  if (c >= parts_.size())
    throw std::logic_error("kio::di::Registry::events: call it on a worker of the runtime");
  return parts_[c]->events();
}

}  // namespace kio::di
