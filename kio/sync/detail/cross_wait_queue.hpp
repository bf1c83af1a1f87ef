// CrossWaiter / CrossWaitQueue — parked waiters of a thread-safe primitive (kio::CrossChannel),
// each resumed on its own core.
//
// A CrossWaiter is embedded in an awaiter, i.e. in the frame of the coroutine that waits: parking
// allocates nothing. While queued it is linked into a CrossWaitQueue (guarded by the owning
// primitive's mutex) and registered on the waiter's ambient CancelToken. It leaves the queue
// exactly once, always under that mutex:
//   * served: another thread (or core, or this one) unlinks it, stores its result and posts its
//     resumption to the waiter's own executor (`wake`): directly on the ready queue when the
//     waker runs on that core; through the SPSC mail ring when the waker is another worker of
//     the same runtime (after the mutex is released: CrossWakeList); else, under the mutex,
//     through the executor's inject queue (non-worker threads, other runtimes: the frame could
//     otherwise be torn down, its destructor taking the mutex, before the post);
//   * cancelled: the token's callback (on the waiter's core) unlinks it under the mutex and
//     schedules it with operation_canceled. If a waker unlinked it first the callback does
//     nothing: the waiter resumes with what it was served (a result is never dropped);
//   * abandoned: the frame is destroyed while suspended (runtime teardown): the destructor
//     unlinks it under the mutex. A resumption already posted for it is then dropped by the
//     executor, which handles mail and injected work with `stopped` set during teardown and
//     before it destroys frames.
// `count()` mirrors the queue length in an atomic so the lock-free fast paths can tell, without
// the mutex, whether anyone waits (seq_cst: see mpmc_ring.hpp).
//
// Threading: every member is used under the owning mutex, except count() (any thread), the
// awaiter-side fields set before parking (read by wakers under the mutex afterwards) and a
// CrossWakeList (the waker's own, posted after unlocking).
#pragma once

#include <atomic>
#include <cassert>
#include <coroutine>
#include <cstdint>
#include <mutex>
#include <system_error>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/detail/mailbox.hpp"
#include "kio/core/error.hpp"
#include "kio/core/runtime.hpp"
#include "kio/core/task.hpp"

namespace kio::detail {

class CrossWaitQueue;

struct CrossWaiter {
  CrossWaiter() = default;
  /// Awaiters may be moved only before they are awaited; the copy starts unqueued.
  CrossWaiter(CrossWaiter&& o) noexcept : ec(o.ec) { assert(!o.mu); }
  CrossWaiter& operator=(CrossWaiter&&) = delete;
  ~CrossWaiter() {
    if (!mu) return;  // never parked, or resumed (resumption implies it left the queue)
    std::lock_guard lock(*mu);
    abandon_locked();
  }

  /// Prepares to park coroutine `h` on a queue guarded by `m`: arms the cancellation callback.
  /// Returns false, with operation_canceled in `ec`, if `h`'s ambient token is already cancelled.
  template <class P>
  bool prepare(std::coroutine_handle<P> h, std::mutex& m) {
    ex = &this_executor("kio::CrossChannel wait");
    handle = h;
    mail.self = this;
    mail.handle = &on_mail;
    mail.discard = nullptr;
    inject.self = this;
    inject.run = &on_inject;
    if (!reg.arm(token_of(h), &CrossWaiter::on_cancel, this)) {
      ec = std::make_error_code(std::errc::operation_canceled);
      return false;
    }
    mu = &m;
    return true;
  }
  /// On the waiter's core once it no longer waits (resumed, or served before suspending).
  void finish() noexcept {
    reg.disarm();
    if (injected) {
      // Woken by a non-worker thread, which may still hold the mutex: wait until it let go, so
      // that the caller may destroy the primitive as soon as this wait returns.
      std::lock_guard lock(*mu);
      injected = false;
    }
    mu = nullptr;
  }
  bool queued() const noexcept { return queue != nullptr; }

  // ---- guarded by *mu
  CrossWaiter* prev = nullptr;
  CrossWaiter* next = nullptr;
  CrossWaitQueue* queue = nullptr;  // non-null exactly while queued
  std::error_code ec = no_error;
  bool injected = false;  // resumption posted through the inject queue

  // ---- set by prepare() on the waiter's core, then read-only
  std::mutex* mu = nullptr;  // non-null from parking until finish()
  std::coroutine_handle<> handle;
  Executor* ex = nullptr;
  CancelRegistration reg;  // waiter's core only
  struct Mail : Message {
    CrossWaiter* self = nullptr;
  } mail;
  struct Inject : Injected {
    CrossWaiter* self = nullptr;
  } inject;

