// Executor: cross-core mail and the shutdown steps that involve other cores.
#include <liburing.h>
#include <unistd.h>

#include <thread>

#include "kio/core/detail/executor.hpp"
#include "kio/core/log.hpp"

namespace kio::detail {

void Executor::connect(std::vector<Executor*> peers, std::vector<MailRing*> out,
                       std::vector<MailRing*> in, ShutdownSync* sync) {
  peers_ = std::move(peers);
  outbox_.resize(out.size());
  for (std::size_t i = 0; i < out.size(); ++i)
    outbox_[i].ring = out[i];
  inbox_ = std::move(in);
  dirty_.reserve(out.size());
  idle_words_.resize(peers_.size());
  sync_ = sync;
}

bool Executor::send(unsigned dst, Message* m) {
  Outbox& o = outbox_[dst];
  m->next = nullptr;
  ++mail_sent_;
  if (!o.head && o.ring->try_push(m)) {
    if (!o.dirty) {
      o.dirty = true;
      dirty_.push_back(dst);
    }
    return true;
  }
  if (!o.head) ++overflowing_;
  if (o.tail)
    o.tail->next = m;
  else
    o.head = m;
  o.tail = m;
  return false;
}

void Executor::flush_mail() {
  tls_frame_pool.flush_home();  // frames freed here that belong to other cores
  if (overflowing_) {
    for (unsigned d = 0; d < outbox_.size(); ++d) {
      Outbox& o = outbox_[d];
      if (!o.head) continue;
      while (o.head && o.ring->try_push(o.head)) {
        Message* m = o.head;
        o.head = m->next;
        if (!o.head) o.tail = nullptr;
        if (m->blocked) schedule(std::exchange(m->blocked, {}));
        if (!o.dirty) {
          o.dirty = true;
          dirty_.push_back(d);
        }
      }
      if (!o.head) --overflowing_;
    }
  }
  for (unsigned d : dirty_) {
    outbox_[d].dirty = false;
    if (outbox_[d].ring->publish()) peers_[d]->notify_mail();
  }
  dirty_.clear();
}

void Executor::drain_mail(bool stopped) {
  if (!mail_pending_.load(std::memory_order_relaxed)) return;
  // An RMW, not a store: if it reads a sender's `true`, it synchronises with that sender, so the
  // ring tails it published before notifying are visible below; if the sender's store comes
  // later, the flag stays set and the next iteration drains again.
  if (!mail_pending_.exchange(false, std::memory_order_acq_rel)) return;
  if (published_idle_) mark_busy();  // before handling anything: see drain_finished
  for (unsigned s = 0; s < inbox_.size(); ++s) {
    MailRing* r = inbox_[s];
    if (!r) continue;
    mail_received_ += r->drain([&](Message* m) { m->handle(m, *this, stopped); });
    if (r->take_producer_waiting()) peers_[s]->notify_mail();
  }
}

void Executor::notify_mail() noexcept {
  mail_pending_.store(true, std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_seq_cst) && sleeping_.exchange(false)) {
    Executor* from = tls_executor;
    if (from && from != this && from->phase_ != Phase::tearing_down && ring_ready_) {
      from->post_msg_ring_wake(*this);
    } else {
      const std::uint64_t one = 1;
      [[maybe_unused]] ssize_t r = ::write(wake_fd_, &one, sizeof one);
    }
  }
}

void Executor::post_msg_ring_wake(Executor& target) noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) sqe = get_sqe_slow();
  io_uring_prep_msg_ring(sqe, target.ring_.ring_fd, 0, mail_wake_user_data, 0);
  // Only a failure posts a CQE here (e.g. the target's CQ could not take the wake-up): on_untracked
  // then wakes the target through its eventfd, so it never sleeps with mail waiting.
  io_uring_sqe_set_data64(sqe, msg_ring_failed_base + target.index_);
  io_uring_sqe_set_flags(sqe, IOSQE_CQE_SKIP_SUCCESS);
}

void Executor::on_untracked(std::uint64_t user_data, int res) noexcept {
  if (user_data < msg_ring_failed_base) return;  // a cancel request's result, or a mail wake-up
  const std::uint64_t target = user_data - msg_ring_failed_base;
  if (res >= 0 || target >= peers_.size()) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(peers_[target]->wake_fd_, &one, sizeof one);
}

// ---- leaving the grace period --------------------------------------------------------------

Clock::time_point Executor::arm_grace_deadline(ShutdownSync& sync, Clock::time_point deadline) {
  Clock::rep expected = 0;
  const Clock::rep mine = deadline.time_since_epoch().count();
  if (sync.deadline.compare_exchange_strong(expected, mine, std::memory_order_acq_rel))
    return deadline;
  return Clock::time_point(Clock::duration(expected));
}

