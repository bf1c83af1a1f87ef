// Partition — one core's share of a Registry: the instances placed on that core, the mirrors of
// providers on other cores, the state machine that starts and stops them, and the core's event
// channel. Everything here is owned by, and only touched on, the partition's core; other cores
// talk to it with submit_to messages (and, during a plan operation's barrier-separated phases,
// read its lists without writing them: see registry.cpp).
//
// Design note
// -----------
// * Kahn on counters. Each instance counts its required slots by status (pending, broken, off)
//   and its pending Opt/All candidates (`order`). A provider whose class changes walks its
//   dependents only (O(edges) per change); a dependent whose counters reach zero is queued.
//   Starting: bind the active candidates, construct, start(); active: tell the dependents.
//   Stopping mirrors it: a provider leaving active makes the dependents that hold it stop first
//   (or rebind, Policy::dynamic); it finishes (Context tasks cancelled and joined, stop(),
//   destructor) once nothing holds it (`holders`: bound dependents, leases held by mirrors,
//   Remote calls in flight).
// * No recursion, no allocation per transition: work goes through one FIFO of nodes (intrusive
//   flag, ring buffer that keeps its capacity); requests through one vector. Synchronous
//   factories and hooks run inline in the pump loop; asynchronous ones run in a Runner and
//   report back. Requests made while the pump runs (from a factory, start(), stop(), a hook) are
//   queued behind the current step; requests from anywhere else schedule a pump task, so no
//   user callback ever has the registry change state under its feet.
// * Mirrors. A dependent on core d of a provider P on core p binds a mirror node on d. P tells
//   each mirror its class; "active" grants a lease (counted in P's holders), and when P leaves
//   active the mirror gives the lease back once its local dependents released it. So P never
//   finishes stopping while a dependent on another core still holds it.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "kio/core/cancel.hpp"
#include "kio/core/spawn.hpp"
#include "kio/core/submit_to.hpp"
#include "kio/core/task.hpp"
#include "kio/di/detail/node.hpp"
#include "kio/di/detail/plan.hpp"
#include "kio/di/detail/remote_target.hpp"
#include "kio/di/detail/slab.hpp"
#include "kio/di/events.hpp"
#include "kio/di/snapshot.hpp"
#include "kio/sync/event.hpp"

namespace kio::di {
class Registry;
}

namespace kio::di::detail {

enum class Op : std::uint8_t { stop, start, remove };

/// One instance as seen by snapshot(), with the service it belongs to.
struct InstanceRecord {
  std::uint32_t service;
  InstanceInfo info;
};
/// One dependency edge as seen by snapshot(): slot `slot` of `dep` may bind `prov`.
struct EdgeRecord {
  std::uint32_t prov;
  std::uint32_t dep;
  std::uint8_t slot;
};

class Partition {
 public:
  Partition(Registry& reg, unsigned core, std::vector<std::unique_ptr<Partition>>& all,
            bool time_starts, bool time_sync_starts);
  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;
  ~Partition();

  unsigned core() const noexcept { return core_; }
  Registry& registry() const noexcept { return reg_; }
  EventChannel& events() noexcept { return events_; }
  CancelToken shutdown_token() const noexcept { return shutdown_; }

  // ---- plan operations (phases driven by the home core; see registry.cpp) -------------------
  /// Phase 1: creates this core's instances of `defs` (and their per-requester providers) and
  /// their edges per `res`; `initial`: part of start() (counted until settled).
  void instantiate(std::span<ServiceDef* const> defs, const Resolution& res, bool initial);
  /// Phase 1 of add() after start: existing consumer slots here gain the new provider `p`.
  void connect_consumers(ServiceDef* p, std::span<const ConsumerSlot> consumers,
                         const Resolution& res);
  /// Phase 2: new mirrors learn their providers; providers here learn new mirrors elsewhere.
  void link_mirrors();
  /// Phase 3: queues the new instances and runs.
  void begin();
  /// Until every instance created by start() has settled once (active, failed, blocked,
  /// stopped, or waiting for something that is not coming).
  Task<void> settled();
  /// Stops everything here and refuses to start anything again.
  void stop_all();
  /// Until nothing here runs.
  Task<void> stopped();
  /// Until no message, runner, pump or event dispatch of this partition is outstanding.
  Task<void> quiesce();
  /// Removes every instance of `service` here (stopping it first) and waits until they and the
  /// mirrors of them on other cores are gone (every message sent meanwhile is delivered).
  Task<void> remove_service(std::uint32_t service);
  /// Whether this partition has anything still to do (for the final quiescence check).
  bool quiet() const noexcept;
  /// Instances starting, active or stopping here.
  std::size_t running() const noexcept { return running_; }
  /// Whether an instance here has been failed or blocked at some point (start()'s report
  /// only looks at every instance when one has).
  bool troubled() const noexcept { return troubled_; }

