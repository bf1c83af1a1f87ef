// kio::Channel<T> — a bounded FIFO queue between tasks on one core.
//
//   kio::Channel<Request> ch(64);                   // capacity 64; 0 = rendezvous
//   co_await ch.send(Request{...});                 // waits while full; Result<void>
//   while (auto r = co_await ch.recv()) handle(std::move(*r));  // ends with broken_pipe
//   ch.close();                                     // receivers drain what is buffered first
//
// Semantics: values arrive in send order. send() waits while the buffer holds `capacity` values;
// recv() waits while it is empty. With capacity 0 every send waits for a receiver (hand-off).
// Waiting senders and receivers are each served FIFO. close() makes every later send fail, wakes
// waiting senders with broken_pipe (their values are not enqueued and are destroyed with the
// awaiter), and lets receivers drain the buffer; once it is empty recv() returns broken_pipe.
// Runs on / resumes on: the calling core. Woken tasks are pushed on the core's ready queue;
// send/recv/close never resume another task inline.
// Cancellation: a send or recv that has to wait observes the ambient token; when it is cancelled
// the task leaves the queue and gets std::errc::operation_canceled (a cancelled send did not
// enqueue its value). Operations that need not wait complete even if the token is cancelled. A
// waiter that was served before the cancellation keeps its result (a received value is never
// dropped).
// Lifetime: the buffer is allocated once, in the constructor; a wait allocates nothing (its node
// and, for send, the value live in the awaiting frame). The channel must outlive its waits;
// destroying it destroys buffered values and wakes waiters with broken_pipe.
// Threading: per-core, NOT thread-safe. Use one Channel from one core only.
// Errors: send -> Result<void>, recv -> Result<T>; operation_canceled or broken_pipe.
#pragma once

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "kio/core/result.hpp"
#include "kio/sync/detail/wait_list.hpp"

namespace kio {

template <class T>
  requires std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>
class Channel {
 public:
  explicit Channel(std::size_t capacity)
      : cap_(capacity),
        buf_(capacity ? std::make_unique_for_overwrite<Slot[]>(capacity) : nullptr) {}
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel() {
    closed_ = true;
    while (size_ > 0) {
      [[maybe_unused]] T discarded = pop();
    }
    // then the wait lists' destructors wake leftover waiters with broken_pipe
  }

  class [[nodiscard]] SendAwaiter : detail::SyncWaiter {
   public:
    SendAwaiter(Channel& ch, T&& v) noexcept : ch_(&ch), value_(std::move(v)) {}
    SendAwaiter(SendAwaiter&&) noexcept = default;

    bool await_ready() {
      if (ch_->closed_) {
        ec = std::make_error_code(std::errc::broken_pipe);
        return true;
      }
      return ch_->offer(value_);
    }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      return enqueue(h, ch_->senders_);
    }
    Result<void> await_resume() const noexcept { return ec; }

   private:
    friend class Channel;
    Channel* ch_;
    T value_;
  };

  class [[nodiscard]] RecvAwaiter : detail::SyncWaiter {
   public:
    explicit RecvAwaiter(Channel& ch) noexcept : ch_(&ch) {}
    RecvAwaiter(RecvAwaiter&&) noexcept = default;

    bool await_ready() {
      if (ch_->take(value_)) return true;
      if (ch_->closed_) {
        ec = std::make_error_code(std::errc::broken_pipe);
        return true;
      }
      return false;
    }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      return enqueue(h, ch_->receivers_);
    }
    Result<T> await_resume() {
      if (value_) return Result<T>(std::move(*value_));
      return ec;
    }

   private:
    friend class Channel;
    Channel* ch_;
    std::optional<T> value_;
  };

  /// Sends `v`, waiting while the channel is full. broken_pipe once closed.
  SendAwaiter send(T v) noexcept { return SendAwaiter(*this, std::move(v)); }
  /// Receives the oldest value, waiting while the channel is empty. broken_pipe once closed and
  /// drained.
  RecvAwaiter recv() noexcept { return RecvAwaiter(*this); }

  /// Sends without waiting. Moves from `v` only on success; false when full or closed.
  [[nodiscard]] bool try_send(T&& v) {
    if (closed_) return false;
    return offer(v);
  }
  [[nodiscard]] bool try_send(const T& v)
    requires std::is_copy_constructible_v<T>
  {
    T copy(v);
    return try_send(std::move(copy));
  }
  /// Receives without waiting; nullopt when empty (see closed() to tell the cases apart).
  [[nodiscard]] std::optional<T> try_recv() {
    std::optional<T> out;
    take(out);
    return out;
  }

  /// Closes the channel (idempotent): later sends fail, waiting senders get broken_pipe,
  /// receivers drain the buffer and then get broken_pipe.
  void close() {
    if (closed_) return;
    closed_ = true;
    senders_.wake_all(std::make_error_code(std::errc::broken_pipe));
    receivers_.wake_all(std::make_error_code(std::errc::broken_pipe));  // buffer is empty
  }

  bool closed() const noexcept { return closed_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return cap_; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  struct Slot {
    alignas(T) unsigned char bytes[sizeof(T)];
  };
  T* slot(std::size_t i) noexcept { return std::launder(reinterpret_cast<T*>(buf_[i].bytes)); }

  void push(T&& v) noexcept {
    std::size_t i = head_ + size_;
    if (i >= cap_) i -= cap_;
    ::new (static_cast<void*>(buf_[i].bytes)) T(std::move(v));
    ++size_;
  }
  // Moves the oldest value out of the buffer (the caller destroys the returned object).
  T pop() noexcept {
    T* p = slot(head_);
    T v(std::move(*p));
    p->~T();
    if (++head_ == cap_) head_ = 0;
    --size_;
    return v;
  }

  // Delivers `v` to a waiting receiver or into the buffer; false (v untouched) when full.
  // Invariant: receivers wait only while the buffer is empty.
  bool offer(T& v) {
    if (!receivers_.empty()) {
      auto* r = static_cast<RecvAwaiter*>(receivers_.front());
      r->value_.emplace(std::move(v));
      receivers_.wake(r);
      return true;
    }
    if (size_ < cap_) {
      push(std::move(v));
      return true;
    }
    return false;
  }

  // Takes the oldest value into `out`; false when there is none. A value taken from the buffer
  // makes room for the oldest waiting sender. Invariant: senders wait only while the buffer is
  // full (or, with capacity 0, while no receiver waits).
  bool take(std::optional<T>& out) {
    if (size_ > 0) {
      out.emplace(pop());
      if (!senders_.empty()) {
        auto* s = static_cast<SendAwaiter*>(senders_.front());
        push(std::move(s->value_));
        senders_.wake(s);
      }
      return true;
    }
    if (!senders_.empty()) {  // capacity 0: hand-off
      auto* s = static_cast<SendAwaiter*>(senders_.front());
      out.emplace(std::move(s->value_));
      senders_.wake(s);
      return true;
    }
    return false;
  }

  detail::WaitList senders_;
  detail::WaitList receivers_;
  std::size_t cap_;
  std::unique_ptr<Slot[]> buf_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  bool closed_ = false;
};

}  // namespace kio
