// kio::CoreMetrics — what one core's executor counted: tasks, io_uring operations, cross-core mail.
//
//   kio::CoreMetrics here = kio::CoreMetrics::this_core();  // the calling worker's counters, now
//   auto all = co_await kio::collect_per_core(&kio::CoreMetrics::this_core);  // per_core.hpp
//   std::uint64_t ops = all.total.ops_submitted;
//
// Threading: each counter is a plain integer owned by its core's worker thread. The worker
// increments it with an ordinary add (no atomic read-modify-write, nothing allocated) and it is
// only ever read on that same thread: this_core() copies the calling worker's counters, and
// collect_per_core (per_core.hpp) reads every other core by running this_core() there through
// submit_to, whose request and reply messages carry the values across threads (the mailbox's
// release/acquire publishes them). No other thread reads an executor's counters.
// Consistency: a core's counters are copied at one instant between two of its tasks, so they
// agree with each other; see per_core.hpp for what a sum over cores means.
// Lifetime: counters start at zero when a runtime's workers start and die with its executors.
// Errors: this_core() outside a worker thread aborts with a message (like every worker-only call).
#pragma once

#include <cstdint>

namespace kio {

struct CoreMetrics {
  /// Root tasks started on this core (spawn, spawn_on, submit_to returning a Task, block_on).
  std::uint64_t tasks_spawned = 0;
  /// Coroutine resumptions run from the ready queue (the scheduler's unit of work).
  std::uint64_t tasks_run = 0;
  /// Tracked io_uring operations prepared (each owes a final completion).
  std::uint64_t ops_submitted = 0;
  /// Completion queue entries reaped (multishot CQEs and untracked ones included).
  std::uint64_t completions = 0;
  /// Times the submission queue was full and flushed to the kernel before an operation could be
  /// prepared (the operation then went in: nothing is dropped).
  std::uint64_t sq_full_flushes = 0;
  /// Reaps that found the completion queue overflowed (IORING_SQ_CQ_OVERFLOW: the kernel held
  /// completions back, to be flushed into the CQ as it empties; none are lost).
  std::uint64_t cq_overflows = 0;
  /// Cross-core messages sent from this core (submit_to/spawn_on requests, replies, wake-ups of
  /// cross-core waiters, batches of coroutine frames going back to the core that allocated them,
  /// work injected into another worker) and received by it.
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_received = 0;

  /// The calling worker's counters. Worker threads only.
  static CoreMetrics this_core();

  CoreMetrics& operator+=(const CoreMetrics& o) noexcept {
    tasks_spawned += o.tasks_spawned;
    tasks_run += o.tasks_run;
    ops_submitted += o.ops_submitted;
    completions += o.completions;
    sq_full_flushes += o.sq_full_flushes;
    cq_overflows += o.cq_overflows;
    messages_sent += o.messages_sent;
    messages_received += o.messages_received;
    return *this;
  }
};

}  // namespace kio
