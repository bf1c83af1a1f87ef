// Plan — the home core's view of what is registered: the provider and consumer indexes and the
// graph checks. Only the home core (the one that called Registry::start) touches it.
//
// Design note
// -----------
// * Providers are indexed by interface (TypeKey), with a sub-index per qualifier; consumers
//   (slots) by interface too, so a provider added at run time finds the slots it can serve
//   without looking at other services.
// * The strict check (start) resolves every slot once into a Resolution (flat arrays: CSR) and
//   reports every problem: missing, ambiguous, cross-core Ref/Opt, placement, and each cycle
//   through ordering slots, found by one iterative depth-first search over the resolved edges.
//   Cost O(services + edges) (plus the candidates of ambiguous slots).
// * The lenient check (add after start) resolves the new service's slots and the slots of
//   existing consumers it can serve; a missing provider is not an error then (the instance
//   waits), but a cycle or a cross-core Ref still is.
// * Removal is lazy: a removed registration stays in the index lists (its ServiceDef lives as
//   long as the registry, with `removed` set; readers skip it) until a list is more than half
//   removed entries, when it is compacted in one pass. So removing k of n providers or consumers
//   of one interface costs O(k) amortised, not O(k n), and registration order is kept.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "kio/di/detail/node.hpp"
#include "kio/di/errors.hpp"

namespace kio::di::detail {

/// Slot -> provider registrations, for the services being instantiated.
struct Resolution {
  static constexpr std::uint32_t none = ~std::uint32_t{0};
  std::vector<std::uint32_t> off;  // per service: n_slots + 1 offsets into `providers`
  std::vector<ServiceDef*> providers;
  std::vector<std::uint32_t> dense;  // service index -> first offset (start(): every service)
  std::unordered_map<std::uint32_t, std::uint32_t> sparse;  // the same for add() after start

  std::uint32_t first(const ServiceDef& d) const {
    if (d.index < dense.size()) return dense[d.index];
    auto it = sparse.find(d.index);
    return it == sparse.end() ? none : it->second;
  }
  std::span<ServiceDef* const> of(const ServiceDef& d, unsigned slot) const {
    const std::uint32_t f = first(d);
    if (f == none) return {};
    const std::uint32_t b = off[f + slot], e = off[f + slot + 1];
    return {providers.data() + b, providers.data() + e};
  }
  bool has(const ServiceDef& d) const { return first(d) != none; }
};

/// An existing consumer slot a newly added provider can serve.
struct ConsumerSlot {
  ServiceDef* consumer;
  std::uint8_t slot;
};

/// Text for a slot: "Ref<IStore>", "All<IPlugin, 1>", "Ref<IStore, named<\"db\">>".
std::string slot_text(const SlotSpec& s);
/// Whether slot `k` of `d` orders the start of `d` (everything but optional dynamic slots).
bool is_hard(const ServiceDef& d, unsigned k) noexcept;

class Plan {
 public:
  void add(ServiceDef* d);
  void remove(ServiceDef* d);

  /// Strict check of every registered service; fills `out`. Empty result: all good.
  std::vector<Problem> check_all(std::span<ServiceDef* const> defs, unsigned cores,
                                 Resolution& out) const;
  /// Lenient check of `d` (already add()ed); fills `out` for d (and the per-requester providers
  /// its instances will create) and `consumers` with the existing slots d can serve.
  std::vector<Problem> check_new(ServiceDef* d, unsigned cores, Resolution& out,
                                 std::vector<ConsumerSlot>& consumers) const;

  /// Providers a slot may bind, primary ones first, then in registration order.
  void candidates(const ServiceDef& consumer, const SlotSpec& s, std::vector<ServiceDef*>& out,
                  std::size_t* rejected = nullptr) const;

 private:
  /// Registrations in order, removed ones included until the list is compacted.
  struct DefList {
    std::vector<ServiceDef*> defs;
    std::size_t dead = 0;  // entries removed since the last compaction
    /// `d` (in the list) is being removed; compacts once more than half the list is removed.
    void drop(const ServiceDef* d);
  };
  struct Providers {
    DefList all;
    std::vector<std::pair<std::string, DefList>> by_qualifier;
  };
  const std::vector<ServiceDef*>* lookup(TypeKey t, std::string_view q) const;
  void resolve_slot(const ServiceDef& d, unsigned k, unsigned cores, bool strict,
                    std::vector<ServiceDef*>& chosen, std::vector<Problem>* problems) const;
  void find_cycles(std::span<ServiceDef* const> defs, const Resolution& r,
                   std::vector<Problem>& problems) const;
  bool reaches(const ServiceDef* from, const ServiceDef* target, std::vector<std::string>& path,
               unsigned cores) const;

  std::unordered_map<TypeKey, Providers> providers_;
  std::unordered_map<TypeKey, DefList> consumers_;  // services with a slot of T
};

}  // namespace kio::di::detail
