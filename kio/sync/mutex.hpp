// kio::Mutex / kio::MutexLock — mutual exclusion between tasks on one core, FIFO hand-off.
//
//   kio::Mutex m;
//   auto lock = co_await m.lock();                 // Result<MutexLock>
//   if (!lock) co_return;                          // cancelled while waiting
//   co_await write_record(...);                    // exclusive across suspension points
//   // ~MutexLock unlocks (or lock->unlock() earlier)
//
// Why a mutex on one core: tasks interleave at every co_await, so a multi-step update that
// suspends in the middle needs one.
// Fairness: unlock() hands ownership directly to the oldest waiter (the mutex never appears free
// in between), so no task can barge ahead of a queued one.
// Runs on / resumes on: the calling core. The new owner is pushed on the core's ready queue;
// unlock() never resumes it inline.
// Cancellation: a waiting lock() observes the ambient token; when it is cancelled the waiter
// leaves the queue and lock() returns std::errc::operation_canceled. A free mutex is taken at
// once even if the token is cancelled (so cleanup code can still lock). A waiter granted
// ownership before the cancellation owns the mutex.
// Lifetime: the waiter node lives in the awaiting frame; no allocation per wait. The mutex must
// outlive every MutexLock and wait; destroying it with waiters queued wakes them with
// broken_pipe.
// Threading: per-core, NOT thread-safe. A MutexLock may be moved between tasks of the same core.
// Errors: Result<MutexLock>; operation_canceled or broken_pipe.
#pragma once

#include <cassert>
#include <coroutine>
#include <optional>
#include <utility>

#include "kio/core/result.hpp"
#include "kio/sync/semaphore.hpp"

namespace kio {

class Mutex;

/// Owns a locked Mutex and unlocks it when destroyed. Move-only.
class [[nodiscard]] MutexLock {
 public:
  MutexLock() noexcept = default;
  /// Takes over a mutex the caller has already locked.
  MutexLock(Mutex& m, std::adopt_lock_t) noexcept : m_(&m) {}
  MutexLock(MutexLock&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  MutexLock& operator=(MutexLock&& o) noexcept {
    if (this != &o) {
      unlock();
      m_ = std::exchange(o.m_, nullptr);
    }
    return *this;
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  ~MutexLock() { unlock(); }

  /// Unlocks now (idempotent).
  inline void unlock();
  bool owns_lock() const noexcept { return m_ != nullptr; }
  explicit operator bool() const noexcept { return owns_lock(); }
  Mutex* mutex() const noexcept { return m_; }
  /// Gives up ownership without unlocking.
  Mutex* release() noexcept { return std::exchange(m_, nullptr); }

 private:
  Mutex* m_ = nullptr;
};

class Mutex {
 public:
  Mutex() noexcept = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  class [[nodiscard]] LockAwaiter {
   public:
    explicit LockAwaiter(Mutex& m) noexcept : m_(&m), inner_(m.sem_.acquire()) {}
    LockAwaiter(LockAwaiter&&) noexcept = default;

    bool await_ready() noexcept { return inner_.await_ready(); }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      return inner_.await_suspend(h);
    }
    Result<MutexLock> await_resume() const noexcept {
      if (Result<void> r = inner_.await_resume(); !r) return r.error();
      return MutexLock(*m_, std::adopt_lock);
    }

   private:
    Mutex* m_;
    Semaphore::AcquireAwaiter inner_;
  };

  /// Locks the mutex, waiting (FIFO) while another task holds it.
  LockAwaiter lock() noexcept { return LockAwaiter(*this); }

  /// Locks the mutex if it is free and nobody is queued; the caller then owns it.
  [[nodiscard]] std::optional<MutexLock> try_lock() noexcept {
    if (!sem_.try_acquire()) return std::nullopt;
    return MutexLock(*this, std::adopt_lock);
  }

  /// Unlocks; ownership passes to the oldest waiter if there is one. Only the owner may call it
  /// (MutexLock does).
  void unlock() {
    assert(locked() && "kio::Mutex::unlock of an unlocked mutex");
    sem_.release();
  }

  bool locked() const noexcept { return sem_.available() == 0; }
  /// Number of tasks currently suspended in lock().
  std::size_t waiters() const noexcept { return sem_.waiters(); }

 private:
  Semaphore sem_{1};
};

inline void MutexLock::unlock() {
  if (m_) std::exchange(m_, nullptr)->unlock();
}

}  // namespace kio
