// kio::di snapshot types — what Registry::snapshot(), dump() and start() report.
//
//   for (const kio::di::ServiceInfo& s : co_await reg.snapshot())
//     for (const kio::di::InstanceInfo& i : s.instances)
//       std::printf("%s core %u: %s\n", s.name.c_str(), i.core, to_string(i.state).data());
//   std::puts((co_await reg.dump()).c_str());                        // text
//   std::puts((co_await reg.dump(kio::di::DumpFormat::dot)).c_str());  // Graphviz
//
// A snapshot is a copy: each core's part is read on that core (so it is consistent per core) and
// the parts are joined on the calling core. Threading: plain values.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "kio/di/placement.hpp"
#include "kio/di/service_id.hpp"
#include "kio/di/state.hpp"

namespace kio::di {

enum class DumpFormat { text, dot };

struct SlotInfo {
  unsigned parameter = 0;  // position in the factory's parameter list
  std::string slot;        // "Ref<IStore>", "All<IPlugin, 1>", "Remote<IStore, named<\"db\">>"
  std::vector<std::string> bound;  // providers it holds: "PgStore (core 0)"
  std::string waiting_for;         // empty when nothing is missing, else what it waits for
};

struct InstanceInfo {
  unsigned core = 0;
  State state = State::waiting;
  std::string error;      // failed: the factory's or start()'s message
  std::string requester;  // per-requester instances: the dependent it was built for
  std::vector<SlotInfo> slots;
  std::chrono::nanoseconds last_start{0};  // factory + start() of the latest start
};

struct ServiceInfo {
  ServiceId id;
  std::string name;
  Placement where = every_core;
  Sharing sharing = Sharing::shared;
  Policy policy = Policy::restart;
  std::string qualifier;
  std::vector<std::string> interfaces;
  std::vector<InstanceInfo> instances;  // by core; per-requester ones by core, then requester
  std::vector<std::string> dependents;  // services with a slot that binds or may bind this one
};

/// What Registry::start() returns once every instance settled. True when all are active.
class StartReport {
 public:
  explicit operator bool() const noexcept { return lines_.empty(); }
  /// One line per instance that did not become active, e.g.
  ///   "Store (core 0) failed: start(): connection refused"
  ///   "Routes (every core) on core 1 blocked: parameter 0 Ref<IStore>: waiting for Store (core 1),
  ///   which is failed"
  const std::vector<std::string>& lines() const noexcept { return lines_; }
  std::string message() const;
  const std::vector<ServiceId>& failed() const noexcept { return failed_; }
  const std::vector<ServiceId>& blocked() const noexcept { return blocked_; }

 private:
  friend class Registry;
  std::vector<std::string> lines_;
  std::vector<ServiceId> failed_, blocked_;
};

}  // namespace kio::di
