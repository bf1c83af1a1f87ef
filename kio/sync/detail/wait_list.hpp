// WaitList / SyncWaiter — the intrusive FIFO of suspended waiters behind every kio/sync primitive.
//
// A SyncWaiter is embedded in an awaiter, i.e. in the frame of the coroutine that waits, so a wait
// allocates nothing. While queued it is linked into its primitive's WaitList and registered on the
// waiter's ambient CancelToken. It leaves the list exactly once, in one of three ways:
//   * granted: the primitive unlinks it, disarms the registration, stores the result and pushes the
//     coroutine on its executor's ready queue (`WaitList::wake`), never resuming it inline;
//   * cancelled: the token's callback unlinks it and schedules it with operation_canceled;
//   * abandoned: the frame is destroyed while suspended (runtime teardown): the destructor unlinks.
// A primitive destroyed with waiters still queued wakes them with broken_pipe (`wake_all`).
//
// Threading: per-core, not thread-safe; waiters, lists and tokens all belong to one core.
#pragma once

#include <cassert>
#include <coroutine>
#include <system_error>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/error.hpp"
#include "kio/core/task.hpp"

namespace kio::detail {

class WaitList;

struct SyncWaiter {
  SyncWaiter() = default;
  /// Awaiters may be moved only before they are awaited; the copy starts unqueued.
  SyncWaiter(SyncWaiter&& o) noexcept : ec(o.ec) { assert(!o.list); }
  SyncWaiter& operator=(SyncWaiter&&) = delete;
  // Runs after every wait: only the check belongs on that path (leaving the list is cold).
  [[gnu::always_inline]] ~SyncWaiter() {
    if (list) [[unlikely]]
      abandon();
  }

  /// Queues the waiter on `l` for coroutine `h`. Returns false (do not suspend) with
  /// operation_canceled in `ec` if `h`'s ambient token is already cancelled.
  template <class P>
  bool enqueue(std::coroutine_handle<P> h, WaitList& l);

  // prev, next, handle and ex are written by enqueue() and read only while queued.
  SyncWaiter* prev;
  SyncWaiter* next;
  WaitList* list = nullptr;  // non-null exactly while queued
  std::coroutine_handle<> handle;
  Executor* ex;
  CancelRegistration reg;
  std::error_code ec = no_error;  // success until a failure is stored (wake(w) leaves it)

 private:
  /// The frame is destroyed while suspended (runtime teardown): leaves the list.
  [[gnu::cold, gnu::noinline]] inline void abandon() noexcept;
  static inline void on_cancel(void* self) noexcept;
};

class WaitList {
 public:
  WaitList() = default;
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;
  /// Waiters still queued are woken with broken_pipe: the primitive they wait on is gone.
  ~WaitList() { wake_all(std::make_error_code(std::errc::broken_pipe)); }

  bool empty() const noexcept { return head_ == nullptr; }
  SyncWaiter* front() const noexcept { return head_; }
  std::size_t size() const noexcept { return size_; }

  void push_back(SyncWaiter* w) noexcept {
    w->list = this;
    w->next = nullptr;
    w->prev = tail_;
    if (tail_)
      tail_->next = w;
    else
      head_ = w;
    tail_ = w;
    ++size_;
  }

  void remove(SyncWaiter* w) noexcept {
    assert(w->list == this);
    if (w->prev)
      w->prev->next = w->next;
    else
      head_ = w->next;
    if (w->next)
      w->next->prev = w->prev;
    else
      tail_ = w->prev;
    w->list = nullptr;
    --size_;
  }

  /// Unlinks `w` and queues its coroutine on its executor; its result stays success.
  void wake(SyncWaiter* w) {
    remove(w);
    w->reg.disarm();
    w->ex->schedule(w->handle);
  }
  /// The same, with `ec` as its result.
  void wake(SyncWaiter* w, std::error_code ec) {
    w->ec = ec;
    wake(w);
  }

  /// Wakes every queued waiter (with `ec` as their result), in FIFO order.
  void wake_all() {
    while (head_)
      wake(head_);
  }
  void wake_all(std::error_code ec) {
    while (head_)
      wake(head_, ec);
  }

 private:
  SyncWaiter* head_ = nullptr;
  SyncWaiter* tail_ = nullptr;
  std::size_t size_ = 0;
};

void SyncWaiter::abandon() noexcept {  // inline by its declaration
  list->remove(this);
}

template <class P>
bool SyncWaiter::enqueue(std::coroutine_handle<P> h, WaitList& l) {
  ex = &this_executor("kio sync-primitive wait");
  handle = h;
  if (!reg.arm(token_of(h), &SyncWaiter::on_cancel, this)) {
    ec = std::make_error_code(std::errc::operation_canceled);
    return false;
  }
  l.push_back(this);
  return true;
}

inline void SyncWaiter::on_cancel(void* self) noexcept {
  auto* w = static_cast<SyncWaiter*>(self);
  // The registration already fired (and is no longer armed); only the list link remains.
  w->list->remove(w);
  w->ec = std::make_error_code(std::errc::operation_canceled);
  w->ex->schedule(w->handle);
}

}  // namespace kio::detail
