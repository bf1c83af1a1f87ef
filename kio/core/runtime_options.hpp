// kio::RuntimeOptions — how a Runtime lays out its workers and rings.
//
//   kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .ring_mode = kio::RingMode::sqpoll});
//
// Threading: a plain value; copied into the runtime at construction.
#pragma once

#include <chrono>
#include <optional>

#include "kio/core/log_level.hpp"

namespace kio {

enum class RingMode {
  /// IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN: completions are processed only when the worker
  /// asks for them, on its own thread. The default; needs Linux 6.1.
  defer_taskrun,
  /// IORING_SETUP_SQPOLL: a kernel thread (pinned to the worker's CPU when pinning is on) polls
  /// the submission queue, so submitting costs no syscall while it is awake.
  sqpoll,
  /// IORING_SETUP_SINGLE_ISSUER | COOP_TASKRUN: for kernels without DEFER_TASKRUN (5.19+).
  coop_taskrun,
};

struct RuntimeOptions {
  /// Worker threads; 0 means one per CPU in the process affinity mask.
  unsigned workers = 0;
  RingMode ring_mode = RingMode::defer_taskrun;
  /// Pin worker i to the i-th CPU of the process affinity mask.
  bool pin = true;
  /// Allow more workers than CPUs in the affinity mask (they then share CPUs round-robin).
  bool oversubscribe = false;
  /// Submission queue entries per ring (power of two, at most 16384: the completion queue is 4x
  /// this and the kernel allows 65536 completion entries).
  unsigned queue_depth = 1024;
  /// How long a stopping runtime lets cancelled tasks finish before destroying their frames.
  std::chrono::milliseconds shutdown_grace{2000};
  /// SQPOLL only: idle time before the kernel poller sleeps.
  unsigned sqpoll_idle_ms = 100;
  /// Ready coroutines run per loop iteration before the ring is polled again.
  unsigned ready_batch = 256;
  /// Slots in each cross-core ring (one ring per ordered pair of cores; power of two). A sender
  /// that finds it full waits (spawn_on) or queues behind it (replies); nothing is dropped.
  unsigned mailbox_capacity = 256;
  /// Before sleeping in the kernel, an idle worker polls its cross-core mail this long. 0 (the
  /// default) sleeps at once; a few tens of microseconds cut cross-core latency at the cost of
  /// CPU time while idle.
  std::chrono::microseconds idle_spin{0};
  /// Once a worker has run nothing for this long, it gives memory it no longer uses back to the
  /// system: its frame pool's slabs in which no coroutine frame is alive, then the C heap's free
  /// pages (glibc's malloc_trim). Once per idle period (the core has to run something before it
  /// trims again), so a busy core never pays for it. 0 keeps everything cached.
  std::chrono::milliseconds idle_trim{1000};
  /// SIGINT and SIGTERM stop the runtime gracefully (a handler installed for the runtime's
  /// lifetime; signal masks are left alone, so threads and child processes are unaffected). A
  /// signal that arrives while the runtime is already stopping exits the process at once with
  /// status 128 + signal. A task awaiting kio::signal/kio::ctrl_c takes the signal instead.
  bool stop_on_signals = false;
  /// The logger's level (kio/core/log.hpp), applied when the Runtime is constructed; it is one
  /// per process. Unset: the KIO_LOG environment variable, or `info`.
  std::optional<LogLevel> log_level = std::nullopt;
};

}  // namespace kio
