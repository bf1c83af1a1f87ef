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
// * Loop: drain injected work -> run a bounded batch of ready coroutines (and those they wake,
//   while no I/O, mail or injected work waits) -> fire timers -> if work
//   remains, submit and reap without blocking; otherwise submit and block until a CQE, the next
//   timer deadline, or a wake-up (an eventfd read kept armed in the ring).
// * Idle trim: a core that has run no coroutine for `RuntimeOptions::idle_trim` releases its frame
//   pool's wholly free slabs, runs its thread's idle-trim hooks (idle_trim.hpp: caches above core)
//   and trims the C heap, once per idle period (the wait before it is cut
//   short to that moment; nothing is measured while busy but a counter compare per iteration).
// * Cross-core mail (mailbox.hpp): one SPSC ring per ordered pair of cores. Each iteration drains
//   the inbound rings, and after running coroutines publishes the outbound ones (batched). A
//   sleeping destination is woken once per batch with IORING_OP_MSG_RING from the sender's ring
//   (an eventfd write from non-worker threads).
// * Stop: `request_stop` (any thread) makes the loop cancel its shutdown token and enter the
//   draining phase, in which it keeps running tasks and serving cross-core mail normally. A core
//   leaves draining only when the runtime's one grace deadline passed, or when *every* core is
//   idle (no root task, nothing ready, no mail in flight): a core without tasks of its own keeps
//   serving the others' submit_to/spawn_on while they clean up. Idleness is decided without a
//   lock by a two-wave check (four-counter termination detection): each draining core publishes
//   an (epoch, idle) word and its counts of mail sent and received when it goes idle, and bumps
//   the epoch *before* it handles anything that arrives afterwards; a core going idle reads every
//   core's word and counts twice. The same words in both waves, all idle, and as many messages
//   received as sent mean that at one instant no core had work and nothing was in flight, which
//   nothing can undo (see drain_finished in mail.cpp). Then, with every other core:
//   (1) quiesce: stop resuming coroutines; answer inbound requests with "cancelled" until all
//   cores are quiescent; (2) discard all mail still in rings and overflow lists (after this no
//   core touches another core's memory); (3) cancel all in-flight operations, wait for their
//   CQEs, and only then destroy the frames still suspended.
//
// Threading: everything is owned by the worker thread except the members under "any thread".
#pragma once

#include <liburing.h>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <mutex>
#include <vector>

#include "kio/core/cancel.hpp"
#include "kio/core/core_metrics.hpp"
#include "kio/core/detail/frame_pool.hpp"
#include "kio/core/detail/mailbox.hpp"
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
  bool counted = false;  // sent by a worker: part of the shutdown's mail accounting
};

class Executor;

/// Shared by a runtime's executors to step through shutdown together.
struct ShutdownSync {
  /// steady_clock ticks of the grace deadline shared by every core; 0 until a stop is requested.
  std::atomic<Clock::rep> deadline{0};
  /// Set once every core was idle at the same instant with no mail in flight.
  std::atomic<bool> finished{false};
  std::atomic<unsigned> quiesced{0};
  std::atomic<unsigned> flushed{0};  // quiescent, and sent its last mail
  std::atomic<unsigned> discarded{0};
  unsigned participants = 0;
  std::uint32_t runtime_tag = 0;  // distinguishes runtimes in frame headers (frame_pool.hpp)
};

/// user_data of the CQE a MSG_RING wake-up posts into a sleeping destination's ring.
inline constexpr std::uint64_t mail_wake_user_data = 1;
/// user_data of a MSG_RING wake-up on the sender's ring: `msg_ring_failed_base + destination`.
/// It is submitted with CQE_SKIP_SUCCESS, so a CQE arrives only when the wake-up failed, and the
/// sender then wakes the destination through its eventfd instead.
inline constexpr std::uint64_t msg_ring_failed_base = 2;
/// user_data values below this are the runtime's own untracked SQEs, never a Completion*.
inline constexpr std::uint64_t reserved_user_data_end = msg_ring_failed_base + 1024;

