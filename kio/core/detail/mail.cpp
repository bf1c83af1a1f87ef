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
  sync_ = sync;
}

bool Executor::send(unsigned dst, Message* m) {
  Outbox& o = outbox_[dst];
  m->next = nullptr;
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
  mail_pending_.store(false, std::memory_order_seq_cst);
  for (unsigned s = 0; s < inbox_.size(); ++s) {
    MailRing* r = inbox_[s];
    if (!r) continue;
    r->drain([&](Message* m) { m->handle(m, *this, stopped); });
    if (r->take_producer_waiting()) peers_[s]->notify_mail();
  }
}

void Executor::notify_mail() noexcept {
  mail_pending_.store(true, std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_seq_cst) && sleeping_.exchange(false)) {
    Executor* from = tls_executor;
    if (from && from != this && from->phase_ == Phase::running && ring_ready_) {
      from->post_msg_ring_wake(ring_.ring_fd);
    } else {
      const std::uint64_t one = 1;
      [[maybe_unused]] ssize_t r = ::write(wake_fd_, &one, sizeof one);
    }
  }
}

void Executor::post_msg_ring_wake(int target_ring_fd) noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) sqe = get_sqe_slow();
  io_uring_prep_msg_ring(sqe, target_ring_fd, 0, mail_wake_user_data, 0);
  io_uring_sqe_set_data64(sqe, 0);
  io_uring_sqe_set_flags(sqe, IOSQE_CQE_SKIP_SUCCESS);
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
