#include "kio/core/detail/executor.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "kio/core/detail/log.hpp"
#include "kio/core/detail/ring_setup.hpp"
#include "kio/core/error.hpp"
#include "kio/core/runtime.hpp"

namespace kio::detail {

Executor& this_executor(const char* what) {
  if (Executor* e = tls_executor) [[likely]]
    return *e;
  log("{} called outside a kio worker thread; use Runtime::block_on to enter the runtime", what);
  std::abort();
}

Executor::Executor(Runtime& rt, unsigned index, const RuntimeOptions& opts, int cpu)
    : rt_(rt), index_(index), opts_(opts), cpu_(cpu) {
  wake_completion_.on_cqe = &Executor::on_wake;
  wake_completion_.self = this;
  signal_.on_cqe = &Executor::on_signal;
  signal_.self = this;
}

Executor::~Executor() {
  if (ring_ready_) io_uring_queue_exit(&ring_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Executor::init() {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    const int e = errno;
    throw SetupError(std::error_code(e, std::system_category()),
                     fmt::format("kio: worker {}: eventfd failed: {} (raise `ulimit -n`?)", index_,
                                 std::strerror(e)));
  }
  create_ring(ring_, opts_, index_, cpu_);
  ring_ready_ = true;
}

// ---- submission ---------------------------------------------------------------------------

io_uring_sqe* Executor::get_sqe_slow() {
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
    log("io_uring_submit failed: {}; this is a kio bug or a broken ring", std::strerror(-r));
    std::abort();
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
    if (r < 0 && r != -EINTR && r != -ETIME) {
      log("io_uring_wait_cqe failed while cancelling: {}", std::strerror(-r));
      std::abort();
    }
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
  for (;;) {
    io_uring_cqe* cqes[batch];
    const unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, batch);
    if (n == 0) break;
    Copied copy[batch];
    for (unsigned i = 0; i < n; ++i)
      copy[i] = {cqes[i]->user_data, cqes[i]->res, cqes[i]->flags};
    io_uring_cq_advance(&ring_, n);
    for (unsigned i = 0; i < n; ++i) {
      if (copy[i].user_data <= mail_wake_user_data) continue;  // untracked, or a mail wake-up
      if (!(copy[i].flags & IORING_CQE_F_MORE)) --inflight_;
      auto* c = reinterpret_cast<Completion*>(static_cast<std::uintptr_t>(copy[i].user_data));
      c->on_cqe(c, copy[i].res, copy[i].flags);
    }
    total += n;
    if (n < batch) break;
  }
  return total;
}

// ---- cross-thread entry -------------------------------------------------------------------

bool Executor::inject(Injected* w) {
  {
    std::lock_guard lock(inject_mu_);
    if (inject_closed_) return false;
    w->next = nullptr;
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
  while (head) {
    Injected* next = head->next;
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

void Executor::arm_signal_read() {
  io_uring_sqe* sqe = prepare(&signal_);
  io_uring_prep_read(sqe, signal_.fd, &signal_.info, sizeof signal_.info, 0);
}

void Executor::on_signal(Completion* c, int res, unsigned) noexcept {
  auto* w = static_cast<SignalWatch*>(c);
  Executor* self = w->self;
  if (self->phase_ == Phase::tearing_down) return;
  if (res == static_cast<int>(sizeof w->info)) {
    const int sig = static_cast<int>(w->info.ssi_signo);
    if (++w->seen == 1) {
      log("received {}; stopping gracefully (send it again to exit at once)", sigabbrev_np(sig));
      self->rt_.request_stop();
    } else {
      log("received {} again; exiting now", sigabbrev_np(sig));
      std::_Exit(128 + sig);
    }
  }
  self->arm_signal_read();
}

// ---- roots --------------------------------------------------------------------------------

void Executor::add_root(RootNode* n) noexcept {
  n->prev = nullptr;
  n->next = roots_;
  if (roots_) roots_->prev = n;
  roots_ = n;
  ++root_count_;
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
  // reap, cross-core mail, injected work, a stop request (looked at every 32 resumptions; timers
  // wait at most `limit`). A chain of wake-ups between tasks costs no loop turn per hop.
  std::size_t n = ready_.size();
  if (n > limit) n = limit;
  std::size_t budget = limit, unchecked = 0;
  for (;;) {
    budget -= n;
    unchecked += n;
    while (n--)
      ready_.pop().resume();
    if (budget == 0 || ready_.empty()) return;
    if (unchecked >= 32) {
      if (loop_has_work()) return;
      unchecked = 0;
    }
    n = ready_.size() < budget ? ready_.size() : budget;
  }
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

  if (opts_.idle_spin.count() > 0 && spin_for_mail(now, until)) return;

  sleeping_.store(true, std::memory_order_seq_cst);
  if (inject_pending_.load(std::memory_order_seq_cst) ||
      mail_pending_.load(std::memory_order_seq_cst) ||
      (stop_requested_.load(std::memory_order_seq_cst) && phase_ == Phase::running)) {
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
  if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
    log("io_uring wait failed: {}", std::strerror(-r));
    std::abort();
  }
}

void Executor::run() {
  tls_executor = this;
  arm_wake_read();
  if (signal_.fd >= 0) arm_signal_read();
  for (;;) {
    drain_injected(false);
    drain_mail(false);
    run_ready(opts_.ready_batch);

    Clock::time_point now = Clock::now();
    if (!timers_.empty()) timers_.fire_expired(now);

    if (phase_ == Phase::running && stop_requested_.load(std::memory_order_relaxed)) {
      phase_ = Phase::draining;
      grace_deadline_ = now + opts_.shutdown_grace;
      shutdown_.request_cancel();
      continue;
    }
    if (phase_ == Phase::draining &&
        ((root_count_ == 0 && ready_.empty()) || now >= grace_deadline_))
      break;

    flush_mail();
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
    reap();
  }
  teardown();
  tls_executor = nullptr;
}

void Executor::teardown() noexcept {
  if (root_count_ > 0)
    log("stopping with {} task(s) still running after the {} ms grace period; destroying them",
        root_count_, opts_.shutdown_grace.count());
  phase_ = Phase::tearing_down;
  quiesce();
  discard_mail();
  // 1. No kernel operation may still point into a frame: cancel them all and wait for every CQE.
  if (inflight_ > 0) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) sqe = get_sqe_slow();
    io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, 0);
  }
  while (inflight_ > 0) {
    submit_pending();
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{.tv_sec = 1, .tv_nsec = 0};
    io_uring_wait_cqe_timeout(&ring_, &cqe, &ts);
    reap();
  }
  // 2. Refuse further injections; work injected but not yet run learns that the worker stopped.
  //    Before the frames go: an injected node may live in a suspended frame (a cross-core
  //    channel waiter woken from a non-worker thread).
  drain_injected(true);
  // 3. Nothing runs any more: forget queued resumptions and timers, then destroy the frames.
  ready_.clear();
  timers_.clear();
  while (roots_)
    roots_->frame.destroy();  // the root's destructor unlinks it
  ready_.clear();
  timers_.clear();
}

}  // namespace kio::detail
