// kio::CancelSource / kio::CancelToken — cooperative cancellation for one core.
//
// A CancelSource owns a cancellation state; tokens are cheap, copyable views of it. Every kio task
// carries an *ambient* token inherited from the task that awaits it (a spawned task gets its core's
// shutdown token). kio awaitables — I/O, sleeps, sync-primitive waits — read the ambient token of
// the awaiting task and, when it is cancelled, end their wait with `std::errc::operation_canceled`.
// For I/O this means an IORING_OP_ASYNC_CANCEL is issued and the waiter resumes only after the
// kernel's completion for the operation has arrived, so buffers stay valid until then.
//
//   kio::CancelSource src;                                   // usually via timeout/when_any
//   auto r = co_await kio::with_cancel(src.token(), kio::read(fd, buf));
//
// Threading: per-core and not thread-safe. A source, its tokens and its registrations must be used
// on one core. To cancel work on another core, send a message to it (kio::submit_to).
// Lifetime: a token must not outlive its source. Structured use guarantees this: a source lives in
// a frame that outlives every child awaiting with its token.
#pragma once

#include <utility>

namespace kio {

class CancelSource;
class CancelRegistration;

namespace detail {
struct CancelState {
  bool cancelled = false;
  CancelRegistration* head = nullptr;
};
}  // namespace detail

/// A view of a CancelSource's state, or of nothing (never cancelled).
class CancelToken {
 public:
  CancelToken() = default;
  bool can_be_cancelled() const noexcept { return state_ != nullptr; }
  bool cancelled() const noexcept { return state_ && state_->cancelled; }
  friend bool operator==(CancelToken, CancelToken) = default;

 private:
  friend class CancelSource;
  friend class CancelRegistration;
  explicit CancelToken(detail::CancelState* s) : state_(s) {}
  detail::CancelState* state_ = nullptr;
};

/// A callback registered on a token; invoked at most once, on the cancelling core, inside
/// `CancelSource::request_cancel()`. Intrusive: lives inside the awaiter that registers it.
class CancelRegistration {
 public:
  using Fn = void (*)(void* ctx) noexcept;

  CancelRegistration() = default;
  CancelRegistration(const CancelRegistration&) = delete;
  CancelRegistration& operator=(const CancelRegistration&) = delete;
  ~CancelRegistration() { disarm(); }

  /// Registers `fn(ctx)`. Returns false, without registering, if the token is already cancelled.
  bool arm(CancelToken t, Fn fn, void* ctx) noexcept {
    if (!t.state_) return true;
    if (t.state_->cancelled) return false;
    state_ = t.state_;
    fn_ = fn;
    ctx_ = ctx;
    prev_ = nullptr;
    next_ = state_->head;
    if (next_) next_->prev_ = this;
    state_->head = this;
    return true;
  }

  /// Unregisters; harmless when not registered or after the callback ran.
  void disarm() noexcept {
    if (!state_) return;
    if (prev_)
      prev_->next_ = next_;
    else
      state_->head = next_;
    if (next_) next_->prev_ = prev_;
    state_ = nullptr;
  }

  bool armed() const noexcept { return state_ != nullptr; }

 private:
  friend class CancelSource;
  detail::CancelState* state_ = nullptr;  // the rest is written by arm(), read only while armed
  CancelRegistration* prev_;
  CancelRegistration* next_;
  Fn fn_;
  void* ctx_;
};

/// Owns a cancellation state. Not movable: tokens point into it. Optionally linked to a parent
/// token, so cancelling the parent cancels this source too.
class CancelSource {
 public:
  CancelSource() = default;
  explicit CancelSource(CancelToken parent) {
    if (!link_.arm(parent, &on_parent, this)) state_.cancelled = true;
  }
  CancelSource(const CancelSource&) = delete;
  CancelSource& operator=(const CancelSource&) = delete;
  ~CancelSource() = default;  // link_ unregisters itself

  CancelToken token() noexcept { return CancelToken(&state_); }
  bool cancelled() const noexcept { return state_.cancelled; }

  /// Marks the state cancelled and runs every registered callback once. Idempotent.
  void request_cancel() noexcept {
    if (state_.cancelled) return;
    state_.cancelled = true;
    link_.disarm();
    while (CancelRegistration* r = state_.head) {
      state_.head = r->next_;
      if (state_.head) state_.head->prev_ = nullptr;
      r->state_ = nullptr;
      r->fn_(r->ctx_);
    }
  }

 private:
  static void on_parent(void* self) noexcept { static_cast<CancelSource*>(self)->request_cancel(); }
  detail::CancelState state_;
  CancelRegistration link_;
};

}  // namespace kio
