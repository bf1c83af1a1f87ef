// kio::di::Registry — services composed from factories, placed on cores, started in dependency
// order and stopped in reverse, kept consistent while services are added, stopped or removed.
//
//   kio::di::Registry reg;
//   auto cfg = reg.add<Config>(kio::di::on_core(0), [] { return Config::load(); });
//   reg.add<Counter>(kio::di::every_core, [] { return Counter{}; });
//   reg.add<Routes>(kio::di::every_core,
//       [](kio::di::Ref<Counter> c, kio::di::Remote<Config> cfg) { return Routes(c, cfg); });
//   kio::di::StartReport r = co_await reg.start();   // GraphError before any factory runs
//   if (!r) std::fputs(r.message().c_str(), stderr);  // failed / blocked, the rest runs
//   ...
//   co_await reg.stop();                               // dependents first, each on its core
//
// Runs on: every instance is built, started, stopped and destroyed on its own core. start() is
//   awaited on a worker: that core is the *home* core, which alone changes what is registered
//   (add after start, remove). Requests (stop/start/remove/post_*, snapshot, dump, wait_for) may
//   come from any worker and are forwarded as submit_to messages; local() and events() answer for
//   the calling core. add() before start may be called from any one thread.
// Ordering: a service starts once every required slot has an active provider and every
//   Opt/All candidate that is coming has settled; independent services start concurrently
//   (asynchronous factories and start()s overlap). stop() stops dependents before providers.
// Requests from inside a transition: a request posted (or awaited) by a factory, start(), stop(),
//   hook or Context task of this registry is queued behind the current step and the awaiting
//   call returns at once (waiting would wait for itself); from anywhere else the awaiting calls
//   return once the request took effect on every core.
// Errors: start() throws GraphError listing every problem before any factory runs; a factory or
//   start() that fails marks its instance `failed` with the message and its dependents `blocked`;
//   the rest runs (StartReport). add() after start throws GraphError for a cycle or a cross-core
//   Ref/Opt it would create; a missing provider only makes the new service wait.
// Lifetime: call stop() before the Registry is destroyed (destroying a started one terminates
//   with a message, like kio::Sharded) and before the runtime stops. Remote handles and ids stay
//   safe to use while the Registry exists (calls end with operation_canceled once the provider is
//   gone); a removed registration's small record is kept until the Registry is destroyed.
// Cost: start and stop are O(services + edges); a transition touches the instance's own edges
//   only and allocates nothing. Memory per idle instance: one node (72 B) plus 72 B per slot
//   plus the Impl itself (see the di tests' printout).
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kio/core/task.hpp"
#include "kio/core/this_core.hpp"
#include "kio/di/context.hpp"
#include "kio/di/detail/arena.hpp"
#include "kio/di/detail/def_table.hpp"
#include "kio/di/detail/factory.hpp"
#include "kio/di/detail/on_each.hpp"
#include "kio/di/detail/partition.hpp"
#include "kio/di/detail/plan.hpp"
#include "kio/di/errors.hpp"
#include "kio/di/events.hpp"
#include "kio/di/options.hpp"
#include "kio/di/placement.hpp"
#include "kio/di/remote.hpp"
#include "kio/di/service_id.hpp"
#include "kio/di/slots.hpp"
#include "kio/di/snapshot.hpp"
#include "kio/di/state.hpp"
#include "kio/sync/mutex.hpp"

namespace kio::di {

class Registry {
 public:
  explicit Registry(RegistryOptions opts = {});
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry();

  /// Registers Impl, published as each of Ifaces (as Impl when none), built by `factory` on the
  /// cores `where` names. See factory.hpp for what the factory and Impl may look like. Before
  /// start(): recorded. After: checked at once (GraphError), then instantiated and started in
  /// the background once its required slots have active providers (wait_for to wait).
  template <class Impl, class... Ifaces, class F>
  ServiceId add(Placement where, F factory, Options opts = {}) {
    using Fn = std::decay_t<F>;
    using M = detail::MetaFor<Impl, detail::type_list<Ifaces...>, Fn>;
    const detail::ServiceMeta& meta = M::meta;
    auto* def =
        ::new (arena_.allocate(meta.def_size, alignof(std::max_align_t))) detail::ServiceDef{};
    def->meta = &meta;
    if constexpr (M::stored_factory) {
      ::new (def->factory()) Fn(std::move(factory));  // if it throws, the arena keeps the bytes
    }
    return add_def(def, where, std::move(opts));
  }

