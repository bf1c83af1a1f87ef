// The registry's graph: registrations (ServiceDef), instances (Node), dependency edges (Edge)
// and the per-slot candidate lists (Slot).
//
// Design note
// -----------
// * A ServiceDef is one add(): its meta (static per type), optional extras (name, qualifier,
//   properties, filters; allocated only when given) and the factory object, in one allocation.
//   Written on the home core before it is published; read-only for every core afterwards.
// * A Node is one instance on one core, owned by that core's Partition: only that core reads or
//   writes it. Its slots, Context storage and (for factories returning Impl by value) the Impl
//   itself follow it in the same allocation, which is reused across restarts, so a transition
//   allocates nothing. A *mirror* node stands on a dependent's core for a provider that lives on
//   another core; the provider's core keeps it informed with messages (partition.hpp), so every
//   edge joins two nodes of the same core and all dependency bookkeeping is core-local.
// * An Edge says "slot s of `dep` may bind `prov`". It is linked into the slot's candidate list
//   (primary providers first) and into the provider's list of dependents. `seen` is the
//   provider class the slot's counters include, so every update is a difference: O(1) per edge.
// * Classes are what dependents need to know of a provider: active (bindable), pending (will
//   start: waiting for providers that are coming, or starting), broken (failed, or blocked by a
//   failure) and off (stopped, stopping, removed, or waiting for something that is not coming).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kio/di/detail/meta.hpp"
#include "kio/di/filter.hpp"
#include "kio/di/placement.hpp"
#include "kio/di/properties.hpp"
#include "kio/di/state.hpp"

namespace kio::di::detail {

enum class Want : std::uint8_t { up, down, gone };
enum class Class : std::uint8_t { pending, active, broken, off };
enum class SlotStatus : std::uint8_t { satisfied, pending, broken, off };

/// What a registration has beyond the defaults; lives in the registry's arena, with the name's
/// and qualifier's characters and the filters (only what was given costs memory).
struct DefExtras {
  Properties properties;
  std::string_view name;
  std::string_view qualifier;
  Filter* filters = nullptr;
  std::uint32_t n_filters = 0;
  ~DefExtras() {
    for (std::uint32_t i = 0; i < n_filters; ++i)
      filters[i].~Filter();
  }
};

struct ServiceDef {
  const ServiceMeta* meta;
  DefExtras* extras = nullptr;
  std::uint32_t index = 0;
  Placement where = every_core;
  Sharing sharing = Sharing::shared;
  Policy policy = Policy::restart;
  bool primary = false;
  std::atomic<bool> removed{false};  // set on the home core; read by Registry::get on any core

