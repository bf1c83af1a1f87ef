// kio::di::ServiceId — names one registration in a Registry (all its instances, on every core).
//
//   kio::di::ServiceId config = reg.add<Config>(kio::di::on_core(0), [] { return Config{}; });
//   co_await reg.stop(config);
//
// A plain value: copy it anywhere, compare it, use it on any core. Ids are never reused within a
// Registry, so an id of a removed service stays invalid (requests for it do nothing).
#pragma once

#include <cstdint>

namespace kio::di {

struct ServiceId {
  static constexpr std::uint32_t invalid = ~std::uint32_t{0};
  /// Position in registration order (0 for the first add()).
  std::uint32_t index = invalid;

  constexpr bool valid() const noexcept { return index != invalid; }
  friend constexpr bool operator==(ServiceId, ServiceId) = default;
};

}  // namespace kio::di