 private:
  inline void abandon_locked() noexcept;
  static inline void on_cancel(void* self) noexcept;
  static void on_mail(Message* m, Executor& here, bool stopped) noexcept {
    if (!stopped) here.schedule(static_cast<Mail*>(m)->self->handle);
  }
  static void on_inject(Injected* n, bool stopped) noexcept {
    CrossWaiter* w = static_cast<Inject*>(n)->self;
    if (!stopped) w->ex->schedule(w->handle);
  }
};

/// Served waiters on other cores of the waker's runtime, whose resumptions are posted once the
/// mutex is released (declare it before the lock: its destructor posts), which keeps the
/// critical section to list and ring operations. Posting after unlocking is safe: a served
/// waiter is in no queue any more, so nothing else resumes it, and its frame stays alive because
/// a core destroys suspended frames only after every core of its runtime stopped running
/// coroutines (shutdown quiesces them all first), while the waker is one of them, running.
class CrossWakeList {
 public:
  CrossWakeList() = default;
  CrossWakeList(const CrossWakeList&) = delete;
  CrossWakeList& operator=(const CrossWakeList&) = delete;
  ~CrossWakeList() { post_all(); }

  void add(CrossWaiter* w) noexcept {
    w->next = nullptr;
    if (tail_)
      tail_->next = w;
    else
      head_ = w;
    tail_ = w;
  }
  /// Sends each resumption through the mail ring to the waiter's core. Like all mail it is
  /// published at the end of this loop iteration: a waker that goes on sending or receiving
  /// hands the woken side a batch rather than one value at a time (measured: publishing each
  /// wake-up at once halved a stream's throughput and did not shorten ping-pongs).
  void post_all() noexcept {
    Executor* here = current_executor();
    while (CrossWaiter* w = head_) {
      head_ = w->next;  // read first: once posted, the waiter may run and finish at any moment
      here->send(w->ex->index(), &w->mail);  // behind a full ring if need be, never lost
    }
    tail_ = nullptr;
  }

 private:
  CrossWaiter* head_ = nullptr;
  CrossWaiter* tail_ = nullptr;
};

class CrossWaitQueue {
 public:
  CrossWaitQueue() = default;
  CrossWaitQueue(const CrossWaitQueue&) = delete;
  CrossWaitQueue& operator=(const CrossWaitQueue&) = delete;

  /// Waiters queued (any thread, without the mutex; exact under it).
  std::uint32_t count() const noexcept { return count_.load(std::memory_order_seq_cst); }
  bool empty() const noexcept { return head_ == nullptr; }
  CrossWaiter* front() const noexcept { return head_; }

  void push_back(CrossWaiter* w) noexcept {
    w->queue = this;
    w->next = nullptr;
    w->prev = tail_;
    if (tail_)
      tail_->next = w;
    else
      head_ = w;
    tail_ = w;
    count_.fetch_add(1, std::memory_order_seq_cst);
  }

  void remove(CrossWaiter* w) noexcept {
    assert(w->queue == this);
    if (w->prev)
      w->prev->next = w->next;
    else
      head_ = w->next;
    if (w->next)
      w->next->prev = w->prev;
    else
      tail_ = w->prev;
    w->prev = w->next = nullptr;
    w->queue = nullptr;
    count_.fetch_sub(1, std::memory_order_seq_cst);
  }

  /// Unlinks `w`, stores `ec` and posts its resumption to its own core (or leaves it to `later`),
  /// unless `w` is `self` (the waiter that is serving the queue itself while parking: it simply
  /// does not suspend).
  void wake(CrossWaiter* w, std::error_code ec, const CrossWaiter* self, CrossWakeList& later) {
    remove(w);
    w->ec = ec;
    if (w != self) post(w, later);
  }
  void wake_all(std::error_code ec, const CrossWaiter* self, CrossWakeList& later) {
    while (head_)
      wake(head_, ec, self, later);
  }

 private:
  static void post(CrossWaiter* w, CrossWakeList& later) {
    Executor* here = current_executor();
    if (here == w->ex) {
      here->schedule(w->handle);
    } else if (here && &here->runtime() == &w->ex->runtime()) {
      later.add(w);  // through the mail ring, once the mutex is released
    } else {
      w->injected = true;
      // False when the waiter's executor has shut down: its frame is destroyed unresumed.
      (void)w->ex->inject(&w->inject);
    }
  }

  CrossWaiter* head_ = nullptr;
  CrossWaiter* tail_ = nullptr;
  std::atomic<std::uint32_t> count_{0};
};

inline void CrossWaiter::abandon_locked() noexcept {
  if (queue) queue->remove(this);
}

inline void CrossWaiter::on_cancel(void* self) noexcept {
  auto* w = static_cast<CrossWaiter*>(self);
  {
    std::lock_guard lock(*w->mu);
    if (!w->queue) return;  // already served: resumes with its result
    w->queue->remove(w);
    w->ec = std::make_error_code(std::errc::operation_canceled);
  }
  w->ex->schedule(w->handle);
}

}  // namespace kio::detail
