// kio::CrossChannel<T> — a bounded FIFO queue whose senders and receivers may run on different
// cores (or, for the non-waiting calls, on any thread).
//
//   kio::CrossChannel<Job> jobs(1024);                      // shared by every core; outlives them
//   co_await kio::spawn_on(1, [](kio::CrossChannel<Job>& ch) -> kio::Task<void> {
//     while (auto j = co_await ch.recv()) run(std::move(*j));  // ends with broken_pipe
//   }(jobs));
//   co_await jobs.send(Job{...});                           // from any core; waits while full
//   jobs.close();                                           // receivers drain what is buffered
//
// Semantics: send() waits while the buffer is full (backpressure), recv() while it is empty;
// nothing is dropped. Values from one sender arrive in the order it sent them (there is no order
// between different senders). Waiting senders and receivers are served FIFO among themselves;
// an operation that finds room or a value at once may overtake them. The capacity is rounded up
// to a power of two (at least 2); capacity() tells the result. There is no rendezvous mode.
// close() makes every later send fail, wakes waiting senders with broken_pipe (their values are
// not enqueued and are destroyed with the awaiter) and lets receivers drain the buffer; once it
// is empty recv() returns broken_pipe. A send that completed before close() is always received.
//
// Design: the buffer is a lock-free MPMC ring of slots with sequence numbers
// (detail/mpmc_ring.hpp): a send or recv that finds room or a value costs two atomic operations
// on the ring plus one load of the waiter counters and never takes a lock, allocates, or talks to
// another core. Only an operation that must wait takes the channel's mutex: it queues itself
// (detail/cross_wait_queue.hpp) and retries once under the mutex. Whoever later frees a slot or
// fills one sees the waiter count (seq_cst on both sides, so neither misses the other), takes the
// mutex and serves waiters in FIFO order on their behalf: it moves a waiting sender's value into
// the ring, or moves a value out of the ring into a waiting receiver's awaiter, then posts the
// waiter's resumption to its own core (ready queue / SPSC mail ring with an MSG_RING wake-up /
// inject queue). A woken waiter therefore finds its result in its own frame and never retries.
// Threading: send()/recv() from kio worker threads (any core, any number of runtimes);
// try_send(), try_recv(), close() and the observers from any thread at all.
// Resumes on: a waiting task is always resumed on its own core, through its executor's ready
// queue; send/recv/close never resume a task inline, and never on another thread.
// Cancellation: a send or recv that has to wait observes the ambient token; when it is cancelled
// the task leaves the queue and gets std::errc::operation_canceled (a cancelled send did not
// enqueue its value, a cancelled recv took none). If the waiter was served before the
// cancellation took effect it keeps its result (a received value is never dropped). Operations
// that need not wait complete even if the token is cancelled. When the runtime stops, the
// shutdown token cancels parked waits; a frame destroyed while parked unlinks itself.
// Lifetime: the buffer is allocated once, in the constructor; a wait allocates nothing (its node
// and, for send, the value live in the awaiting frame). The channel must outlive every wait on it
// (including frames a stopping runtime destroys while they are parked: declare the channel
// before the Runtime, or keep it in a frame that outlives the waiters), and no thread may still
// be inside one of its calls when it is destroyed (a task that got its result from a wait may
// destroy it: the wait returns only after the waker let go of the channel). Destroying it
// destroys buffered values; it must not have waiters then (checked by assert; in release builds
// they are woken with broken_pipe). T must be safe to move from one thread to another; its move
// constructor (noexcept) may run on the waker's thread, under the channel's mutex.
// Errors: send -> Result<void>, recv -> Result<T>; operation_canceled or broken_pipe.
// std::invalid_argument from the constructor for capacity 0.
#pragma once

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>

#include "kio/core/result.hpp"
#include "kio/sync/detail/cross_wait_queue.hpp"
#include "kio/sync/detail/mpmc_ring.hpp"

namespace kio {

template <class T>
  requires std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>
class CrossChannel {
 public:
  explicit CrossChannel(std::size_t capacity) : ring_(checked(capacity)) {}
  CrossChannel(const CrossChannel&) = delete;
  CrossChannel& operator=(const CrossChannel&) = delete;
  ~CrossChannel() {
    detail::CrossWakeList later;
    std::lock_guard lock(mu_);
    assert(senders_.empty() && receivers_.empty() && "CrossChannel destroyed with waiters");
    const auto pipe = std::make_error_code(std::errc::broken_pipe);
    senders_.wake_all(pipe, nullptr, later);
    receivers_.wake_all(pipe, nullptr, later);
    // ring_'s destructor destroys the buffered values
  }

  class [[nodiscard]] SendAwaiter : detail::CrossWaiter {
   public:
    SendAwaiter(CrossChannel& ch, T&& v) noexcept : ch_(&ch), value_(std::move(v)) {}
    SendAwaiter(SendAwaiter&&) noexcept = default;

    bool await_ready() {
      switch (ch_->ring_.try_push(value_)) {
        case detail::RingPush::ok:
          ch_->after_push();
          return true;
        case detail::RingPush::closed:
          ec = std::make_error_code(std::errc::broken_pipe);
          return true;
        case detail::RingPush::full:
          break;
      }
      return false;
    }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      if (!prepare(h, ch_->mu_)) return false;
      return ch_->park(this, ch_->senders_);
    }
    Result<void> await_resume() noexcept {
      finish();
      return ec;
    }