  // ---- requests ------------------------------------------------------------------------------
  /// Queues a request for the instances of `service` here; runs after the current step.
  void post(Op op, std::uint32_t service);
  /// Posts and waits until the instances here reached the request's end state. `wait`: false
  /// when the caller is a transition of this registry (it would wait for itself).
  Task<void> request(Op op, std::uint32_t service, bool wait);
  /// True if `caller` (an ambient token) belongs to a transition running on this core.
  bool in_transition(CancelToken caller) const noexcept;
  /// The state of `service`'s shared instance here, if it has one.
  bool state_of(std::uint32_t service, State& out) const noexcept;
  /// The object of `service`'s shared instance here if active (for Registry::local).
  Node* active_node(std::uint32_t service) const noexcept;
  /// Waits until every instance of `service` here is in `s` (and, with `expect_shared`, until
  /// its shared instance here exists); false if it is removed (or the registry stops) first.
  Task<bool> wait_for(std::uint32_t service, State s, bool expect_shared);

  // ---- Remote calls --------------------------------------------------------------------------
  Node* acquire(const RemoteTarget& t) noexcept;
  void release(Node* n) noexcept;

  // ---- introspection -------------------------------------------------------------------------
  void collect(std::vector<InstanceRecord>& out, std::vector<EdgeRecord>* edges,
               bool problems_only) const;

  // ---- internals shared with the runners and messages (partition*.cpp) ----------------------
  struct RunnerLink {
    RunnerLink* prev = nullptr;
    RunnerLink* next = nullptr;
    Node* node = nullptr;
    CancelSource* src = nullptr;
  };
  void finish_start(Node& n, std::string err, std::uint64_t t0);
  void finish_teardown(Node& n, bool failed);
  void pump();
  void link_runner(RunnerLink& r) noexcept;
  void unlink_runner(RunnerLink& r) noexcept;
  void mirror_update(MirrorNode& m, Class c, State s, std::uint32_t gen, std::uint32_t index);
  void released(Node& p, Node* mirror);
  void mirror_gone(MirrorNode& m);
  void schedule_pump();
  void teardown_runner_done() noexcept { --runners_; }
  const std::vector<std::unique_ptr<Partition>>& all() const noexcept { return all_; }

 private:
  struct Request {
    Op op;
    std::uint32_t service;
  };
  struct Waiter {
    Waiter* prev = nullptr;
    Waiter* next = nullptr;
    std::uint32_t service;
    Op op;
    bool by_state = false;
    bool expect_shared = false;
    State state = State::waiting;
    bool ok = true;
    std::size_t cursor = 0;  // per-requester instances before it were done (waiter_done)
    kio::Event done{};
  };
  class NodeQueue {
   public:
    bool empty() const noexcept { return head_ == tail_; }
    void push(Node* n) {
      if (tail_ - head_ == (buf_ ? mask_ + 1 : 0)) [[unlikely]]
        grow();
      buf_[tail_++ & mask_] = n;
    }
    Node* pop() noexcept { return buf_[head_++ & mask_]; }
    void shrink_if_large() noexcept {
      if (empty() && mask_ + 1 > 4096) {
        buf_.reset();
        mask_ = head_ = tail_ = 0;
      }
    }

   private:
    void grow();
    std::unique_ptr<Node*[]> buf_;
    std::size_t mask_ = 0, head_ = 0, tail_ = 0;
  };

  // building
  Node* create_node(ServiceDef* def, Node* requester, bool initial);
  MirrorNode* mirror_for(ServiceDef* p, unsigned core);
  void wire(Node& n, const Resolution& res, bool initial);
  Node* provider_for(Node& dep, ServiceDef* p, unsigned slot, const Resolution& res, bool initial,
                     unsigned core);
  Edge& add_edge(Node& dep, unsigned slot, Node& prov, unsigned core, Edge** tail);
  void remove_edge(Edge& e, bool notify_dep);
  void destroy_node(Node& n);
  void free_node(Node* n) noexcept;
  template <class F>
  void for_each_instance(std::uint32_t service, F&& f) {
    if (service < by_service_.size() && by_service_[service]) {
      f(*by_service_[service]);
      return;  // a service is either shared or per-requester, never both
    }
    if (dedicated_.empty()) return;
    auto it = dedicated_.find(service);
    if (it == dedicated_.end()) return;
    for (Node* n : it->second)
      f(*n);
  }

