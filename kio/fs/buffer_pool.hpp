// kio::fs::BufferPool — page-aligned buffers registered with one core's ring (io_uring fixed
// buffers), leased out as kio::fs::FixedBuffer for File::read_fixed_at / write_fixed_at.
//
//   auto pool = kio::fs::BufferPool::create({.buffers = 8, .buffer_size = 1 << 20});
//   if (!pool) co_return pool.error();                  // device_or_resource_busy,
//   not_enough_memory kio::Result<kio::fs::FixedBuffer> buf = co_await pool->acquire();   // waits
//   while all are out auto f = co_await kio::fs::File::open("data", O_RDONLY | O_DIRECT); auto n =
//   co_await f->read_fixed_at(*buf, 0);        // DMA straight into the registered pages
//
// Why: O_DIRECT needs aligned memory, and fixed buffers spare the kernel pinning and mapping the
// pages on every operation (they are pinned once, at registration).
// Per-core ownership: a pool belongs to the core that created it (it registers its buffers with
// that core's ring); create, acquire, release and destroy it there. One pool per core: a ring has
// one table of registered buffers, so a second create() on the same core fails with
// device_or_resource_busy. For every core, create one pool in a task on each core (spawn_on /
// submit_to, or a Sharded<std::optional<BufferPool>>).
// Exhaustion: acquire() waits (FIFO) until a lease is returned; nothing is dropped and nothing
// fails for lack of buffers. A released buffer goes straight to the oldest waiter.
// Cancellation: a waiting acquire() observes the ambient token (kio::timeout works on it) and then
// resumes with operation_canceled (timed_out under kio::timeout), holding nothing.
// Lifetime — the buffer rule: **a FixedBuffer handed to the kernel must stay leased until the
// operation's co_await returns** (keep the lease in the frame that awaits the read/write; kio's
// operations only return after the kernel's completion, also when cancelled). The pool's memory
// and its registration live until the pool handle *and* every lease are gone, so a lease may
// outlive its BufferPool object (its buffer is then freed when the lease goes); a pool destroyed
// with acquire() waiters resumes them with bad_file_descriptor.
// Errors: create() reports not_enough_memory when the locked-memory limit is too low for the
// registration (it also logs what to change: `ulimit -l`, systemd LimitMEMLOCK, docker
// --ulimit memlock), device_or_resource_busy for a second pool on one core, invalid_argument
// for zero/oversized buffers (at most 16,384 buffers of at most 1 GiB).
#pragma once

#include <liburing.h>

#include <coroutine>
#include <cstddef>
#include <span>
#include <system_error>
#include <utility>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/result.hpp"
#include "kio/core/task.hpp"

namespace kio::fs {

class BufferPool;
class FixedBuffer;

namespace detail {

struct PoolWaiter {
  PoolWaiter* next = nullptr;
  PoolWaiter* prev = nullptr;
  std::coroutine_handle<> handle;
  int index = -1;
  std::error_code ec;
  bool queued = false;
  CancelRegistration reg;
};

/// Shared by the pool handle and its leases; touched only on the owning core.
struct PoolState {
  kio::detail::Executor* ex = nullptr;
  std::byte* memory = nullptr;
  std::size_t mapped = 0;
  std::size_t buffer_size = 0;
  unsigned count = 0;
  unsigned refs = 1;  // the pool handle + one per lease
  bool closed = false;
  int* free = nullptr;  // stack of free indices
  unsigned nfree = 0;
  PoolWaiter* head = nullptr;  // FIFO of acquire() waiters
  PoolWaiter* tail = nullptr;

  std::byte* buffer(int i) const noexcept {
    return memory + static_cast<std::size_t>(i) * buffer_size;
  }
  void check_core(const char* what) const noexcept;
  void release(int index) noexcept;  // a lease returned (drops its reference)
  void unref() noexcept;
  void push_waiter(PoolWaiter* w) noexcept;
  void remove_waiter(PoolWaiter* w) noexcept;
};

}  // namespace detail

/// A leased registered buffer (move-only). Returns to its pool when destroyed or released.
class FixedBuffer {
 public:
  FixedBuffer() noexcept = default;
  FixedBuffer(FixedBuffer&& o) noexcept
      : pool_(std::exchange(o.pool_, nullptr)), index_(std::exchange(o.index_, -1)) {}
  FixedBuffer& operator=(FixedBuffer&& o) noexcept {
    if (this != &o) {
      release();
      pool_ = std::exchange(o.pool_, nullptr);
      index_ = std::exchange(o.index_, -1);
    }
    return *this;
  }
  FixedBuffer(const FixedBuffer&) = delete;
  FixedBuffer& operator=(const FixedBuffer&) = delete;
  ~FixedBuffer() { release(); }