   private:
    friend class CrossChannel;
    CrossChannel* ch_;
    T value_;
  };

  class [[nodiscard]] RecvAwaiter : detail::CrossWaiter {
   public:
    explicit RecvAwaiter(CrossChannel& ch) noexcept : ch_(&ch) {}
    RecvAwaiter(RecvAwaiter&&) noexcept = default;

    bool await_ready() {
      if (ch_->ring_.try_pop(value_)) {
        ch_->after_pop();
        return true;
      }
      if (ch_->ring_.closed_and_drained()) {
        ec = std::make_error_code(std::errc::broken_pipe);
        return true;
      }
      return false;
    }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      if (!prepare(h, ch_->mu_)) return false;
      return ch_->park(this, ch_->receivers_);
    }
    Result<T> await_resume() {
      finish();
      if (value_) return Result<T>(std::move(*value_));
      return ec;
    }

   private:
    friend class CrossChannel;
    CrossChannel* ch_;
    std::optional<T> value_;
  };

  /// Sends `v`, waiting while the channel is full. broken_pipe once closed. Worker threads only.
  SendAwaiter send(T v) noexcept { return SendAwaiter(*this, std::move(v)); }
  /// Receives the oldest value, waiting while the channel is empty. broken_pipe once closed and
  /// drained. Worker threads only.
  RecvAwaiter recv() noexcept { return RecvAwaiter(*this); }

  /// Sends without waiting, from any thread. Moves from `v` only on success; false when full or
  /// closed.
  [[nodiscard]] bool try_send(T&& v) {
    if (ring_.try_push(v) != detail::RingPush::ok) return false;
    after_push();
    return true;
  }
  [[nodiscard]] bool try_send(const T& v)
    requires std::is_copy_constructible_v<T>
  {
    T copy(v);
    return try_send(std::move(copy));
  }
  /// Receives without waiting, from any thread; nullopt when empty (see closed() to tell the
  /// cases apart).
  [[nodiscard]] std::optional<T> try_recv() {
    std::optional<T> out;
    if (ring_.try_pop(out)) after_pop();
    return out;
  }

  /// Closes the channel (idempotent, any thread): later sends fail, waiting senders get
  /// broken_pipe, receivers drain the buffer and then get broken_pipe.
  void close() {
    ring_.close();
    serve();
  }

  bool closed() const noexcept { return ring_.closed(); }
  /// Values buffered (a snapshot while other threads are active).
  std::size_t size() const noexcept { return ring_.size(); }
  std::size_t capacity() const noexcept { return ring_.capacity(); }
  bool empty() const noexcept { return size() == 0; }
  /// Tasks parked in send() / recv() (snapshots; for tests and monitoring).
  std::size_t waiting_senders() const noexcept { return senders_.count(); }
  std::size_t waiting_receivers() const noexcept { return receivers_.count(); }

 private:
  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0)
      throw std::invalid_argument("kio::CrossChannel: capacity must be at least 1");
    return capacity;
  }

  // A value entered the ring: parked receivers may now be served.
  void after_push() {
    if (receivers_.count() != 0) serve();
  }
  // A slot was freed: parked senders may now be served; after close, the last value taken may
  // leave parked receivers with nothing more to wait for.
  void after_pop() {
    if (senders_.count() != 0 || (receivers_.count() != 0 && ring_.closed())) serve();
  }
  void serve() {
    detail::CrossWakeList later;  // posted once the lock is released
    std::lock_guard lock(mu_);
    serve_locked(nullptr, later);
  }

  // Queues `w` (prepared) and retries on its behalf; true if it must suspend.
  bool park(detail::CrossWaiter* w, detail::CrossWaitQueue& q) {
    detail::CrossWakeList later;
    std::lock_guard lock(mu_);
    q.push_back(w);  // count first, then look at the ring (pairs with after_push/after_pop)
    serve_locked(w, later);
    if (!w->queued()) {
      w->finish();
      return false;
    }
    return true;
  }

  // Hands values between the ring and parked waiters, oldest waiter first, until neither side
  // can progress. `self`: a waiter parking right now (served without posting a resumption).
  void serve_locked(const detail::CrossWaiter* self, detail::CrossWakeList& later) {
    const auto pipe = std::make_error_code(std::errc::broken_pipe);
    for (bool progress = true; progress;) {
      progress = false;
      while (auto* r = static_cast<RecvAwaiter*>(receivers_.front())) {
        if (ring_.try_pop(r->value_)) {
          receivers_.wake(r, {}, self, later);
          progress = true;
        } else {
          if (ring_.closed_and_drained()) receivers_.wake_all(pipe, self, later);
          break;
        }
      }
      while (auto* s = static_cast<SendAwaiter*>(senders_.front())) {
        const detail::RingPush st = ring_.try_push(s->value_);
        if (st == detail::RingPush::ok) {
          senders_.wake(s, {}, self, later);
          progress = true;
        } else {
          if (st == detail::RingPush::closed) senders_.wake_all(pipe, self, later);
          break;
        }
      }
    }
  }

  detail::MpmcRing<T> ring_;
  alignas(64) std::mutex mu_;
  detail::CrossWaitQueue senders_;
  detail::CrossWaitQueue receivers_;
};

}  // namespace kio
