// RemoteTarget — what a Remote<T> handle points at: a provider instance on some core, checked
// on that core at every call (so a stale handle fails softly instead of dangling).
#pragma once

#include <cstdint>

namespace kio::di::detail {

class Partition;
struct Node;

struct RemoteTarget {
  Partition* part = nullptr;                // the provider core's partition
  void* (*cast)(void*) noexcept = nullptr;  // Impl* -> T*, applied on the provider's core
  std::uint32_t index = 0;                  // node table index; service index when by_service
  std::uint32_t gen = 0;  // the incarnation it was bound to (ignored when by_service)
  std::uint16_t core = 0;
  bool by_service = false;  // follows the service's current instance (Registry::get)
};

/// On the provider's core: the instance if it is still the same incarnation and active, with one
/// call counted in flight (its stop waits for it); nullptr otherwise.
Node* acquire_call(const RemoteTarget& t) noexcept;
/// Ends a call started by acquire_call.
void release_call(const RemoteTarget& t, Node* n) noexcept;
void* object_of(const Node* n) noexcept;

}  // namespace kio::di::detail