inline constinit thread_local Executor* tls_executor = nullptr;

/// The executor of the calling worker thread, or nullptr outside workers.
inline Executor* current_executor() noexcept {
  return tls_executor;
}
/// Logs that `what` was called outside a worker thread, and aborts.
[[noreturn]] void no_executor(const char* what) noexcept;
/// The executor of the calling worker thread; terminates with a message outside workers.
inline Executor& this_executor(const char* what) {
  if (Executor* e = tls_executor) [[likely]]
    return *e;
  no_executor(what);
}

class Executor {
 public:
  Executor(Runtime& rt, unsigned index, const RuntimeOptions& opts, int cpu);
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;
  ~Executor();

  // ---- worker thread: setup and loop -------------------------------------------------------
  /// Creates the ring on the calling (worker) thread. Throws kio::SetupError on failure.
  void init();
  /// Wires the cross-core rings (before run): out[d] carries mail to core d, in[s] from core s.
  void connect(std::vector<Executor*> peers, std::vector<MailRing*> out, std::vector<MailRing*> in,
               ShutdownSync* sync);
  /// Runs until stopped, then tears down. Must follow a successful init() on the same thread.
  void run();
  /// Sets `deadline` as the shared end of the grace period unless one is set; returns the one in
  /// force. Any thread; called by Runtime::request_stop before it flags the executors.
  static Clock::time_point arm_grace_deadline(ShutdownSync& sync, Clock::time_point deadline);

  // ---- worker thread: used by awaitables ---------------------------------------------------
  unsigned index() const noexcept { return index_; }
  Runtime& runtime() const noexcept { return rt_; }
  void schedule(std::coroutine_handle<> h) { ready_.push(h); }
  /// The clock, read at most once per loop turn: the first call after the loop's wait for events
  /// reads it, later calls until the next wait return that reading. For deadlines seconds away
  /// (HTTP's idle, request and send timeouts), where a clock read per request shows: a deadline
  /// computed from it is early by at most the time this turn's resumptions ran so far. Sleeps,
  /// kio::timeout and the timer heap read the clock themselves.
  Clock::time_point turn_time() noexcept {
    if (!turn_time_valid_) {
      turn_time_ = Clock::now();
      turn_time_valid_ = true;
    }
    return turn_time_;
  }

