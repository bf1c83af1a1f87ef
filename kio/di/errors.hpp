// kio::di::GraphError / Problem — what is wrong with a service graph, all problems at once.
//
//   try { co_await reg.start(); }
//   catch (const kio::di::GraphError& e) { std::fputs(e.what(), stderr); }   // one line each:
//   //   Routes (every core) parameter 2 Ref<IStore>: no provider registered
//   //   Routes (every core) parameter 2 Ref<IStore>: 2 providers (PgStore core 0, MemStore
//   //     every core); use All<>/named<>/where<>/primary
//   //   dependency cycle: Routes -[1 Ref<IAuth>]-> Auth -[0 Ref<ISessions>]-> Sessions
//   //     -[0 Remote<IRoute>]-> Routes
//   //   Routes (every core) parameter 0 Ref<Config>: Config lives on core 0 only; use
//   //     Remote<Config>
//
// Thrown by Registry::start() before any factory runs (the strict check of the whole graph), and
// by Registry::add() after start for a cycle or a cross-core Ref it would create (runtime
// additions are otherwise lenient: a missing provider means "waiting", not an error).
// Parameters are numbered from 0 in the factory's parameter list.
#pragma once

#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace kio::di {

struct Problem {
  enum class Kind {
    missing,     // a required slot has no provider (or none passes the consumer's filters)
    ambiguous,   // several providers for a single slot and no primary to settle it
    cycle,       // a cycle through required (or otherwise ordering) slots
    cross_core,  // a Ref/Opt to a provider that lives on another core only
    placement,   // a placement the runtime cannot honour (core out of range, per_requester)
  };
  Kind kind;
  /// The service the problem is reported for (the first one of a cycle).
  std::string service;
  /// Its factory parameter, or -1 (placement, cycle).
  int parameter = -1;
  /// The full line, as in what().
  std::string text;
};

class GraphError : public std::logic_error {
 public:
  explicit GraphError(std::vector<Problem> problems);
  std::span<const Problem> problems() const noexcept { return problems_; }

 private:
  std::vector<Problem> problems_;
};

}  // namespace kio::di
