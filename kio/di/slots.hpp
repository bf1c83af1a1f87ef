// kio::di dependency slots — the parameter types of a factory that say what it needs.
//
//   reg.add<Routes>(kio::di::every_core,
//       [](kio::di::Ref<Counter> here,                 // exactly one, same core: a reference
//          kio::di::Remote<Config> cfg,                // exactly one, any core: submit_to calls
//          kio::di::Opt<ICache> cache,                 // zero or one, same core
//          kio::di::All<IPlugin> plugins,              // every provider (All<IPlugin, Q, 1>: 1..n)
//          kio::di::PerCore<Counter> counters) {       // an every_core provider, on every core
//        return Routes(here, cfg, cache, plugins, counters); });
//
// Choosing a slot
// ---------------
// * Ref<T, Q>     required, one provider on the same core (an every_core provider, or an on_core
//                 one on the dependent's core). T& with no indirection. Wiring it to a provider
//                 that lives on another core is a GraphError naming both services.
// * Opt<T, Q>     like Ref, but the service also starts without one (then it is empty). With
//                 Policy::restart a provider appearing later restarts the service to bind it.
// * Remote<T, Q>  required, one provider on any core (remote.hpp).
// * All<T, Q, N>  every provider of T (0..n; N = 1: 1..n), each as a Remote<T, Q> (every_core
//                 providers: the instance on the dependent's core). Iterate it.
// * PerCore<T, Q> the single every_core provider of T, one Remote<T, Q> per core, indexed by
//                 core (to sum per-core counters, say). Needs all of them active.
// Q is a qualifier (named<"x">, qualifier.hpp). Besides slots a factory may take `Context&`,
// `const Requester&` (per-requester services) and `const Properties&` (its own properties).
//
// Lifetime: a dependent is always stopped (or, with Policy::dynamic, told unbound()) before any
// provider it holds goes away, so Ref/Opt references never dangle while the dependent is
// running. All/PerCore are views owned by the dependent's instance: keep them in the instance,
// use them on its core. Threading: slot objects are used on the dependent's core (Remote handles
// may be copied anywhere).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>

#include "kio/di/detail/node.hpp"
#include "kio/di/qualifier.hpp"
#include "kio/di/remote.hpp"

namespace kio::di {

namespace detail {
/// The RemoteTarget of an edge's provider (a local instance of partition `here`, or a mirror).
RemoteTarget target_of(const Edge& e, Partition* here) noexcept;
inline void* ref_of(const Edge& e) noexcept {
  return e.prov->def->meta->ifaces[e.iface].cast(e.prov->obj);
}
}  // namespace detail

template <class T, Qualifier Q = unnamed>
class Ref {
 public:
  using type = T;
  using qualifier = Q;
  T& operator*() const noexcept { return *p_; }
  T* operator->() const noexcept { return p_; }
  T* get() const noexcept { return p_; }

 private:
  friend struct detail::SlotAccess;
  explicit Ref(T* p) noexcept : p_(p) {}
  T* p_;
};

template <class T, Qualifier Q = unnamed>
class Opt {
 public:
  using type = T;
  using qualifier = Q;
  Opt() = default;
  explicit operator bool() const noexcept { return p_ != nullptr; }
  T& operator*() const noexcept { return *p_; }
  T* operator->() const noexcept { return p_; }
  T* get() const noexcept { return p_; }

 private:
  friend struct detail::SlotAccess;
  explicit Opt(T* p) noexcept : p_(p) {}
  T* p_ = nullptr;
};

namespace detail {
/// Iterates the bound candidates of one slot of a node, as Remote<T, Q>.
template <class T, class Q>
class BoundIterator {
 public:
  using value_type = Remote<T, Q>;
  using difference_type = std::ptrdiff_t;
  BoundIterator() = default;
  BoundIterator(const Edge* e, Partition* here) noexcept : e_(skip(e)), here_(here) {}
  Remote<T, Q> operator*() const noexcept;
  BoundIterator& operator++() noexcept {
    e_ = skip(e_->next_cand);
    return *this;
  }
  BoundIterator operator++(int) noexcept {
    BoundIterator o = *this;
    ++*this;
    return o;
  }
  friend bool operator==(const BoundIterator& a, const BoundIterator& b) noexcept {
    return a.e_ == b.e_;
  }

