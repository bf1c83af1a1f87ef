// Executor — one per worker thread: an io_uring, a ready queue, timers and the run loop.
//
// Design note
// -----------
// * Completions. Every tracked SQE carries a `Completion*` as user_data; the object lives in the
//   awaiting frame (or in an object that owns the operation) and stays alive until the CQE without
//   IORING_CQE_F_MORE arrives. user_data 0 marks untracked SQEs (cancel requests) whose CQEs are
//   ignored. `inflight_` counts tracked operations still owed a final CQE.
// * Reaping copies CQEs out of the ring before dispatching them, so a handler may submit (and a
//   full SQ may flush and reap) without corrupting the iteration. Handlers only schedule waiters:
//   coroutines are resumed from the ready queue, never from inside the reaping loop.
// * Full SQ: `get_sqe` flushes and retries (never fails an operation for lack of SQ space). CQ
//   overflow: the ring is created with a CQ 4x the SQ and FEAT_NODROP; overflowed CQEs are flushed
//   on the next reap.
// * Loop: drain injected work -> run a bounded batch of ready coroutines -> fire timers -> if work
//   remains, submit and reap without blocking; otherwise submit and block until a CQE, the next
//   timer deadline, or a wake-up (an eventfd read kept armed in the ring).
// * Stop: `request_stop` (any thread) makes the loop cancel its shutdown token, keep running until
//   every root task finished or the grace period ended, then tear down: cancel all in-flight
//   operations, wait for their CQEs, and only then destroy the frames still suspended.
//
// Threading: everything is owned by the worker thread except the members under "any thread".
#pragma once

#include <liburing.h>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <mutex>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/ready_queue.hpp"
#include "kio/core/detail/timer_heap.hpp"
#include "kio/core/runtime_options.hpp"

namespace kio {
class Runtime;
}

namespace kio::detail {

/// Target of a CQE's user_data.
struct Completion {
  using Fn = void (*)(Completion*, int res, unsigned flags) noexcept;
  Fn on_cqe = nullptr;
};

/// A root coroutine (spawned task or block_on body) owned by an executor while it runs.
struct RootNode {
  RootNode* prev = nullptr;
  RootNode* next = nullptr;
  std::coroutine_handle<> frame{};
};

/// Work handed to an executor from any thread; the node lives with the sender until run.
/// `run(node, false)` runs it on the worker; `run(node, true)` tells it the worker stopped first.
struct Injected {
  Injected* next = nullptr;
  void (*run)(Injected*, bool stopped) noexcept = nullptr;
};

class Executor;
inline constinit thread_local Executor* tls_executor = nullptr;

/// The executor of the calling worker thread, or nullptr outside workers.
inline Executor* current_executor() noexcept {
  return tls_executor;
}
/// The executor of the calling worker thread; terminates with a message outside workers.
Executor& this_executor(const char* what);

class Executor {
 public:
  Executor(Runtime& rt, unsigned index, const RuntimeOptions& opts, int cpu);
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;
  ~Executor();

  // ---- worker thread: setup and loop -------------------------------------------------------
  /// Creates the ring on the calling (worker) thread. Throws kio::SetupError on failure.
  void init();
  /// Runs until stopped, then tears down. Must follow a successful init() on the same thread.
  void run();

  // ---- worker thread: used by awaitables ---------------------------------------------------
  unsigned index() const noexcept { return index_; }
  Runtime& runtime() const noexcept { return rt_; }
  void schedule(std::coroutine_handle<> h) { ready_.push(h); }

  /// An SQE for a tracked operation whose CQEs go to `c`. Flushes the SQ if it is full.
  io_uring_sqe* prepare(Completion* c) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) [[unlikely]]
      sqe = get_sqe_slow();
    io_uring_sqe_set_data(sqe, c);
    ++inflight_;
    return sqe;
  }
  /// Asks the kernel to cancel the operation whose user_data is `c`; its CQE still arrives.
  void cancel(Completion* c) noexcept;
  /// Cancels `c` and waits, here and now, for its final CQE (destructor safety net).
  void cancel_and_wait(Completion* c, const bool& in_flight) noexcept;

  void add_timer(TimerNode* n) { timers_.insert(n); }
  void remove_timer(TimerNode* n) noexcept { timers_.remove(n); }

  void add_root(RootNode* n) noexcept;
  void remove_root(RootNode* n) noexcept;
  bool stopping() const noexcept { return phase_ != Phase::running; }
  /// Cancelled when the runtime starts stopping; the ambient token of every root task.
  CancelToken shutdown_token() noexcept { return shutdown_.token(); }
  std::uint64_t inflight() const noexcept { return inflight_; }
  io_uring& ring() noexcept { return ring_; }

  // ---- any thread ---------------------------------------------------------------------------
  /// Queues `w` to run on this executor's thread (not a hot path: takes a mutex). Returns false,
  /// without queueing, once the executor has shut down.
  bool inject(Injected* w);
  /// Starts a graceful stop. Idempotent.
  void request_stop() noexcept;
  /// Wakes the loop if it is blocked in the kernel.
  void wake() noexcept;

 private:
  enum class Phase { running, draining };

  io_uring_sqe* get_sqe_slow();
  void submit_pending();
  std::size_t reap();
  void run_ready(std::size_t limit);
  void drain_injected(bool stopped);
  void wait_for_events(Clock::time_point now);
  void arm_wake_read();
  static void on_wake(Completion* c, int res, unsigned flags) noexcept;
  void teardown() noexcept;

  // ---- does not change once initialised
  Runtime& rt_;
  const unsigned index_;
  const RuntimeOptions opts_;
  const int cpu_;
  int wake_fd_ = -1;
  bool ring_ready_ = false;

  // ---- modified by the worker thread
  io_uring ring_{};
  ReadyQueue ready_;
  TimerHeap timers_;
  RootNode* roots_ = nullptr;
  std::size_t root_count_ = 0;
  std::uint64_t inflight_ = 0;
  Phase phase_ = Phase::running;
  Clock::time_point grace_deadline_{};
  CancelSource shutdown_;
  struct WakeCompletion : Completion {
    Executor* self = nullptr;
  } wake_completion_;
  std::uint64_t wake_buf_ = 0;

  // ---- modified by remote threads
  std::mutex inject_mu_;
  Injected* inject_head_ = nullptr;
  Injected* inject_tail_ = nullptr;
  bool inject_closed_ = false;
  std::atomic<bool> inject_pending_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> sleeping_{false};
};

}  // namespace kio::detail
