// ConnRegistry — the live HTTP connections of one core, for graceful stop.
//
// Each connection registers an intrusive node for its lifetime. While it waits for a new request
// with nothing buffered it publishes a CancelSource in `idle`; stop() cancels exactly those waits
// (in-flight requests finish and get "Connection: close"), and drained() resumes once the last
// connection has unregistered.
// Threading: one registry per core, used only on that core.
// Lifetime: nodes live in connection frames and unregister before the frame ends; the registry
// must outlive every registered node.
#pragma once

#include <coroutine>
#include <cstddef>
#include <utility>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/core/task.hpp"

namespace kio::http::detail {

struct ConnNode {
  ConnNode* prev = nullptr;
  ConnNode* next = nullptr;
  CancelSource* idle = nullptr;  // set while waiting, idle, for the next request
};

class ConnRegistry {
 public:
  ConnRegistry() = default;
  ConnRegistry(const ConnRegistry&) = delete;
  ConnRegistry& operator=(const ConnRegistry&) = delete;

  void add(ConnNode* n) noexcept {
    n->prev = nullptr;
    n->next = head_;
    if (head_) head_->prev = n;
    head_ = n;
    ++size_;
  }
  void remove(ConnNode* n) noexcept {
    if (n->prev)
      n->prev->next = n->next;
    else
      head_ = n->next;
    if (n->next) n->next->prev = n->prev;
    n->prev = n->next = nullptr;
    if (--size_ == 0 && waiter_) {
      ex_->schedule(waiter_);
      waiter_ = {};
    }
  }
  std::size_t size() const noexcept { return size_; }
  bool stopping() const noexcept { return stopping_; }

  /// Starts a graceful stop: idle connections are cancelled, busy ones close after their
  /// current response. Idempotent.
  void stop() noexcept {
    stopping_ = true;
    for (ConnNode* n = head_; n; n = n->next)
      if (n->idle) n->idle->request_cancel();
  }

  /// Awaitable: resumes when no connection is registered (at once if none is), or when the
  /// ambient token is cancelled (then connections may remain; the caller checks size()). One
  /// waiter at a time.
  class [[nodiscard]] Drained {
   public:
    explicit Drained(ConnRegistry& r) noexcept : r_(r) {}
    Drained(Drained&& o) noexcept : r_(o.r_) {}  // only before it is awaited
    bool await_ready() const noexcept { return r_.size_ == 0; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
      if (!reg_.arm(kio::detail::token_of(h), &on_cancel, this)) return false;
      r_.ex_ = &kio::detail::this_executor("kio::http drained");
      r_.waiter_ = h;
      return true;
    }
    void await_resume() noexcept { reg_.disarm(); }

   private:
    static void on_cancel(void* self) noexcept {
      ConnRegistry& r = static_cast<Drained*>(self)->r_;
      if (r.waiter_) r.ex_->schedule(std::exchange(r.waiter_, {}));
    }
    ConnRegistry& r_;
    CancelRegistration reg_;
  };
  Drained drained() noexcept { return Drained{*this}; }

 private:
  ConnNode* head_ = nullptr;
  std::size_t size_ = 0;
  bool stopping_ = false;
  kio::detail::Executor* ex_ = nullptr;
  std::coroutine_handle<> waiter_{};
};

}  // namespace kio::http::detail
