// IdleTrimHook — memory a layer above core caches per thread and gives back when its core idles.
//
// A worker that has run nothing for `RuntimeOptions::idle_trim` releases its frame pool's free
// slabs, then calls every hook registered on its thread, then trims the C heap (executor.cpp). A
// cache that keeps objects for reuse at its peak size (kio::http's per-request states) registers
// a hook and frees what it holds when called.
// Threading: the list is per thread; register, unregister and run on the owning thread.
// Lifetime: the hook (usually a member of the thread-local cache) must stay registered no longer
// than it lives: unregister it in the cache's destructor.
#pragma once

#include <cstddef>

namespace kio::detail {

struct IdleTrimHook {
  /// Frees what can go; returns the bytes released (for the log line).
  std::size_t (*release)(void* ctx) noexcept = nullptr;
  void* ctx = nullptr;
  IdleTrimHook* prev = nullptr;
  IdleTrimHook* next = nullptr;
};

inline constinit thread_local IdleTrimHook* tls_idle_trim_hooks = nullptr;

inline void add_idle_trim_hook(IdleTrimHook& h) noexcept {
  h.prev = nullptr;
  h.next = tls_idle_trim_hooks;
  if (h.next) h.next->prev = &h;
  tls_idle_trim_hooks = &h;
}

inline void remove_idle_trim_hook(IdleTrimHook& h) noexcept {
  if (h.prev)
    h.prev->next = h.next;
  else if (tls_idle_trim_hooks == &h)
    tls_idle_trim_hooks = h.next;
  if (h.next) h.next->prev = h.prev;
  h.prev = h.next = nullptr;
}

/// Runs every hook of the calling thread; returns the bytes they released.
inline std::size_t run_idle_trim_hooks() noexcept {
  std::size_t n = 0;
  for (IdleTrimHook* h = tls_idle_trim_hooks; h; h = h->next)
    n += h->release(h->ctx);
  return n;
}

}  // namespace kio::detail
