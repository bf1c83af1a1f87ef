// ListenerState — the part of a TcpListener the kernel may reference: the long-lived Completion
// of its multishot accept, the queue of accepted sockets, the waiting accept() calls and the
// back-off timer used after EMFILE/ENFILE.
//
// Lifetime rule: like StreamState, the state outlives its TcpListener while a multishot accept
// is armed: closing the listener closes the queued sockets, fails the waiters, closes the
// listening socket, cancels the accept, and frees the state on the final CQE (sockets accepted
// in between are closed at once). Handlers never re-arm once the executor is stopping.
// Accepting: armed by the first accept() and kept armed; sockets nobody asked for yet are queued
// (preallocated, `accept_queue` entries). A full queue pauses accepting (cancel) until half of it
// was taken; the kernel's backlog holds new connections meanwhile.
// Errors: EMFILE/ENFILE/ENOBUFS/ENOMEM (out of descriptors or memory): logged once per listener,
// accepting pauses for `backoff` (doubling up to `max_backoff`) and resumes; waiters keep
// waiting. Per-connection errors (ECONNABORTED, ...) are skipped. Any other error (the socket is
// not listening, ...) is reported to every accept() from then on.
// Threading: one core.
#pragma once

#include <chrono>
#include <coroutine>
#include <system_error>
#include <vector>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/net/options.hpp"

namespace kio::net::detail {

class ListenerState;

/// One pending accept(); lives in the awaiter.
struct AcceptWaiter {
  AcceptWaiter* prev = nullptr;
  AcceptWaiter* next = nullptr;
  std::coroutine_handle<> handle{};
  CancelRegistration reg;
  ListenerState* state = nullptr;  // set while linked
  int fd = -1;                     // the accepted socket handed to this waiter
  std::error_code ec;
};

class ListenerState : public kio::detail::Completion, public kio::detail::TimerNode {
 public:
  ListenerState(kio::detail::Executor& ex, int fd, const ListenOptions& opts);

  kio::detail::Executor& ex;
  int fd;
  ListenOptions opts;
  std::error_code fatal;  // sticky: reported to every accept()
  bool started = false;   // accept() was called once: keep accepting
  bool armed = false;
  bool cancel_sent = false;
  bool orphaned = false;
  bool backing_off = false;
  bool logged_exhaustion = false;
  std::chrono::milliseconds next_backoff;
  unsigned exhaustion_count = 0;

  // accepted sockets nobody asked for yet (ring buffer; grows only past the pause threshold)
  std::size_t pending() const noexcept { return count_; }
  int pop() noexcept;

  void link(AcceptWaiter* w) noexcept;
  void unlink(AcceptWaiter* w) noexcept;

  /// Arms the multishot accept if it should run.
  void maybe_arm() noexcept;
  /// The TcpListener lets go: close everything, free now or on the final CQE.
  void detach() noexcept;

 private:
  static void on_accept(kio::detail::Completion* c, int res, unsigned flags) noexcept;
  static void on_timer(kio::detail::TimerNode* n) noexcept;
  void deliver(int fd) noexcept;
  void push(int fd);
  void fail_waiters(std::error_code ec) noexcept;
  void on_exhausted(int err) noexcept;

  std::vector<int> ring_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  AcceptWaiter* first_ = nullptr;
  AcceptWaiter* last_ = nullptr;
};

}  // namespace kio::net::detail
