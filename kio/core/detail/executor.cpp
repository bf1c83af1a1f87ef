#include "kio/core/detail/executor.hpp"

#include <sys/eventfd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "kio/core/detail/idle_trim.hpp"
#include "kio/core/detail/ring_setup.hpp"
#include "kio/core/error.hpp"
#include "kio/core/log.hpp"
#include "kio/core/runtime.hpp"

namespace kio::detail {

namespace {
/// How long teardown waits for the kernel to complete cancelled operations before it gives up.
constexpr std::chrono::seconds teardown_patience{10};
}  // namespace

void no_executor(const char* what) noexcept {
  log_error("{} called outside a kio worker thread; use Runtime::block_on to enter the runtime",
            what);
  std::abort();
}

Executor::Executor(Runtime& rt, unsigned index, const RuntimeOptions& opts, int cpu)
    : rt_(rt), index_(index), opts_(opts), cpu_(cpu) {
  wake_completion_.on_cqe = &Executor::on_wake;
  wake_completion_.self = this;
}

Executor::~Executor() {
  if (ring_ready_) io_uring_queue_exit(&ring_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Executor::init() {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    const int e = errno;
    throw SetupError(std::error_code(e, std::generic_category()),
                     fmt::format("kio: worker {}: eventfd failed: {} (raise `ulimit -n`?)", index_,
                                 std::strerror(e)));
  }
  create_ring(ring_, opts_, index_, cpu_);
  ring_ready_ = true;
}

// ---- submission ---------------------------------------------------------------------------

// The ring can no longer be trusted. -EBADR means the kernel dropped completions (a CQ overflow
// it had no memory to hold, despite FEAT_NODROP): some operation will never complete, and kio
// cannot tell which, so it can neither resume its waiter nor know when its buffer is free again.
// Going on would hang tasks and risk use-after-free at teardown; stopping is the honest answer.
[[noreturn]] void Executor::ring_failure(const char* what, int r) noexcept {
  if (r == -EBADR)
    log_error(
        "{}: the kernel dropped completions (CQ overflow under memory pressure); kio cannot tell "
        "which operations finished, so it stops here. Lower the number of operations in flight "
        "per core or raise RuntimeOptions::queue_depth (the CQ is 4x it).",
        what);
  else
    log_error("{} failed: {}; this is a kio bug or a broken ring", what, std::strerror(-r));
  std::abort();
}

io_uring_sqe* Executor::get_sqe_slow() {
  ++metrics_.sq_full_flushes;
  for (;;) {
    submit_pending();
    if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_)) return sqe;
    // Only SQPOLL leaves entries in the SQ after a submit: wait for the poller to take some.
    if (opts_.ring_mode == RingMode::sqpoll) io_uring_sqring_wait(&ring_);
  }
}

void Executor::submit_pending() {
  for (;;) {
    const int r = io_uring_submit(&ring_);
    if (r >= 0) return;
    if (r == -EINTR) continue;
    if (r == -EAGAIN || r == -EBUSY) {
      // The kernel is short of resources or the CQ is backed up: make room by reaping.
      reap();
      continue;
    }
    ring_failure("io_uring_submit", r);
  }
}

void Executor::cancel(Completion* c) noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) sqe = get_sqe_slow();
  io_uring_prep_cancel(sqe, c, 0);
  io_uring_sqe_set_data64(sqe, 0);
  io_uring_sqe_set_flags(sqe, IOSQE_CQE_SKIP_SUCCESS);
}

void Executor::cancel_and_wait(Completion* c, const bool& in_flight) noexcept {
  cancel(c);
  while (in_flight) {
    submit_pending();
    io_uring_cqe* cqe = nullptr;
    const int r = io_uring_wait_cqe(&ring_, &cqe);
    if (r < 0 && r != -EINTR && r != -ETIME) ring_failure("io_uring_wait_cqe", r);
    reap();
  }
}

// ---- completion ---------------------------------------------------------------------------