 private:
  static const Edge* skip(const Edge* e) noexcept {
    while (e && !e->bound)
      e = e->next_cand;
    return e;
  }
  const Edge* e_ = nullptr;
  Partition* here_ = nullptr;
};
}  // namespace detail

template <class T, Qualifier Q = unnamed, std::size_t Min = 0>
class All {
 public:
  using type = T;
  using qualifier = Q;
  using iterator = detail::BoundIterator<T, Q>;
  iterator begin() const noexcept { return iterator(slot_->head, here_); }
  iterator end() const noexcept { return iterator(); }
  std::size_t size() const noexcept {
    std::size_t n = 0;
    for (const detail::Edge* e = slot_->head; e; e = e->next_cand)
      n += e->bound ? 1 : 0;
    return n;
  }
  bool empty() const noexcept { return size() == 0; }

 private:
  friend struct detail::SlotAccess;
  All(const detail::Slot* s, detail::Partition* here) noexcept : slot_(s), here_(here) {}
  const detail::Slot* slot_;
  detail::Partition* here_;
};

template <class T, Qualifier Q = unnamed>
class PerCore {
 public:
  using type = T;
  using qualifier = Q;
  using iterator = detail::BoundIterator<T, Q>;
  iterator begin() const noexcept { return iterator(slot_->head, here_); }
  iterator end() const noexcept { return iterator(); }
  /// One per core of the runtime.
  std::size_t size() const noexcept { return slot_->n; }
  /// The instance on `core`.
  Remote<T, Q> operator[](unsigned core) const noexcept {
    for (const detail::Edge* e = slot_->head; e; e = e->next_cand)
      if (e->core == core && e->bound) return *iterator(e, here_);
    return Remote<T, Q>();
  }

 private:
  friend struct detail::SlotAccess;
  PerCore(const detail::Slot* s, detail::Partition* here) noexcept : slot_(s), here_(here) {}
  const detail::Slot* slot_;
  detail::Partition* here_;
};

namespace detail {

/// Builds slot objects from the graph (used by the generated factory code and hooks).
struct SlotAccess {
  template <class T, class Q>
  static Ref<T, Q> ref(const Edge& e) noexcept {
    return Ref<T, Q>(static_cast<T*>(ref_of(e)));
  }
  template <class T, class Q>
  static Opt<T, Q> opt(const Edge* e) noexcept {
    return e ? Opt<T, Q>(static_cast<T*>(ref_of(*e))) : Opt<T, Q>();
  }
  template <class T, class Q>
  static Remote<T, Q> remote(const Edge& e, Partition* here) noexcept {
    return Remote<T, Q>(target_of(e, here));
  }
  template <class T, class Q>
  static Remote<T, Q> remote(const RemoteTarget& t) noexcept {
    return Remote<T, Q>(t);
  }
  template <class S>
  static S view(const Slot& s, Partition* here) noexcept {
    return S(&s, here);
  }
};

template <class T, class Q>
Remote<T, Q> BoundIterator<T, Q>::operator*() const noexcept {
  return SlotAccess::remote<T, Q>(*e_, here_);
}

/// What kind of slot a factory parameter type is.
template <class P>
struct slot_traits {
  static constexpr bool is_slot = false;
};
template <class T, class Q>
struct slot_traits<Ref<T, Q>> {
  static constexpr bool is_slot = true;
  static constexpr SlotKind kind = SlotKind::ref;
  static constexpr std::uint16_t min = 1;
  using type = T;
  using qual = Q;
  using hook_arg = Ref<T, Q>;
};
template <class T, class Q>
struct slot_traits<Opt<T, Q>> {
  static constexpr bool is_slot = true;
  static constexpr SlotKind kind = SlotKind::opt;
  static constexpr std::uint16_t min = 0;
  using type = T;
  using qual = Q;
  using hook_arg = Opt<T, Q>;
};
template <class T, class Q>
struct slot_traits<Remote<T, Q>> {
  static constexpr bool is_slot = true;
  static constexpr SlotKind kind = SlotKind::remote;
  static constexpr std::uint16_t min = 1;
  using type = T;
  using qual = Q;
  using hook_arg = Remote<T, Q>;
};
template <class T, class Q, std::size_t Min>
struct slot_traits<All<T, Q, Min>> {
  static_assert(Min < 65535, "kio::di::All: Min is too large");
  static constexpr bool is_slot = true;
  static constexpr SlotKind kind = SlotKind::all;
  static constexpr std::uint16_t min = static_cast<std::uint16_t>(Min);
  using type = T;
  using qual = Q;
  using hook_arg = Remote<T, Q>;
};
template <class T, class Q>
struct slot_traits<PerCore<T, Q>> {
  static constexpr bool is_slot = true;
  static constexpr SlotKind kind = SlotKind::per_core;
  static constexpr std::uint16_t min = 1;  // really: every core (set per node)
  using type = T;
  using qual = Q;
  using hook_arg = Remote<T, Q>;
};

}  // namespace detail
}  // namespace kio::di