  /// Checks the whole graph, then builds and starts everything; returns once every instance is
  /// active, failed or blocked (or stopped / waiting because of a request made meanwhile).
  Task<StartReport> start();
  /// Stops everything, dependents first, and waits until nothing runs. Idempotent; start()
  /// cannot be called again afterwards.
  Task<void> stop();

  /// Stops the instances of `id` (all, or the one on `core`); dependents that hold them stop
  /// first and restart once a provider is back (Policy::restart). They stay `stopped` until
  /// start(id).
  Task<void> stop(ServiceId id, unsigned core = all_cores);
  /// Starts (or retries) stopped or failed instances of `id`; returns once they settled.
  Task<void> start(ServiceId id, unsigned core = all_cores);
  /// Stops and unregisters `id`; dependents wait for another provider.
  Task<void> remove(ServiceId id);
  /// Queue a request and return at once (no frame, no waiting).
  void post_stop(ServiceId id, unsigned core = all_cores);
  void post_start(ServiceId id, unsigned core = all_cores);

  /// Waits until every instance of `id` (on `core`, or all) is in state `s`; false when `id` is
  /// removed meanwhile (or was never registered).
  Task<bool> wait_for(ServiceId id, State s, unsigned core = all_cores);
  /// The state of id's instance on the calling core (nullopt: none here, or not started).
  std::optional<State> state(ServiceId id) const noexcept;

  /// id's instance on the calling core if it is active, as T (its Impl or one of its
  /// interfaces), else nullptr. Valid until the caller suspends.
  template <class T>
  T* local(ServiceId id) const {
    if (parts_.empty()) return nullptr;
    const unsigned c = kio::this_core();
    if (c >= parts_.size()) return nullptr;
    detail::Node* n = parts_[c]->active_node(id.index);
    if (!n) return nullptr;
    auto cast = cast_for(*n->def, detail::type_key<T>(), detail::type_name<T>());
    return static_cast<T*>(cast(n->obj));
  }
  /// A Remote handle to id's current instance (this core's, for every_core services) that
  /// follows restarts; for code outside the graph. Throws std::invalid_argument if `id` is not
  /// published as T.
  template <class T, Qualifier Q = unnamed>
  Remote<T, Q> get(ServiceId id) const {
    const detail::ServiceDef* d = defs_.find(id.index);
    if (!d || parts_.empty()) return Remote<T, Q>();
    detail::RemoteTarget t;
    t.cast = cast_for(*d, detail::type_key<T>(), detail::type_name<T>());
    const unsigned c = d->where.every_core() ? kio::this_core() : d->where.core();
    if (c >= parts_.size()) return Remote<T, Q>();
    t.part = parts_[c].get();
    t.index = id.index;
    t.core = static_cast<std::uint16_t>(c);
    t.by_service = true;
    return detail::SlotAccess::remote<T, Q>(t);
  }

  /// The calling core's event channel (after start()).
  EventChannel& events();

  /// A copy of every service's state, instances, slots and errors (snapshot.hpp).
  Task<std::vector<ServiceInfo>> snapshot();
  /// The snapshot as a text table or a Graphviz digraph.
  Task<std::string> dump(DumpFormat format = DumpFormat::text);

  bool started() const noexcept { return phase_ != Phase::idle; }
  /// The core that called start() (kio::no_core before).
  unsigned home_core() const noexcept { return home_; }
  /// Registrations so far (removed ones included).
  std::size_t size() const noexcept { return defs_.size(); }

 private:
  enum class Phase : std::uint8_t { idle, running, stopping, stopped };

  ServiceId add_def(detail::ServiceDef* def, Placement where, Options opts);
  static void* (*cast_for(const detail::ServiceDef& d, detail::TypeKey t,
                          const std::string& tname))(void*) noexcept;
  Task<void> request(detail::Op op, ServiceId id, unsigned core);
  Task<void> add_later(detail::ServiceDef* def, detail::Resolution res,
                       std::vector<detail::ConsumerSlot> consumers);
  Task<void> remove_here(ServiceId id);
  Task<void> stop_here();
  Task<StartReport> report();
  detail::Cores cores_of(const detail::ServiceDef& d, unsigned core) const noexcept;
  void require_started(const char* what) const;

  RegistryOptions opts_;
  detail::Arena arena_;  // registrations: never freed one by one
  detail::DefTable defs_;
  detail::Plan plan_;  // home core
  std::vector<std::unique_ptr<detail::Partition>> parts_;
  unsigned home_ = kio::no_core;
  Phase phase_ = Phase::idle;
  std::unique_ptr<Mutex> plan_mu_;  // home core: one plan operation at a time
  std::size_t background_ = 0;      // home core: add()s still being instantiated
  std::unique_ptr<Event> stop_done_;
};

}  // namespace kio::di
