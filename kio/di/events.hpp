// kio::di::EventChannel — a typed event queue per core: publish an event, handlers subscribed on
// that core run later, in publication order, from the channel's dispatcher.
//
//   struct Tick { std::uint64_t n; };
//   kio::di::Subscription s = ch.subscribe<Tick>([](const Tick& t) { ... });
//   ch.publish(Tick{42});                         // queued; dispatched after the caller suspends
//   ctx.subscribe<Tick>(handler);                  // in a service: removed when it stops
//   ctx.publish(Tick{1});                          // origin = the publishing service
//
// Each Registry owns one channel per core (Registry::events() on a worker, Context::publish /
// subscribe in a service); a channel also works on its own.
// Runs on: publish, subscribe and every handler run on the channel's core. publish() never calls
//   a handler inline: the first event queued into an idle channel spawns its dispatcher (a task
//   on that core), which runs batches of 1024 events and yields between batches, until the queue
//   is empty.
// Dispatch: events in publication order; for each, the handlers of its type in subscription
//   order: one lookup in a table indexed by the type's id, no allocation. A handler is
//   `void(const E&)` or `void(const E&, const EventHeader&)`; the header says which service
//   published it. An exception from a handler is logged and the next handler runs.
// Cost: a queued event is an 8-byte header plus its payload rounded up to 8 bytes (empty event
//   types: 8 bytes in all), in 64 KiB blocks. Payload types must be movable, 8-byte aligned at
//   most and at most 4 KiB (publish a handle for bigger data).
// Lifetime: a Subscription unsubscribes when destroyed (or reset()); a handler removed before
//   an event is dispatched does not see it, also when removed by an earlier handler of the same
//   event. The channel must outlive its subscriptions; destroying it destroys undelivered events
//   (their handlers would be gone anyway) and ends a pending dispatcher.
// Threading: one core; not thread-safe (publish to another core's channel through submit_to).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "kio/core/task.hpp"
#include "kio/di/detail/event_queue.hpp"
#include "kio/di/service_id.hpp"