  explicit operator bool() const noexcept { return pool_ != nullptr; }
  std::byte* data() const noexcept { return pool_ ? pool_->buffer(index_) : nullptr; }
  std::size_t size() const noexcept { return pool_ ? pool_->buffer_size : 0; }
  std::span<std::byte> bytes() const noexcept { return {data(), size()}; }
  /// The registered-buffer index the kernel knows it by (buf_index of READ/WRITE_FIXED).
  int index() const noexcept { return index_; }
  /// Returns the buffer to the pool now (on the owning core). Idempotent.
  void release() noexcept {
    if (pool_) std::exchange(pool_, nullptr)->release(std::exchange(index_, -1));
  }

 private:
  friend class BufferPool;
  friend class AcquireOp;
  /// Adopts a reference to `p` taken by the caller.
  FixedBuffer(detail::PoolState* p, int i) noexcept : pool_(p), index_(i) {}
  detail::PoolState* pool_ = nullptr;
  int index_ = -1;
};

/// co_await pool.acquire() -> Result<FixedBuffer>.
class [[nodiscard]] AcquireOp {
 public:
  explicit AcquireOp(detail::PoolState* s) noexcept : s_(s) {}
  /// Moving is allowed only before the awaiter is awaited.
  AcquireOp(AcquireOp&& o) noexcept : s_(o.s_) {}
  AcquireOp& operator=(AcquireOp&&) = delete;
  ~AcquireOp() {
    // Destroyed while waiting, or after a buffer was handed over but before resuming (runtime
    // teardown destroys suspended frames): give it back.
    if (w_.queued) s_->remove_waiter(&w_);
    if (w_.index >= 0) s_->release(w_.index);
  }

  bool await_ready() noexcept {
    if (!s_ || s_->closed) {
      w_.ec = std::make_error_code(std::errc::bad_file_descriptor);
      return true;
    }
    s_->check_core("kio::fs::BufferPool::acquire");
    if (s_->nfree > 0) {
      w_.index = s_->free[--s_->nfree];
      ++s_->refs;  // the lease's reference
      return true;
    }
    return false;
  }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    w_.handle = h;
    if (!w_.reg.arm(kio::detail::token_of(h), &on_cancel, this)) {
      w_.ec = std::make_error_code(std::errc::operation_canceled);
      return false;
    }
    s_->push_waiter(&w_);
    return true;
  }
  Result<FixedBuffer> await_resume() noexcept {
    if (w_.index < 0) return w_.ec;
    return FixedBuffer(s_, std::exchange(w_.index, -1));
  }

 private:
  static void on_cancel(void* p) noexcept {
    auto* self = static_cast<AcquireOp*>(p);
    self->s_->remove_waiter(&self->w_);
    self->w_.ec = std::make_error_code(std::errc::operation_canceled);
    self->s_->ex->schedule(self->w_.handle);
  }
  detail::PoolState* s_;
  detail::PoolWaiter w_;
};

class BufferPool {
 public:
  struct Options {
    /// Number of buffers (1 ... 16,384).
    unsigned buffers = 16;
    /// Bytes per buffer, rounded up to whole pages (4 KiB ... 1 GiB).
    std::size_t buffer_size = std::size_t{64} * 1024;
  };

  /// Maps and registers the buffers with the calling core's ring. Call on a worker.
  static Result<BufferPool> create(Options o);
  static Result<BufferPool> create() { return create(Options{}); }

  BufferPool(BufferPool&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  BufferPool& operator=(BufferPool&& o) noexcept {
    if (this != &o) {
      close();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;
  ~BufferPool() { close(); }

  /// A free buffer, or wait for one (see "Exhaustion" above).
  AcquireOp acquire() noexcept { return AcquireOp(s_); }
  /// A free buffer now, or resource_unavailable_try_again when all are leased.
  Result<FixedBuffer> try_acquire() noexcept;

  unsigned capacity() const noexcept { return s_ ? s_->count : 0; }
  unsigned available() const noexcept { return s_ ? s_->nfree : 0; }
  std::size_t buffer_size() const noexcept { return s_ ? s_->buffer_size : 0; }

 private:
  explicit BufferPool(detail::PoolState* s) noexcept : s_(s) {}
  void close() noexcept;
  detail::PoolState* s_ = nullptr;
};

}  // namespace kio::fs
