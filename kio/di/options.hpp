// kio::di::Options / RegistryOptions — how one service is registered, and registry-wide knobs.
//
//   reg.add<PgStore, IStore>(kio::di::on_core(0), make_pg,
//       {.name = "pg", .qualifier = "primary", .primary = true});
//
// Threading: plain values, copied into the registry.
#pragma once

#include <string>
#include <vector>

#include "kio/di/filter.hpp"
#include "kio/di/placement.hpp"
#include "kio/di/properties.hpp"

namespace kio::di {

struct Options {
  /// Shown in errors, snapshots and dumps (default: the implementation's type name).
  std::string name{};
  /// Published under this qualifier: slots with named<"..."> of the same text bind it.
  std::string qualifier{};
  /// Read by consumers' filters, by the service's own factory and by per-requester factories.
  Properties properties{};
  /// Wins a tie when several providers match a single slot (Ref/Opt/Remote).
  bool primary = false;
  Sharing sharing = Sharing::shared;
  Policy policy = Policy::restart;
  /// Narrow the candidates of this service's own slots (filter.hpp).
  std::vector<Filter> filters{};
};

struct RegistryOptions {
  /// Record how long factory + start() took when either suspended (snapshot(): last_start).
  bool time_starts = true;
  /// Time synchronous starts too. They take nanoseconds; two timestamp reads cost about as much
  /// as the start itself, so this is off by default (their last_start reads 0).
  bool time_sync_starts = false;
};

}  // namespace kio::di