  std::string_view name() const noexcept {
    return extras && !extras->name.empty() ? std::string_view(extras->name)
                                           : std::string_view(meta->impl_name());
  }
  std::string_view qualifier() const noexcept {
    return extras ? std::string_view(extras->qualifier) : std::string_view();
  }
  const Properties& properties() const noexcept;
  std::span<const Filter> filters() const noexcept {
    return extras ? std::span<const Filter>(extras->filters, extras->n_filters)
                  : std::span<const Filter>();
  }
  void* factory() noexcept { return reinterpret_cast<char*>(this) + meta->factory_offset; }
  /// Index of `type` among the published interfaces, or -1.
  int iface_index(TypeKey type) const noexcept {
    for (unsigned i = 0; i < meta->n_ifaces; ++i)
      if (meta->ifaces[i].type == type) return static_cast<int>(i);
    return -1;
  }
  /// "Name (every core)" / "Name (core 0)".
  std::string label() const { return std::string(name()) + " (" + where.to_string() + ")"; }
};

struct Node;

struct Edge {
  Node* dep = nullptr;
  Node* prov = nullptr;
  Edge* prev = nullptr;  // in prov->dependents
  Edge* next = nullptr;
  Edge* next_cand = nullptr;  // in dep's slot
  std::uint8_t slot = 0;
  std::uint8_t iface = 0;  // which of prov's interfaces (cast)
  Class seen = Class::pending;
  bool bound = false;      // dep holds prov (counted in prov->holders)
  bool order = false;      // counted in dep->order: an Opt/All candidate that is pending
  bool in_slot = false;    // this is the slot's inline edge
  std::uint16_t core = 0;  // the provider instance's core (PerCore indexing)
};

struct Slot {
  Edge first{};          // storage for the first candidate (in use when first.prov != nullptr)
  Edge* head = nullptr;  // candidates, primary first, then in registration order
  std::uint16_t n = 0, active = 0, pending = 0, broken = 0;
  std::uint16_t need = 0;  // active candidates the slot needs (0: optional)
  SlotStatus status = SlotStatus::satisfied;
  SlotKind kind = SlotKind::ref;
  bool soft = false;   // optional + dynamic hooks: binds when it can, never orders the start
  bool hooks = false;  // dynamic policy and the Impl has bound()/unbound() for this slot
};

struct MirrorLink {
  Node* mirror;  // lives on `core`; only touched there
  std::uint16_t core;
  bool leased;  // told "active" and not yet released
};

struct NodeExtras {
  std::string error;                // why it failed
  std::vector<MirrorLink> mirrors;  // provider side: mirrors on other cores
};

namespace node_flag {
inline constexpr std::uint16_t queued = 1;      // in the partition's work queue
inline constexpr std::uint16_t initial = 2;     // has not settled since it was created
inline constexpr std::uint16_t restart = 4;     // stop and start again (a bound provider left,
                                                // or a new one should be bound)
inline constexpr std::uint16_t rescan = 8;      // dynamic: bind active candidates after start
inline constexpr std::uint16_t cancelled = 16;  // the running transition's token was cancelled
inline constexpr std::uint16_t mirror = 32;     // a MirrorNode
inline constexpr std::uint16_t dedicated = 64;  // a per-requester instance (aux = requester)
inline constexpr std::uint16_t built = 128;     // obj is constructed
inline constexpr std::uint16_t context = 256;   // the Context is constructed
inline constexpr std::uint16_t busy = 512;      // a runner (async hook) is in flight
}  // namespace node_flag

struct Node {
  ServiceDef* def = nullptr;
  void* obj = nullptr;
  Edge* dependents = nullptr;
  Node* aux = nullptr;  // dedicated: the requester
  NodeExtras* extras = nullptr;
  std::uint32_t index = 0;    // in the partition's node table
  std::uint32_t gen = 0;      // incarnation (changes on every start)
  std::uint32_t holders = 0;  // bound dependents + mirror leases + Remote calls in flight
  std::uint32_t order = 0;    // Opt/All candidates still pending
  float start_seconds = 0;    // how long the last factory + start() took
  std::uint8_t unmet_pending = 0, unmet_broken = 0, unmet_off = 0;  // required slots by status
  State state = State::waiting;
  Want want = Want::up;
  Class cls = Class::pending;
  std::uint8_t nslots = 0;
  std::uint16_t flags = 0;
  std::uint16_t core = 0;
  std::uint32_t pos = 0;  // dedicated: where the partition lists it among its service's instances

  bool has(std::uint16_t f) const noexcept { return (flags & f) != 0; }
  void set(std::uint16_t f) noexcept { flags = static_cast<std::uint16_t>(flags | f); }
  void clear(std::uint16_t f) noexcept { flags = static_cast<std::uint16_t>(flags & ~f); }
  unsigned unmet() const noexcept { return unmet_pending + unmet_broken + unmet_off; }
  bool running() const noexcept {
    return state == State::starting || state == State::active || state == State::stopping;
  }
  Slot* slots() noexcept { return reinterpret_cast<Slot*>(this + 1); }
  const Slot* slots() const noexcept { return reinterpret_cast<const Slot*>(this + 1); }
  void* ctx_storage() noexcept { return reinterpret_cast<char*>(this) + def->meta->ctx_offset; }
  void* obj_storage() noexcept { return reinterpret_cast<char*>(this) + def->meta->obj_offset; }
};

/// A stand-in on a dependent's core for a provider instance on another core.
struct MirrorNode : Node {
  Partition* prov_part = nullptr;
  Node* prov_node = nullptr;  // dereferenced on the provider's core only
  std::uint32_t prov_index = 0;
  std::uint32_t prov_gen = 0;
  std::uint16_t prov_core = 0;
  bool leased = false;      // the provider counts a lease on us
  bool lease_owed = false;  // it left active: release once no dependent holds us
  bool update = false;      // a class update arrived and is not applied yet
  Class next_cls = Class::pending;
  State next_state = State::waiting;
};

inline MirrorNode& as_mirror(Node& n) noexcept {
  return static_cast<MirrorNode&>(n);
}
inline const MirrorNode& as_mirror(const Node& n) noexcept {
  return static_cast<const MirrorNode&>(n);
}

}  // namespace kio::di::detail