  /// An SQE for a tracked operation whose CQEs go to `c`. Flushes the SQ if it is full.
  io_uring_sqe* prepare(Completion* c) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) [[unlikely]]
      sqe = get_sqe_slow();
    io_uring_sqe_set_data(sqe, c);
    ++inflight_;
    ++metrics_.ops_submitted;
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
  /// True once the runtime began stopping: multishot operations should not be re-armed.
  bool stopping() const noexcept { return phase_ != Phase::running; }
  /// True once this core left its grace period: no user code runs any more, frames are about to
  /// be destroyed.
  bool tearing_down() const noexcept { return phase_ == Phase::tearing_down; }
  /// While stopping: when the runtime's grace period ends (time_point::max() while running).
  Clock::time_point grace_deadline() const noexcept { return grace_deadline_; }
  /// Cancelled when the runtime starts stopping; the ambient token of every root task.
  CancelToken shutdown_token() noexcept { return shutdown_.token(); }
  std::uint64_t inflight() const noexcept { return inflight_; }
  /// This core's counters (core_metrics.hpp). Worker thread only: nobody else reads them.
  CoreMetrics metrics() const noexcept {
    CoreMetrics m = metrics_;
    m.messages_sent = mail_sent_;
    m.messages_received = mail_received_;
    return m;
  }
  io_uring& ring() noexcept { return ring_; }

  /// Sends `m` to core `dst` (not this core). Returns false if the ring is full: the message is
  /// then kept on this core's overflow list and enters the ring as soon as there is room (its
  /// `blocked` coroutine, if set, is scheduled at that moment). Never drops a message.
  bool send(unsigned dst, Message* m);
  Executor& peer(unsigned i) const noexcept { return *peers_[i]; }

  // ---- any thread ---------------------------------------------------------------------------
  /// Queues `w` to run on this executor's thread (not a hot path: takes a mutex). Returns false,
  /// without queueing, once the executor has shut down.
  bool inject(Injected* w);
  /// Starts a graceful stop. Idempotent.
  void request_stop() noexcept;
  /// Wakes the loop if it is blocked in the kernel.
  void wake() noexcept;
  /// Tells this executor it has mail (sets the flag its loop checks; wakes it if sleeping).
  void notify_mail() noexcept;

 private:
  enum class Phase { running, draining, tearing_down };

  io_uring_sqe* get_sqe_slow();
  [[noreturn]] void ring_failure(const char* what, int r) noexcept;
  void submit_pending();
  std::size_t reap();
  void run_ready(std::size_t limit);
  bool loop_has_work() noexcept;
  void drain_injected(bool stopped);
  void wait_for_events(Clock::time_point now);
  bool spin_for_mail(Clock::time_point now, Clock::time_point until);
  void arm_wake_read();
  static void on_wake(Completion* c, int res, unsigned flags) noexcept;
  void on_untracked(std::uint64_t user_data, int res) noexcept;
  bool drain_finished(Clock::time_point now) noexcept;
  void publish_idle() noexcept;
  void mark_busy() noexcept;
  bool all_cores_idle() const noexcept;
  void teardown() noexcept;
  void drain_mail(bool stopped);
  void flush_mail();
  void discard_mail() noexcept;
  void quiesce() noexcept;
  void post_msg_ring_wake(Executor& target) noexcept;
  void note_activity(Clock::time_point now) noexcept {
    if (metrics_.tasks_run != seen_tasks_) {
      seen_tasks_ = metrics_.tasks_run;
      last_active_ = now;
    }
  }
  void trim_idle() noexcept;

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
  CoreMetrics metrics_;  // messages_sent/received stay 0 here: mail_sent_/mail_received_ count them
  Phase phase_ = Phase::running;
  Clock::time_point grace_deadline_ = Clock::time_point::max();
  Clock::time_point turn_time_{};
  bool turn_time_valid_ = false;
  // idle trim: tasks_run as last seen by the loop and when it changed; its value at the last trim
  std::uint64_t seen_tasks_ = 0;
  std::uint64_t trimmed_at_ = 0;
  Clock::time_point last_active_{};
  CancelSource shutdown_;
  struct WakeCompletion : Completion {
    Executor* self = nullptr;
  } wake_completion_;
  std::uint64_t wake_buf_ = 0;
  // shutdown accounting (see the design note): mail and counted injections sent and received
  std::uint64_t mail_sent_ = 0;
  std::uint64_t mail_received_ = 0;
  std::uint64_t drain_epoch_ = 0;
  bool published_idle_ = false;
  mutable std::vector<std::uint64_t> idle_words_;  // scratch for all_cores_idle (sized by connect)
  // cross-core mail (wired by connect() before run)
  struct Outbox {
    MailRing* ring = nullptr;
    Message* head = nullptr;  // overflow: waiting for ring space, in send order
    Message* tail = nullptr;
    bool dirty = false;  // pushed but not yet published
  };
  std::vector<Executor*> peers_;
  std::vector<Outbox> outbox_;
  std::vector<MailRing*> inbox_;
  std::vector<unsigned> dirty_;
  std::size_t overflowing_ = 0;
  ShutdownSync* sync_ = nullptr;

  // ---- modified by remote threads
  std::mutex inject_mu_;
  Injected* inject_head_ = nullptr;
  Injected* inject_tail_ = nullptr;
  bool inject_closed_ = false;
  std::atomic<bool> inject_pending_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> mail_pending_{false};

  // ---- written by the worker thread while draining, read by the other cores' idle checks
  alignas(64) std::atomic<std::uint64_t> drain_word_{0};  // (epoch << 1) | idle
  std::atomic<std::uint64_t> drain_sent_{0};
  std::atomic<std::uint64_t> drain_received_{0};
};

}  // namespace kio::detail