  // the state machine
  void enqueue(Node& n) {
    if (n.has(node_flag::queued)) return;
    n.set(node_flag::queued);
    work_.push(&n);
  }
  void step(Node& n);
  void step_mirror(MirrorNode& m);
  void apply(const Request& r);
  bool startable(const Node& n) const noexcept;
  void begin_start(Node& n);
  void begin_stop(Node& n);
  void teardown(Node& n, bool run_stop, bool failed);
  void rest_state(Node& n);
  void set_class(Node& n, Class c);
  void propagate(Node& n);
  void announce(Node& n);
  void on_class(Edge& e, Class now);
  void lost(Edge& e);
  void gained(Edge& e);
  void rescan(Node& n);
  void bind(Edge& e) noexcept;
  void unbind(Edge& e) noexcept;
  void call_hook(Node& n, Edge& e, bool bound);
  void restatus(Node& d, Slot& s) noexcept;
  void settle(Node& n) noexcept;
  /// After a state change: waiters and mirrors (rare) get to look.
  void note(Node& n) {
    if (waiters_ || n.extras) noted(n);
  }
  void noted(Node& n);
  void check_waiters(std::uint32_t service);
  bool waiter_done(Waiter& w);
  bool has_instances(std::uint32_t service) const noexcept;
  bool removed(std::uint32_t service) const noexcept;
  void set_error(Node& n, std::string msg);
  void cancel_runner(Node& n) noexcept;
  void maybe_stopped() noexcept;

 public:
  /// Runs fn() on `core` (a plain function, run when that core drains its mail), from a task
  /// of this core that this partition counts until the reply is back.
  template <class F>
  void send(unsigned core, F fn) {
    ++messages_;
    kio::spawn(message(this, core, std::move(fn)));
  }
  template <class F>
  static Task<void> message(Partition* self, unsigned core, F fn) {
    try {
      co_await kio::submit_to(core, std::move(fn));
    } catch (const std::exception& e) {
      undelivered(core, e.what());
    }
    --self->messages_;
  }
  static void undelivered(unsigned core, const char* what) noexcept;
  /// Runs `t` detached on this core (a plan operation queued behind the registry's lock),
  /// counted until it ends: quiet() waits for it, remove_service() does not (it may be waiting
  /// for the lock remove_service's caller holds).
  void track(Task<void> t) {
    ++tracked_;
    kio::spawn(tracked(this, std::move(t)));
  }
  static Task<void> tracked(Partition* self, Task<void> t);

 private:
  static Task<void> pump_task(Partition* self);

  Registry& reg_;
  const unsigned core_;
  std::vector<std::unique_ptr<Partition>>& all_;
  const bool time_starts_;
  const bool time_sync_starts_;
  CancelToken shutdown_;

  Slab slab_;                 // instance nodes (declared first: freed last)
  std::vector<Node*> table_;  // every node here (instances and mirrors), by Node::index
  std::vector<std::uint32_t> free_;
  std::vector<Node*> by_service_;  // shared instance of each service on this core
  std::unordered_map<std::uint32_t, std::vector<Node*>> dedicated_;  // per-requester instances
  std::unordered_map<std::uint64_t, MirrorNode*> mirrors_;           // (service, core) -> mirror
  std::unordered_set<std::uint32_t> removed_;                        // services removed here
  std::vector<Node*> new_nodes_;
  std::vector<MirrorNode*> new_mirrors_;
  std::vector<Edge*> new_edges_;  // added to a provider that is not pending: sync in begin()

  NodeQueue work_;
  std::vector<Request> requests_;
  std::size_t req_head_ = 0;
  bool pumping_ = false;
  bool pump_scheduled_ = false;
  bool closing_ = false;
  bool troubled_ = false;
  std::uint32_t gen_ = 0;
  std::size_t running_ = 0;   // instances starting, active or stopping
  std::size_t initial_ = 0;   // instances of start() not settled yet
  std::size_t runners_ = 0;   // runners in flight
  std::size_t messages_ = 0;  // message tasks in flight
  std::size_t tracked_ = 0;   // tracked tasks in flight (track())
  RunnerLink* runner_list_ = nullptr;
  Waiter* waiters_ = nullptr;
  kio::Event settled_event_{};
  kio::Event stopped_event_{};

  EventChannel events_;
};

}  // namespace kio::di::detail
