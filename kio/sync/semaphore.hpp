// kio::Semaphore — a counting semaphore for tasks on one core, strictly FIFO.
//
//   kio::Semaphore slots(4);                       // at most 4 concurrent uploads
//   if (auto r = co_await slots.acquire(); !r) co_return;
//   co_await upload(...);
//   slots.release();
//
// Fairness: strictly first come, first served. While tasks are queued, release() hands the unit
// directly to the oldest waiter (the count does not rise), and acquire()/try_acquire() never take
// a unit ahead of them.
// Runs on / resumes on: the calling core. Woken waiters are pushed on the core's ready queue;
// release() never resumes a waiter inline.
// Cancellation: a waiting acquire() observes the ambient token; when it is cancelled the waiter
// leaves the queue without a unit and acquire() returns std::errc::operation_canceled. A unit that
// is free is taken at once even if the token is cancelled. A waiter that was granted a unit before
// the cancellation keeps it (and must release it).
// Lifetime: the waiter node lives in the awaiting frame; no allocation per wait. The semaphore
// must outlive its waits; destroying it with waiters queued wakes them with broken_pipe.
// Threading: per-core, NOT thread-safe. Use one Semaphore from one core only.
// Errors: Result<void>; operation_canceled or broken_pipe.
#pragma once

#include <coroutine>
#include <cstddef>

#include "kio/core/result.hpp"
#include "kio/sync/detail/wait_list.hpp"

namespace kio {

class Semaphore {
 public:
  explicit Semaphore(std::size_t initial) noexcept : count_(initial) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;
  ~Semaphore() = default;  // waiters_ wakes leftover waiters with broken_pipe

  class [[nodiscard]] AcquireAwaiter : detail::SyncWaiter {
   public:
    explicit AcquireAwaiter(Semaphore& s) noexcept : sem_(&s) {}
    AcquireAwaiter(AcquireAwaiter&&) noexcept = default;

    bool await_ready() noexcept { return sem_->try_acquire(); }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      return enqueue(h, sem_->waiters_);
    }
    Result<void> await_resume() const noexcept { return ec; }

   private:
    Semaphore* sem_;
  };

  /// Takes one unit, waiting (FIFO) while none is free.
  AcquireAwaiter acquire() noexcept { return AcquireAwaiter(*this); }

  /// Takes one unit if one is free and nobody is queued ahead.
  [[nodiscard]] bool try_acquire() noexcept {
    if (count_ == 0 || !waiters_.empty()) return false;
    --count_;
    return true;
  }

  /// Returns `n` units: the oldest waiters get them first, the rest raise the count.
  void release(std::size_t n = 1) {
    while (n > 0 && !waiters_.empty()) {
      waiters_.wake(waiters_.front());
      --n;
    }
    count_ += n;
  }

  /// Units free right now.
  std::size_t available() const noexcept { return count_; }
  /// Number of tasks currently suspended in acquire().
  std::size_t waiters() const noexcept { return waiters_.size(); }

 private:
  detail::WaitList waiters_;
  std::size_t count_;
};

}  // namespace kio