namespace kio::di {

struct EventHeader {
  std::uint32_t type;    // the event type's process-wide id
  std::uint32_t origin;  // ServiceId::index of the publishing service, or ServiceId::invalid
};

class EventChannel;

namespace detail {

inline std::atomic<std::uint32_t> next_event_type{1};  // 0 marks block ends in the queue

template <class E>
std::uint32_t event_type_id() noexcept {
  static const std::uint32_t id = next_event_type.fetch_add(1, std::memory_order_relaxed);
  return id;
}

/// Empty, trivial event types take no payload bytes (a fresh E{} is handed to handlers).
template <class E>
inline constexpr bool stateless_event =
    std::is_empty_v<E> && std::is_trivially_default_constructible_v<E> &&
    std::is_trivially_destructible_v<E>;
template <class E>
inline constexpr std::size_t payload_size = stateless_event<E> ? 0 : (sizeof(E) + 7) / 8 * 8;

struct HandlerBase {
  HandlerBase* prev = nullptr;
  HandlerBase* next = nullptr;
  std::uint32_t type = 0;
  bool doomed = false;  // unsubscribed while it runs: freed when it returns
  void (*call)(HandlerBase*, const void* payload, const EventHeader&) = nullptr;
  void (*destroy)(HandlerBase*) noexcept = nullptr;
};

template <class E, class F>
struct Handler final : HandlerBase {
  explicit Handler(F f) : fn(std::move(f)) {
    call = [](HandlerBase* h, const void* p, const EventHeader& hd) {
      auto& self = *static_cast<Handler*>(h);
      if constexpr (stateless_event<E>) {
        (void)p;
        const E ev{};
        invoke(self.fn, ev, hd);
      } else {
        invoke(self.fn, *static_cast<const E*>(p), hd);
      }
    };
    destroy = [](HandlerBase* h) noexcept { delete static_cast<Handler*>(h); };
  }
  static void invoke(F& fn, const E& ev, const EventHeader& hd) {
    if constexpr (std::is_invocable_v<F&, const E&, const EventHeader&>)
      fn(ev, hd);
    else
      fn(ev);
  }
  F fn;
};

}  // namespace detail

class Subscription {
 public:
  Subscription() = default;
  Subscription(Subscription&& o) noexcept
      : ch_(std::exchange(o.ch_, nullptr)), h_(std::exchange(o.h_, nullptr)) {}
  Subscription& operator=(Subscription&& o) noexcept {
    if (this != &o) {
      reset();
      ch_ = std::exchange(o.ch_, nullptr);
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  ~Subscription() { reset(); }
  /// Unsubscribes now.
  void reset() noexcept;
  explicit operator bool() const noexcept { return h_ != nullptr; }

 private:
  friend class EventChannel;
  Subscription(EventChannel* ch, detail::HandlerBase* h) noexcept : ch_(ch), h_(h) {}
  EventChannel* ch_ = nullptr;
  detail::HandlerBase* h_ = nullptr;
};

class EventChannel {
 public:
  static constexpr std::size_t dispatch_batch = 1024;

  EventChannel() = default;
  EventChannel(const EventChannel&) = delete;
  EventChannel& operator=(const EventChannel&) = delete;
  ~EventChannel();

  /// Queues `ev` for the handlers of E on this channel's core; see above.
  template <class E>
  void publish(E ev, std::uint32_t origin = ServiceId::invalid) {
    using D = std::remove_cvref_t<E>;
    static_assert(alignof(D) <= 8, "kio::di::EventChannel: event types are at most 8-aligned");
    static_assert(sizeof(D) <= detail::EventQueue::max_payload,
                  "kio::di::EventChannel: events are at most 4 KiB; publish a handle instead");
    static_assert(std::is_move_constructible_v<D>, "kio::di::EventChannel: events are movable");
    const std::uint32_t id = detail::event_type_id<D>();
    if (id >= types_.size() || !types_[id].known) [[unlikely]]
      learn<D>(id);
    constexpr std::size_t size = detail::payload_size<D>;
    std::byte* p = queue_.push(id, origin, size);
    if constexpr (size != 0) ::new (static_cast<void*>(p)) D(std::move(ev));
    if (!scheduled_) schedule();
  }

  /// Calls fn for every later event of type E on this channel.
  template <class E, class F>
    requires(std::is_invocable_v<F&, const E&> ||
             std::is_invocable_v<F&, const E&, const EventHeader&>)
  [[nodiscard]] Subscription subscribe(F fn) {
    const std::uint32_t id = detail::event_type_id<E>();
    if (id >= types_.size() || !types_[id].known) learn<E>(id);
    auto* h = new detail::Handler<E, F>(std::move(fn));
    h->type = id;
    link(h);
    return Subscription(this, h);
  }

  /// Events queued and not dispatched yet.
  std::size_t pending() const noexcept { return queue_.size(); }
  /// Handlers subscribed to E.
  template <class E>
  std::size_t handlers() const noexcept {
    const std::uint32_t id = detail::event_type_id<E>();
    std::size_t n = 0;
    if (id < types_.size())
      for (const detail::HandlerBase* h = types_[id].head; h; h = h->next)
        ++n;
    return n;
  }

  /// Dispatches up to `max` queued events now (the dispatcher does this); returns how many.
  std::size_t dispatch(std::size_t max);
  /// True while a dispatcher task is queued or running.
  bool dispatching() const noexcept { return scheduled_; }

 private:
  friend class Subscription;
  struct TypeEntry {
    detail::HandlerBase* head = nullptr;
    detail::HandlerBase* tail = nullptr;
    void (*destroy)(void*) noexcept = nullptr;  // payload destructor (nullptr: trivial)
    std::uint32_t payload = 0;
    bool known = false;
  };
  template <class E>
  void learn(std::uint32_t id) {
    if (id >= types_.size()) types_.resize(id + 1);
    TypeEntry& t = types_[id];
    t.known = true;
    t.payload = static_cast<std::uint32_t>(detail::payload_size<E>);
    if constexpr (!std::is_trivially_destructible_v<E>)
      t.destroy = [](void* p) noexcept { static_cast<E*>(p)->~E(); };
  }
  void link(detail::HandlerBase* h);
  void unlink(detail::HandlerBase* h) noexcept;
  void schedule();
  /// The dispatcher's pointer to its channel, the dispatcher's parameter: the channel knows where
  /// it is from the moment the dispatcher's frame exists (the parameter is moved into the frame
  /// before the task runs), so a channel destroyed while its dispatcher is still queued clears
  /// it, and the dispatcher then ends without touching the channel.
  struct DispatcherSlot {
    EventChannel* ch;
    explicit DispatcherSlot(EventChannel* c) noexcept : ch(c) { ch->task_slot_ = &ch; }
    DispatcherSlot(DispatcherSlot&& o) noexcept : ch(std::exchange(o.ch, nullptr)) {
      if (ch) ch->task_slot_ = &ch;
    }
    DispatcherSlot& operator=(DispatcherSlot&&) = delete;
    ~DispatcherSlot() {
      if (ch) {
        ch->task_slot_ = nullptr;
        ch->scheduled_ = false;
      }
    }
  };
  static Task<void> dispatcher(DispatcherSlot slot);

  detail::EventQueue queue_;
  std::vector<TypeEntry> types_;
  detail::HandlerBase* cursor_ = nullptr;   // the next handler of the event being dispatched
  detail::HandlerBase* running_ = nullptr;  // the handler being called
  EventChannel** task_slot_ = nullptr;      // the dispatcher's pointer to us (DispatcherSlot)
  bool scheduled_ = false;
};

}  // namespace kio::di