std::size_t Executor::reap() {
  struct Copied {
    std::uint64_t user_data;
    int res;
    unsigned flags;
  };
  constexpr unsigned batch = 256;
  std::size_t total = 0;
  // The kernel holds completions back while the CQ is full; peeking below flushes them in.
  if (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_CQ_OVERFLOW) [[unlikely]]
    ++metrics_.cq_overflows;
  for (;;) {
    io_uring_cqe* cqes[batch];
    const unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, batch);
    if (n == 0) break;
    Copied copy[batch];
    for (unsigned i = 0; i < n; ++i)
      copy[i] = {cqes[i]->user_data, cqes[i]->res, cqes[i]->flags};
    io_uring_cq_advance(&ring_, n);
    for (unsigned i = 0; i < n; ++i) {
      if (copy[i].user_data < reserved_user_data_end) [[unlikely]] {
        on_untracked(copy[i].user_data, copy[i].res);  // a cancel, a mail wake-up, ...
        continue;
      }
      if (!(copy[i].flags & IORING_CQE_F_MORE)) --inflight_;
      auto* c = reinterpret_cast<Completion*>(static_cast<std::uintptr_t>(copy[i].user_data));
      c->on_cqe(c, copy[i].res, copy[i].flags);
    }
    total += n;
    if (n < batch) break;
  }
  metrics_.completions += total;
  return total;
}

// ---- cross-thread entry -------------------------------------------------------------------

bool Executor::inject(Injected* w) {
  {
    std::lock_guard lock(inject_mu_);
    if (inject_closed_) return false;
    w->next = nullptr;
    // From a worker, this counts as mail for the shutdown's idle check (a task it starts here
    // must keep this core draining); a plain thread's injections are not awaited.
    Executor* from = tls_executor;
    w->counted = from != nullptr;
    if (from) ++from->mail_sent_;
    if (inject_tail_)
      inject_tail_->next = w;
    else
      inject_head_ = w;
    inject_tail_ = w;
  }
  inject_pending_.store(true, std::memory_order_seq_cst);
  wake();
  return true;
}

void Executor::request_stop() noexcept {
  stop_requested_.store(true, std::memory_order_seq_cst);
  wake();
}

void Executor::wake() noexcept {
  if (sleeping_.load(std::memory_order_seq_cst) && sleeping_.exchange(false)) {
    const std::uint64_t one = 1;
    // EAGAIN means the counter is already non-zero: a wake-up is pending anyway.
    [[maybe_unused]] ssize_t r = ::write(wake_fd_, &one, sizeof one);
  }
}

void Executor::drain_injected(bool stopped) {
  if (!stopped && !inject_pending_.load(std::memory_order_relaxed)) return;
  Injected* head;
  {
    std::lock_guard lock(inject_mu_);
    if (stopped) inject_closed_ = true;
    inject_pending_.store(false, std::memory_order_relaxed);
    head = std::exchange(inject_head_, nullptr);
    inject_tail_ = nullptr;
  }
  if (head && published_idle_) mark_busy();
  while (head) {
    Injected* next = head->next;
    if (head->counted) ++mail_received_;
    head->run(head, stopped);  // may free `head`
    head = next;
  }
}

void Executor::arm_wake_read() {
  io_uring_sqe* sqe = prepare(&wake_completion_);
  io_uring_prep_read(sqe, wake_fd_, &wake_buf_, sizeof wake_buf_, 0);
}

void Executor::on_wake(Completion* c, int, unsigned) noexcept {
  Executor* self = static_cast<WakeCompletion*>(c)->self;
  if (self->phase_ != Phase::tearing_down) self->arm_wake_read();
}

// ---- roots --------------------------------------------------------------------------------

void Executor::add_root(RootNode* n) noexcept {
  n->prev = nullptr;
  n->next = roots_;
  if (roots_) roots_->prev = n;
  roots_ = n;
  ++root_count_;
  ++metrics_.tasks_spawned;
}

void Executor::remove_root(RootNode* n) noexcept {
  if (n->prev)
    n->prev->next = n->next;
  else
    roots_ = n->next;
  if (n->next) n->next->prev = n->prev;
  n->prev = n->next = nullptr;
  --root_count_;
}

// ---- the loop -----------------------------------------------------------------------------

