// kio::di::Placement, Sharing, Policy — where a service's instances live, who shares them, and
// what happens to a running dependent when a provider comes or goes.
//
//   reg.add<Counter>(kio::di::every_core, [] { return Counter{}; });   // one instance per core
//   reg.add<Config>(kio::di::on_core(0), [] { return Config{}; });     // one instance, on core 0
//   reg.add<Logger, ILogger>(kio::di::every_core, make_logger,
//                            {.sharing = kio::di::Sharing::per_requester});  // one per dependent
//
// every_core: instance i is built, started, stopped and destroyed on core i; its dependents on
//   core i bind instance i (core-local wiring, like kio::Sharded).
// on_core(c): one instance on core c. Dependents on other cores reach it through Remote<T>.
// Sharing::per_requester: every dependent gets its own instance, built on the dependent's core
//   (Ichor's logger factory); the factory may take `const Requester&` to see who asked.
//   per_requester services are placed every_core.
// Policy::restart (default): a provider a running dependent holds going away stops the
//   dependent first; it restarts once a provider is back. A new provider for an Opt/All slot
//   restarts it too, so it binds the newcomer.
// Policy::dynamic: slots whose Impl has `bound(X)` and `unbound(X)` for the slot's handle type
//   X (Ref<T,Q>, Opt<T,Q>, Remote<T,Q>; Remote<T,Q> for the elements of All/PerCore) are rebound
//   in place instead: unbound(old) before the old provider stops, bound(new) when one becomes
//   active. A required slot left without any provider still stops the dependent. Slots without
//   both hooks follow the restart policy.
// Threading: plain values.
#pragma once

#include <cstdint>
#include <string>

namespace kio::di {

class Placement {
 public:
  /// True for every_core.
  constexpr bool every_core() const noexcept { return core_ == every; }
  /// The core of an on_core placement (meaningless for every_core).
  constexpr unsigned core() const noexcept { return core_; }
  /// Whether an instance of this placement lives on `c`.
  constexpr bool includes(unsigned c) const noexcept { return core_ == every || core_ == c; }
  friend constexpr bool operator==(Placement, Placement) = default;

  /// "every core" or "core 3".
  std::string to_string() const {
    return every_core() ? std::string("every core") : "core " + std::to_string(core_);
  }

 private:
  static constexpr unsigned every = ~0u;
  constexpr explicit Placement(unsigned c) noexcept : core_(c) {}
  friend constexpr Placement on_core(unsigned c) noexcept;
  friend struct EveryCoreTag;
  unsigned core_;
};

/// One instance on core `c`.
constexpr Placement on_core(unsigned c) noexcept {
  return Placement(c);
}

struct EveryCoreTag {
  static constexpr Placement make() noexcept { return Placement(Placement::every); }
};
/// One instance per core.
inline constexpr Placement every_core = EveryCoreTag::make();

/// For requests that address one service's instances: all of them (Registry::stop(id)).
inline constexpr unsigned all_cores = ~0u;

enum class Sharing : std::uint8_t { shared, per_requester };
enum class Policy : std::uint8_t { restart, dynamic };

}  // namespace kio::di