// Called by a draining core each iteration after publishing its mail. True when it may leave the
// grace period: the deadline passed, or every core is idle with no mail in flight.
//
// Why the idle check is sound: a core publishes (epoch, idle) only after its sent/received counts,
// and marks itself busy (a new epoch) before it handles any mail or injected work that arrives
// later. If two waves of reads see the same idle word for every core, each core was idle, with its
// published counts, throughout the span between its two reads; all those spans share the instant
// at which the first wave ended. At that instant no core had work, and received == sent means no
// message was in flight either. An idle core only becomes busy through mail from another core, so
// none can ever become busy again: the runtime is done. (A plain thread's injection may still
// arrive; it is answered as refused by teardown.)
bool Executor::drain_finished(Clock::time_point now) noexcept {
  if (now >= grace_deadline_) return true;
  if (!sync_) return root_count_ == 0 && ready_.empty();
  if (sync_->finished.load(std::memory_order_acquire)) return true;
  const bool idle = root_count_ == 0 && ready_.empty() && overflowing_ == 0;
  if (!idle) {
    if (published_idle_) mark_busy();
    return false;
  }
  if (published_idle_) return false;  // unchanged since our last check; a peer will re-check
  publish_idle();
  if (!all_cores_idle()) return false;
  sync_->finished.store(true, std::memory_order_seq_cst);
  for (Executor* p : peers_)
    if (p != this) p->wake();
  return true;
}

void Executor::publish_idle() noexcept {
  drain_sent_.store(mail_sent_, std::memory_order_release);
  drain_received_.store(mail_received_, std::memory_order_release);
  drain_word_.store((drain_epoch_ << 1) | 1, std::memory_order_seq_cst);
  published_idle_ = true;
}

void Executor::mark_busy() noexcept {
  published_idle_ = false;
  drain_word_.store(++drain_epoch_ << 1, std::memory_order_seq_cst);
}

bool Executor::all_cores_idle() const noexcept {
  std::uint64_t sent = 0, received = 0;
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    const std::uint64_t w = peers_[i]->drain_word_.load(std::memory_order_seq_cst);
    if (!(w & 1)) return false;
    idle_words_[i] = w;
    sent += peers_[i]->drain_sent_.load(std::memory_order_acquire);
    received += peers_[i]->drain_received_.load(std::memory_order_acquire);
  }
  if (sent != received) return false;
  for (std::size_t i = 0; i < peers_.size(); ++i)
    if (peers_[i]->drain_word_.load(std::memory_order_seq_cst) != idle_words_[i]) return false;
  return true;
}

// Shutdown step 1: stop running coroutines, and until every core has done the same, answer
// inbound mail with "stopped" so that cores still running never wait on this one.
void Executor::quiesce() noexcept {
  if (!sync_) return;
  sync_->quiesced.fetch_add(1, std::memory_order_acq_rel);
  while (sync_->quiesced.load(std::memory_order_acquire) < sync_->participants) {
    mail_pending_.store(true, std::memory_order_relaxed);  // poll every ring
    drain_mail(true);
    flush_mail();
    submit_pending();  // MSG_RING wake-ups for the replies
    reap();
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  mail_pending_.store(true, std::memory_order_relaxed);
  drain_mail(true);
  flush_mail();
  submit_pending();
  // This last flush may push into a peer's ring after that peer left the loop above: nobody
  // discards before every core has sent its last message, or a message pushed after the peer's
  // discard pass would keep its frame forever.
  sync_->flushed.fetch_add(1, std::memory_order_acq_rel);
  while (sync_->flushed.load(std::memory_order_acquire) < sync_->participants)
    std::this_thread::sleep_for(std::chrono::microseconds(100));
}

// Shutdown step 2: every core is quiescent. Drop whatever mail is left, releasing frames that
// messages own, then wait until every core has done so: afterwards nothing refers to another
// core's frames and each core may destroy its own.
void Executor::discard_mail() noexcept {
  if (!sync_) return;
  for (MailRing* r : inbox_)
    if (r)
      r->drain([](Message* m) {
        if (m->discard) m->discard(m);
      });
  for (Outbox& o : outbox_) {
    while (Message* m = o.head) {
      o.head = m->next;
      if (m->discard) m->discard(m);
    }
    o.tail = nullptr;
  }
  overflowing_ = 0;
  sync_->discarded.fetch_add(1, std::memory_order_acq_rel);
  while (sync_->discarded.load(std::memory_order_acquire) < sync_->participants)
    std::this_thread::sleep_for(std::chrono::microseconds(100));
}

}  // namespace kio::detail