void Executor::run_ready(std::size_t limit) {
  // Runs what is ready and then what that woke, up to `limit` resumptions in all, but only while
  // nothing else waits for the loop: an SQE to submit, a completion or deferred task work to
  // reap, cross-core mail, injected work, a stop request (looked at every 32 resumptions once
  // the coroutines ready at the start have run; timers wait at most `limit`). A chain of
  // wake-ups between tasks costs no loop turn per hop.
  std::size_t first = ready_.size();
  if (first > limit) first = limit;
  std::size_t ran = 0;
  for (; ran < first; ++ran)
    ready_.pop().resume();
  for (std::size_t check_at = 32; ran < limit && !ready_.empty(); ++ran) {
    if (ran >= check_at) {
      if (loop_has_work()) break;
      check_at = ran + 32;
    }
    ready_.pop().resume();
  }
  metrics_.tasks_run += ran;
}

bool Executor::loop_has_work() noexcept {
  return io_uring_sq_ready(&ring_) != 0 || io_uring_cq_ready(&ring_) != 0 ||
         (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_TASKRUN) != 0 ||
         mail_pending_.load(std::memory_order_relaxed) ||
         inject_pending_.load(std::memory_order_relaxed) ||
         stop_requested_.load(std::memory_order_relaxed);
}

// Busy-polls for cross-core mail (and injected work) before sleeping; submits first so the
// kernel works on our SQEs meanwhile. Returns true if something arrived.
bool Executor::spin_for_mail(Clock::time_point now, Clock::time_point until) {
  submit_pending();
  const Clock::time_point spin_end = std::min(until, now + opts_.idle_spin);
  for (unsigned i = 0;; ++i) {
    if (mail_pending_.load(std::memory_order_acquire) ||
        inject_pending_.load(std::memory_order_acquire))
      return true;
    if ((i & 63) == 63) {
      if (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_TASKRUN) return false;
      if (Clock::now() >= spin_end) return false;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
}

void Executor::wait_for_events(Clock::time_point now) {
  Clock::time_point until = Clock::time_point::max();
  if (!timers_.empty()) until = timers_.next_deadline();
  if (phase_ == Phase::draining && grace_deadline_ < until) until = grace_deadline_;
  if (opts_.idle_trim.count() > 0 && seen_tasks_ != trimmed_at_ && phase_ == Phase::running) {
    const Clock::time_point at = last_active_ + opts_.idle_trim;
    if (now >= at)
      trim_idle();
    else if (at < until)
      until = at;  // wake up then to trim (if nothing ran meanwhile)
  }

  if (opts_.idle_spin.count() > 0 && spin_for_mail(now, until)) return;

  sleeping_.store(true, std::memory_order_seq_cst);
  if (inject_pending_.load(std::memory_order_seq_cst) ||
      mail_pending_.load(std::memory_order_seq_cst) ||
      (stop_requested_.load(std::memory_order_seq_cst) && phase_ == Phase::running) ||
      (phase_ == Phase::draining && sync_ && sync_->finished.load(std::memory_order_seq_cst))) {
    sleeping_.store(false, std::memory_order_relaxed);
    submit_pending();
    io_uring_get_events(&ring_);
    return;
  }
  io_uring_cqe* cqe = nullptr;
  int r;
  if (until == Clock::time_point::max()) {
    r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, nullptr, nullptr);
  } else {
    const auto ns = until > now ? std::chrono::duration_cast<std::chrono::nanoseconds>(until - now)
                                : std::chrono::nanoseconds(0);
    __kernel_timespec ts{};
    ts.tv_sec = ns.count() / 1'000'000'000;
    ts.tv_nsec = ns.count() % 1'000'000'000;
    r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  }
  sleeping_.store(false, std::memory_order_relaxed);
  if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY)
    ring_failure("io_uring wait", r);
}

void Executor::trim_idle() noexcept {
  trimmed_at_ = seen_tasks_;
  const std::size_t slabs = tls_frame_pool.release_free_slabs();
  const std::size_t cached = run_idle_trim_hooks();
#ifdef __GLIBC__
  const int heap = malloc_trim(0);
#else
  const int heap = 0;
#endif
  log_debug(
      "core {} idle for {} ms: released {} KiB of frame slabs and {} KiB of cached state{}; "
      "{} KiB of frames still cached",
      index_, opts_.idle_trim.count(), slabs / 1024, cached / 1024,
      heap ? ", trimmed the heap" : "", tls_frame_pool.cached_bytes() / 1024);
}

