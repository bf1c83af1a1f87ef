// kio::di::Context / Requester — what a service instance can ask of the registry, and who asked
// for a per-requester instance.
//
//   reg.add<Poller>(kio::di::every_core, [](kio::di::Context& ctx, kio::di::Ref<IFeed> feed) {
//     return Poller(ctx, feed); });
//   // in Poller::start():
//   ctx.spawn(poll_forever(feed));                       // cancelled and joined before stop()
//   ctx.subscribe<Tick>([this](const Tick& t) { ... });  // removed when the service stops
//   ctx.publish(Refreshed{});                            // on this core's channel
//   co_await ctx.registry().stop(other);                 // see Registry (queued when issued
//                                                        // from this service's own start/stop)
//
// A factory gets `Context&` by declaring the parameter. The Context belongs to one incarnation of
// one instance: valid from the factory call until the end of stop() (keep the reference in the
// instance; a restart builds a new instance with a new Context).
// Runs on: the instance's core; every member is called there.
// Cancellation: token() is cancelled when the service stops (before its stop() runs) and when
//   the runtime shuts down; spawned tasks run with it. When the service stops, the registry first
//   removes its event handlers, cancels the token, waits for every spawned task to finish, then
//   calls stop(), waits for tasks stop() spawned, and destroys the instance: no coroutine spawned
//   here outlives it.
// Errors: an exception escaping a spawned task is logged with the service's name.
#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include "kio/core/cancel.hpp"
#include "kio/core/task.hpp"
#include "kio/di/detail/node.hpp"
#include "kio/di/detail/partition_fwd.hpp"
#include "kio/di/detail/scope.hpp"
#include "kio/di/events.hpp"
#include "kio/di/service_id.hpp"

namespace kio::di {

namespace detail {
struct ContextAccess;
}

class Context {
 public:
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  /// Runs `task` on this core as part of the service; see above.
  template <class T>
  void spawn(Task<T> task) {
    scope_.spawn(std::move(task));
  }
  /// Cancelled when the service stops.
  CancelToken token() noexcept { return scope_.token(); }
  /// Tasks spawned and not finished.
  std::size_t tasks() const noexcept { return scope_.running(); }

  /// Calls fn for every event E dispatched on this core until the service stops.
  template <class E, class F>
  void subscribe(F fn) {
    subs_.push_back(events().template subscribe<E>(std::move(fn)));
  }
  /// Publishes on this core's channel, with this service as the origin.
  template <class E>
  void publish(E ev) {
    events().publish(std::move(ev), node_->def->index);
  }
  EventChannel& events() const noexcept { return detail::events_of(part_); }

  ServiceId id() const noexcept { return ServiceId{node_->def->index}; }
  std::string_view name() const noexcept { return node_->def->name(); }
  unsigned core() const noexcept { return node_->core; }
  const Properties& properties() const noexcept { return node_->def->properties(); }
  Registry& registry() const noexcept { return detail::registry_of(part_); }

 private:
  friend struct detail::ContextAccess;
  Context(detail::Node* n, detail::Partition* p)
      : node_(n), part_(p), scope_(detail::shutdown_token_of(p), n->def) {}
  ~Context() = default;

  detail::Node* node_;
  detail::Partition* part_;
  detail::TaskScope scope_;
  std::vector<Subscription> subs_;
};

/// Who a per-requester instance is for (a factory parameter `const Requester&`).
class Requester {
 public:
  std::string_view name() const noexcept { return n_->def->name(); }
  ServiceId id() const noexcept { return ServiceId{n_->def->index}; }
  unsigned core() const noexcept { return n_->core; }
  const Properties& properties() const noexcept { return n_->def->properties(); }

 private:
  friend struct detail::ContextAccess;
  explicit Requester(const detail::Node* n) noexcept : n_(n) {}
  const detail::Node* n_;
};

namespace detail {
/// The registry's access to Context internals.
struct ContextAccess {
  static void make(void* where, Node* n, Partition* p) { ::new (where) Context(n, p); }
  static void drop(void* where) noexcept { static_cast<Context*>(where)->~Context(); }
  static Context& get(void* where) noexcept { return *static_cast<Context*>(where); }
  static void unsubscribe_all(Context& c) noexcept { c.subs_.clear(); }
  static void cancel(Context& c) noexcept { c.scope_.cancel(); }
  static TaskScope& scope(Context& c) noexcept { return c.scope_; }
  static Requester requester(const Node* n) noexcept { return Requester(n); }
};
}  // namespace detail

}  // namespace kio::di
