// ServiceMeta — what the registry knows about one registered (Impl, interfaces, factory) type
// triple, generated once per triple at compile time (factory.hpp) and shared by every
// registration and instance of it. Nothing here is per service: a registration (ServiceDef)
// points at its meta, so slot specs, interface casts and lifecycle entry points cost no memory
// per service.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kio/core/task.hpp"
#include "kio/di/detail/type_name.hpp"

namespace kio::di::detail {

struct Node;
struct Edge;
struct ServiceDef;
class Partition;

enum class SlotKind : std::uint8_t { ref, opt, remote, all, per_core };

/// One dependency slot of a factory: a parameter of type Ref/Opt/Remote/All/PerCore.
struct SlotSpec {
  SlotKind kind;
  std::uint8_t param;  // position in the factory's parameter list
  std::uint16_t min;   // providers needed: Ref/Remote 1, Opt 0, All Min, PerCore: every core
  TypeKey type;
  std::string_view qualifier;
  const std::string& (*type_name)();
};

/// One interface a service is published as.
struct IfaceSpec {
  TypeKey type;
  const std::string& (*name)();
  void* (*cast)(void* impl) noexcept;  // Impl* -> Iface*
};

enum class HookKind : std::uint8_t { none, sync, async };

/// What a factory call needs; lives in the caller's frame for the whole (async) factory.
struct BuildCtx {
  Node* node;
  ServiceDef* def;
  Partition* part;
  void* ctx;      // the instance's Context, when the factory takes one
  void* storage;  // where an Impl returned by value is constructed
};

struct ServiceMeta {
  const std::string& (*impl_name)();
  TypeKey impl_type;
  const IfaceSpec* ifaces;
  std::uint8_t n_ifaces;
  const SlotSpec* slots;
  std::uint8_t n_slots;
  bool uses_context;
  // Layout of one instance node: [Node][Slot x n_slots][Context][Impl], see node.hpp.
  std::uint32_t ctx_offset, obj_offset, node_size, node_align;
  // Layout of one registration: [ServiceDef][factory object].
  std::uint32_t factory_offset, def_size;
  void (*destroy_factory)(void* factory) noexcept;

  bool build_is_async;
  void (*build)(BuildCtx&);            // sync factory: constructs the instance or throws
  Task<void> (*build_task)(BuildCtx);  // async factory
  HookKind start_kind, stop_kind;
  std::string (*start_sync)(void* obj);  // "" on success, else the failure
  Task<std::string> (*start_task)(void* obj);
  std::string (*stop_sync)(void* obj);
  Task<std::string> (*stop_task)(void* obj);
  void (*destroy)(void* obj, bool in_place) noexcept;
  /// Bit k set: slot k has bound()/unbound() hooks (Policy::dynamic).
  std::uint64_t hook_mask;
  void (*hook)(void* obj, unsigned slot, bool bound, const Edge& e, Partition* here);
  /// Context lifetime (constructed per incarnation in the node).
  void (*make_context)(void* where, Node* n, Partition* p);
  void (*drop_context)(void* where) noexcept;
};

}  // namespace kio::di::detail