void Executor::run() {
  tls_executor = this;
  tls_frame_pool.attach(*this, index_, sync_ ? sync_->runtime_tag : 0,
                        static_cast<unsigned>(peers_.size()));
  arm_wake_read();
  for (;;) {
    drain_injected(false);
    drain_mail(false);
    run_ready(opts_.ready_batch);

    Clock::time_point now = Clock::now();
    turn_time_ = now;  // what the timer callbacks below see
    turn_time_valid_ = true;
    if (!timers_.empty()) timers_.fire_expired(now);
    note_activity(now);

    if (phase_ == Phase::running && stop_requested_.load(std::memory_order_acquire)) {
      phase_ = Phase::draining;
      const Clock::rep d = sync_ ? sync_->deadline.load(std::memory_order_acquire) : 0;
      grace_deadline_ = d != 0 ? Clock::time_point(Clock::duration(d)) : now + opts_.shutdown_grace;
      shutdown_.request_cancel();
      continue;
    }

    flush_mail();
    if (phase_ == Phase::draining && drain_finished(now)) break;
    if (!ready_.empty() || mail_pending_.load(std::memory_order_relaxed)) {
      // More work is queued: pick up completions without blocking.
      if (opts_.ring_mode == RingMode::sqpoll) {
        if (io_uring_sq_ready(&ring_) > 0) submit_pending();
      } else if (io_uring_sq_ready(&ring_) > 0 ||
                 (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_TASKRUN)) {
        io_uring_submit_and_get_events(&ring_);
      }
    } else {
      wait_for_events(now);
    }
    turn_time_valid_ = false;  // time passed in the kernel: read again when asked
    reap();
  }
  teardown();
  tls_executor = nullptr;
}

void Executor::teardown() noexcept {
  if (root_count_ > 0)
    log_warn("stopping with {} task(s) still running after the {} ms grace period; destroying them",
             root_count_, opts_.shutdown_grace.count());
  phase_ = Phase::tearing_down;
  tls_frame_pool.detach();  // last batches of frames go home; later frees stay here
  quiesce();
  discard_mail();
  // 1. No kernel operation may still point into a frame: cancel them all and wait for every CQE.
  //    Some completions come late (a zero-copy send's notification waits for the peer's ACK):
  //    say so every few seconds, and after `teardown_patience` leak the frames rather than free
  //    memory the kernel may still write.
  const Clock::time_point t0 = Clock::now();
  Clock::time_point next_report = t0 + std::chrono::seconds(2);
  bool gave_up = false;
  auto cancel_all = [this] {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) sqe = get_sqe_slow();
    io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, 0);
  };
  if (inflight_ > 0) cancel_all();
  while (inflight_ > 0) {
    submit_pending();
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{.tv_sec = 0, .tv_nsec = 100'000'000};
    io_uring_wait_cqe_timeout(&ring_, &cqe, &ts);
    reap();
    const Clock::time_point now = Clock::now();
    if (inflight_ == 0 || now < next_report) continue;
    if (now - t0 >= teardown_patience) {
      log_error(
          "{} operation(s) still not completed by the kernel {} s after cancellation; leaking "
          "{} suspended task frame(s) instead of freeing memory the kernel may still use",
          inflight_, std::chrono::duration_cast<std::chrono::seconds>(now - t0).count(),
          root_count_);
      gave_up = true;
      break;
    }
    log_warn("waiting for the kernel to complete {} cancelled operation(s)", inflight_);
    next_report = now + std::chrono::seconds(2);
    cancel_all();
  }
  // 2. Refuse further injections; work injected but not yet run learns that the worker stopped.
  //    Before the frames go: an injected node may live in a suspended frame (a cross-core
  //    channel waiter woken from a non-worker thread).
  drain_injected(true);
  // 3. Nothing runs any more: forget queued resumptions and timers, then destroy the frames.
  ready_.clear();
  timers_.clear();
  if (gave_up) return;
  while (roots_)
    roots_->frame.destroy();  // the root's destructor unlinks it
  ready_.clear();
  timers_.clear();
}

}  // namespace kio::detail
