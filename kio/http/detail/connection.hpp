// Connection<Stream> — serves HTTP/1.1 on one connected stream: receive, parse, dispatch, send.
//
// Per receive batch: every complete request in the received bytes is parsed in place and
// dispatched in order (sync handlers inline, async ones awaited one after another); all their
// responses are serialised into one output buffer (bodies over 2 KiB are referenced, not copied)
// and leave together: in ONE send when they are one contiguous buffer (a stream with a single-shot
// `send(span<const byte>)` -> Result<size_t>, like TcpStream; the rest of a short send follows
// with send_all), otherwise in ONE vectored send_all. Only then is the unfinished tail of the
// batch (a request cut by the end of the buffer) copied into the per-connection carry buffer, and
// the receive buffer released: request views, and responses borrowing them (echo), stay valid
// until the send is done.
//
// Stream requirements (kio::net::TcpStream satisfies them; tests use an in-memory fake):
//   co_await s.recv()                -> Result<B>; B owns a received buffer (a lease), has
//                                       data() (char* or std::byte*, writable) and size();
//                                       size() == 0 or an error means the peer is gone
//   co_await s.send_all(span<iovec>) -> Result<void>: everything sent, or an error
//   s.shutdown_write()               -> Result<void> (FIN after the last response)
//   co_await s.close()               -> anything
//   s.input_pending()  (optional)    -> bool: received bytes are waiting (see "Closing races")
//   s.peer_gone()      (optional)    -> bool: the peer reset or closed, nothing left to read
//   co_await s.readable() (optional) -> Result<void>: recv() would return at once (the idle wait
//                                       then holds no buffer; without it, run() awaits recv())
// Timeouts: the header section must be complete within header_timeout of its first byte
// (slowloris), each body read within body_timeout and the whole request within request_timeout
// of its first byte (slow bodies), an idle keep-alive connection lives idle_timeout, a send may
// take send_timeout. A request cut short by a timeout gets 408.
// Waits carry no per-wait timer or coroutine frame: serve() runs under the connection's own
// CancelSource, and one lazily re-armed WaitTimer cancels it when a wait's deadline passes.
// Errors: a parse error gets its status (400/413/414/431/501/505/417) and "Connection: close";
// a handler exception gets 500 and close. After such a response, and after "Connection: close",
// the connection is closed cleanly: flush, FIN, read and discard for up to linger_timeout, close.
// Graceful stop (ConnRegistry::stop): an idle connection closes at once; a busy one answers every
// request it has received in full (the one at hand and complete pipelined ones after it in the
// bytes already read), the last with "Connection: close", and closes.
// Closing races: the peer may send its next request just as the idle deadline or a stop ends
// the idle wait (a reverse proxy reusing a pooled connection). A busy core sees the deadline and
// the bytes in one loop pass, with the bytes still unread; a request sent on a connection that
// was open is served (under a stop: answered with close), never dropped. The wait is then
// resumed in a fresh wait scope (`Ending::more`). What remains is the peer sending after the
// close, which HTTP/1.1 leaves to the client (it sees a close before any response and may
// retry): docs/reliability.md, "Behind a real reverse proxy".
// Runs on: the core that accepted the connection. Cancellation: the ambient token (runtime
// shutdown) ends every wait; the connection then closes without answering.
// Memory: an idle connection (waiting for a request with nothing buffered) holds no parser, no
// output, no receive buffer and no serve() frame (run() awaits the idle wait itself, under its
// own token switched to the wait scope, with s.readable() when the stream has it; serve() runs
// only while bytes are in hand): its per-request state (ConnWork) comes from the core's pool when
// bytes arrive and goes back when the connection goes idle, its buffers shrunk to a small bound
// (a burst of pipelined requests leaves nothing behind). While busy, the carry buffer holds at
// most one unfinished request, which the parser's limits bound.
// Fixed responses (a Router route to a constant Response) are copied from their once-serialised
// head (serialize.hpp: FixedResponse).
// File bodies (Response::body_file) are the one exception to the single send: a batch holding one
// goes out through send_with_files (file_send.hpp), the only place that knows about files.
// Lifetime: the stream, router, options and registry must outlive run().
#pragma once

#include <sys/uio.h>

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/await_traits.hpp"
#include "kio/core/detail/idle_trim.hpp"
#include "kio/core/detail/own_token.hpp"
#include "kio/core/result.hpp"
#include "kio/core/task.hpp"
#include "kio/core/timeout.hpp"
#include "kio/core/with_cancel.hpp"
#include "kio/http/detail/conn_registry.hpp"
#include "kio/http/detail/date.hpp"
#include "kio/http/detail/file_send.hpp"
#include "kio/http/detail/out_buffer.hpp"
#include "kio/http/detail/serialize.hpp"
#include "kio/http/detail/wait_timer.hpp"
#include "kio/http/http_metrics.hpp"
#include "kio/http/parser.hpp"
#include "kio/http/response.hpp"
#include "kio/http/router.hpp"
#include "kio/http/server_options.hpp"

namespace kio::http::detail {

/// The received-buffer type of a stream: what `co_await s.recv()` holds on success.
template <class S>
using recv_buffer_t =
    typename kio::detail::await_result_t<decltype(std::declval<S&>().recv())>::value_type;

template <class S>
concept HttpStream = requires(S& s, std::span<const iovec> iov) {
  s.recv();
  s.send_all(iov);
  { s.shutdown_write() } -> std::same_as<Result<void>>;
  s.close();
  requires requires(recv_buffer_t<S>& b) {
    b.data();
    { b.size() } -> std::convertible_to<std::size_t>;
  };
};

/// Bodies up to this size are copied into the output buffer; larger ones are sent in place.
inline constexpr std::size_t inline_body_limit = 2048;
/// iovecs per sendmsg (IOV_MAX).
inline constexpr std::size_t max_iov = 1024;
/// What a connection's per-request state keeps of its buffers when it goes back to the pool:
/// output capacity up to this, carry capacity up to carry_keep_capacity, vectors up to
/// vector_keep_entries entries. Larger buffers (a burst of pipelined requests, a big upload) are
/// freed, so a connection that once was busy holds no more than any other once idle.
inline constexpr std::size_t out_keep_capacity = std::size_t{8} * 1024;
inline constexpr std::size_t carry_keep_capacity = std::size_t{4} * 1024;
inline constexpr std::size_t vector_keep_entries = 32;
/// Per-request states a core keeps for reuse; more busy connections than this at once allocate.
inline constexpr std::size_t work_pool_limit = 4096;

/// The state of a connection that is busy with a request: the parser (with the request and its
/// header array, ~2.5 KiB), the output of the current batch and the carried bytes of an
/// unfinished request. An idle connection holds none of it: it is taken from the core's pool when
/// bytes arrive and given back, its buffers shrunk (see above), when the connection waits for a
/// new request with nothing pending. So idle keep-alive connections cost a few hundred bytes each
/// and the pool holds about as many states as connections were busy at once.
struct ConnWork {
  struct Segment {
    std::size_t out_end;  // out bytes before this body
    std::size_t held;     // index into held; npos: `body` is stable by itself (fixed responses)
    std::string_view body;
  };
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  explicit ConnWork(const Limits& l) noexcept : parser(l) {}
  OutBuffer out;               // serialised response heads and small bodies
  std::vector<Segment> segs;   // large bodies, in order
  std::vector<Response> held;  // responses whose bodies are sent in place
  std::vector<iovec> iov;
  std::vector<char> carry;  // an unfinished request's bytes, when one straddles receives
  std::string_view date;    // the Date line of the batch at hand (date.hpp)
  kio::detail::Clock::time_point head_deadline{};     // of the request the carry holds
  kio::detail::Clock::time_point request_deadline{};  // of the request the carry holds
  bool continue_sent = false;
  ConnWork* next_free = nullptr;
  RequestParser parser;  // last: the header array
};

/// One core's reusable ConnWork objects. Threading: thread-local (a connection never leaves its
/// core); freed when the core has been idle for RuntimeOptions::idle_trim (an idle-trim hook) and
/// when the thread exits.
class WorkPool {
 public:
  WorkPool() noexcept {
    hook_.release = [](void* self) noexcept { return static_cast<WorkPool*>(self)->release(); };
    hook_.ctx = this;
    kio::detail::add_idle_trim_hook(hook_);
  }
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;
  ~WorkPool() {
    kio::detail::remove_idle_trim_hook(hook_);
    release();
  }
  /// Frees every cached state; returns about how many bytes that gave back.
  std::size_t release() noexcept {
    const std::size_t n = count_ * sizeof(ConnWork) + kept_buffer_bytes();
    while (free_)
      delete std::exchange(free_, free_->next_free);
    count_ = 0;
    return n;
  }
  ConnWork* take(const Limits& limits) {
    if (ConnWork* w = free_) {
      free_ = w->next_free;
      --count_;
      w->parser.set_limits(limits);
      return w;
    }
    return new ConnWork(limits);
  }
  /// Whatever state `w` is in (a connection may end mid-request), it goes back fresh.
  void give_back(ConnWork* w) noexcept {
    w->parser.reset();
    w->out.clear_and_shrink(out_keep_capacity);
    w->carry.clear();
    w->segs.clear();
    w->held.clear();
    if (w->carry.capacity() > carry_keep_capacity) std::vector<char>().swap(w->carry);
    if (w->segs.capacity() > vector_keep_entries) decltype(w->segs)().swap(w->segs);
    if (w->held.capacity() > vector_keep_entries) decltype(w->held)().swap(w->held);
    if (w->iov.capacity() > vector_keep_entries) decltype(w->iov)().swap(w->iov);
    w->continue_sent = false;
    w->date = {};
    if (count_ >= work_pool_limit) {
      delete w;
      return;
    }
    w->next_free = free_;
    free_ = w;
    ++count_;
  }
  std::size_t cached() const noexcept { return count_; }
  /// Heap bytes the cached states keep in their buffers (tests, memory checks).
  std::size_t kept_buffer_bytes() const noexcept {
    std::size_t n = 0;
    for (const ConnWork* w = free_; w; w = w->next_free)
      n += w->out.capacity() + w->carry.capacity() + w->segs.capacity() * sizeof(w->segs[0]) +
           w->held.capacity() * sizeof(Response) + w->iov.capacity() * sizeof(iovec);
    return n;
  }

 private:
  ConnWork* free_ = nullptr;
  std::size_t count_ = 0;
  kio::detail::IdleTrimHook hook_;
};

inline WorkPool& work_pool() noexcept {
  static thread_local WorkPool pool;
  return pool;
}

template <class Stream>
  requires HttpStream<Stream>
class Connection {
 public:
  Connection(Stream& stream, const Router& router, const ServerOptions& opts, ConnRegistry& reg)
      : stream_(stream), router_(router), opts_(opts), registry_(reg) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (work_) release_work();
    if (registered_) registry_.remove(&node_);
  }

  /// Serves until the peer leaves, an error or timeout, `Connection: close`, or a stop. Never
  /// throws; closes the stream before returning.
  Task<void> run();

  /// The connection holds per-request state (it is busy, or between the receives of a request).
  bool busy() const noexcept { return work_ != nullptr; }

 private:
  using Clock = kio::detail::Clock;
  using Buffer = recv_buffer_t<Stream>;
  using Segment = ConnWork::Segment;

  /// Now, for deadlines: the loop turn's clock reading (Executor::turn_time). A connection runs
  /// on a worker (its WaitTimer needs the executor too).
  static Clock::time_point turn_time() noexcept {
    return kio::detail::this_executor("kio::http connection").turn_time();
  }

  /// How serve() ended, and what run() still owes the peer.
  enum class Ending : unsigned char {
    close,       // peer gone, I/O error, idle timeout, stop while idle: just close
    linger,      // a final response went out: half-close, drain, close
    answer_408,  // a request timed out half-way: answer 408, then linger
    more,        // a deadline or stop ended a wait just as bytes arrived: serve on, fresh scope
    idle,        // (serve() only) nothing pending: run() waits for the next request
  };

  /// One receive batch being parsed and answered.
  struct Batch {
    std::span<char> data;            // the received bytes (or the carry, grown by them)
    std::size_t off = 0;             // where the next request starts
    std::size_t consumed = 0;        // the size of the request an async handler is due for
    const Handler* async = nullptr;  // set by process(): await this handler next
    bool close = false;              // the connection closes after this batch
  };

  static std::span<char> chars(Buffer& b) noexcept {
    return {reinterpret_cast<char*>(b.data()), static_cast<std::size_t>(b.size())};
  }

  void take_work() { work_ = work_pool().take(opts_.limits); }
  void release_work() noexcept { work_pool().give_back(std::exchange(work_, nullptr)); }

  /// Answers `first` (received while idle; nullptr: go on with the request the carry holds) and
  /// what follows it until the connection is idle again or must end.
  /// (`ready`: nothing received yet, but the stream is readable; receive that as `first`.)
  Task<Ending> serve(Buffer* first, bool ready = false);
  /// The idle wait failed: the next request arrived as the deadline or a stop hit (serve it in
  /// a fresh scope), or the connection is done.
  Ending idle_wait_ended(const CancelSource& waits) {
    if (!waits.cancelled() || outer_.cancelled() || !input_pending()) return Ending::close;
    input_waiting_ = true;
    return Ending::more;
  }
  /// What run() still owes the peer after `ending` (Ending::more counts as close), then close.
  Task<void> finish(Ending ending);
  bool process(Batch& b);
  Task<void> run_async(Batch& b);
  void finish_request(Batch& b, std::size_t consumed) noexcept {
    b.off += consumed;
    work_->parser.reset();
    work_->continue_sent = false;
  }
  bool dispatch_sync(Request& req, const Router::Match& m);
  bool append_fixed(const Request& req, const FixedResponse& f);
  bool append_response(const Request& req, Response&& resp, std::string_view extra = {});
  void append_error(Status s);
  /// Fills iov from out (from byte `skip` on: those were sent), segs and held (right before
  /// sending).
  void build_iov(std::size_t skip = 0);
  void clear_output() noexcept;
  Task<Result<void>> send_rest(std::size_t done);
  Task<Result<void>> send_output();
  Task<Result<void>> send_files() {
    ConnWork& w = *work_;
    return send_with_files(stream_, w.out.view(), w.segs, w.held, w.iov, opts_.file_send, files_);
  }
  Task<void> linger_close();
  /// Under a stop: whether `rest` (the batch after the request at hand) starts with another
  /// complete request, which is then answered too (so the one at hand keeps the connection).
  bool complete_request_follows(std::span<const char> rest) const;
  /// Keeps the unfinished tail of the batch (from `off`); a request that started in this batch
  /// (`idle` before it, or after a complete one) starts its clocks now.
  void keep_leftover(std::span<char> data, std::size_t off, bool idle);
  bool input_pending() {
    if constexpr (requires { stream_.input_pending(); })
      return stream_.input_pending();
    else
      return false;
  }
  bool peer_gone() {
    if constexpr (requires { stream_.peer_gone(); })
      return stream_.peer_gone();
    else
      return false;
  }

  Stream& stream_;
  const Router& router_;
  const ServerOptions& opts_;
  ConnRegistry& registry_;
  ConnNode node_;
  ConnWork* work_ = nullptr;       // busy only (see ConnWork)
  bool more_follows_ = false;      // under a stop: a complete request follows the one at hand
  bool input_waiting_ = false;     // serve() ended with Ending::more on an idle connection
  bool registered_ = false;        // in registry_ (run() started)
  CancelToken outer_;              // the caller's token (runtime shutdown)
  CancelSource* waits_ = nullptr;  // cancels serve()'s current wait (timer, stop)
  WaitTimer timer_;
  FileSendState files_;
};

template <class Stream>
  requires HttpStream<Stream>
Task<void> Connection<Stream>::run() {
  registry_.add(&node_);  // removed by the destructor (also when a teardown destroys the frames)
  registered_ = true;

  // Waits run under `waits`: the wait timer and a graceful stop cancel it to end a wait. What
  // follows (408, lingering) runs under the outer token again, so only shutdown cancels it.
  // The idle wait is awaited right here, under run()'s own token switched to `waits`: an idle
  // connection holds this frame and no other (serve()'s larger one exists only while a request
  // is received or answered).
  outer_ = co_await this_cancel_token();
  Ending ending;
  do {
    CancelSource waits(outer_);
    waits_ = &waits;
    co_await kio::detail::set_own_token(waits.token());
    do {
      if (work_ && !work_->carry.empty()) {  // a request is half-way (after Ending::more)
        ending = co_await serve(nullptr);
        continue;
      }
      ending = Ending::close;
      if (work_) release_work();  // nothing pending: hold no per-request state meanwhile
      // (A request that arrived as a stop ended the last wait is still served, and so is one
      // already waiting on a connection accepted just before the stop.)
      if (registry_.stopping() && !std::exchange(input_waiting_, false) && !input_pending()) break;
      node_.idle = &waits;
      timer_.arm(turn_time() + opts_.idle_timeout, waits);
      if constexpr (requires { stream_.readable(); }) {
        // Nothing is taken here, so this frame holds no lease or result: serve() receives.
        Result<void> ready = co_await stream_.readable();
        timer_.disarm();
        node_.idle = nullptr;
        if (!ready) {
          ending = idle_wait_ended(waits);
          break;
        }
        ending = co_await serve(nullptr, true);
      } else {
        Result<Buffer> got = co_await stream_.recv();
        timer_.disarm();
        node_.idle = nullptr;
        if (!got || got->size() == 0) {  // an error, or the peer's orderly shutdown
          if (!got) ending = idle_wait_ended(waits);
          break;
        }
        ending = co_await serve(&*got);
      }
    } while (ending == Ending::idle);
    co_await kio::detail::set_own_token(outer_);
    timer_.disarm();
    waits_ = nullptr;
  } while (ending == Ending::more && !outer_.cancelled());
  co_await finish(ending);
  registry_.remove(&node_);  // the connection is gone (and drain() may wake)
  registered_ = false;
}

template <class Stream>
  requires HttpStream<Stream>
Task<void> Connection<Stream>::finish(Ending ending) {
  if (ending == Ending::answer_408) {
    append_error(Status::request_timeout);
    ending = (co_await send_output()) ? Ending::linger : Ending::close;
  }
  if (work_) release_work();  // nothing more is parsed
  if (ending == Ending::linger) co_await linger_close();
  // Under no token: closing must happen even when shutdown already cancelled ours (a close
  // awaited under a cancelled token may not reach the kernel, leaking the socket).
  co_await with_cancel(CancelToken{}, stream_.close());
}

template <class Stream>
  requires HttpStream<Stream>
Task<typename Connection<Stream>::Ending> Connection<Stream>::serve(Buffer* first, bool ready) {
  for (;;) {
    // ---- the first batch came from run()'s idle wait; later ones finish a request half-way
    // (its deadline: 408). Nothing pending any more: idle again, back to run().
    const bool idle = first != nullptr || ready;
    Result<Buffer> got{std::error_code{}};  // holds the lease until the batch is sent
    if (first) {
      got = std::move(*std::exchange(first, nullptr));
    } else {
      if (!ready) {  // (ready: readable() said the receive returns at once; no deadline)
        if (work_ == nullptr || work_->carry.empty()) co_return Ending::idle;
        // In the middle of a request: see TcpStream::peer_gone() (a reset arriving with the
        // bytes just received may not end the receive; without this the request timeout would).
        if (peer_gone()) co_return Ending::close;
        if (work_->parser.head_complete())
          timer_.arm(std::min(turn_time() + opts_.body_timeout, work_->request_deadline), *waits_);
        else
          timer_.arm(std::min(work_->head_deadline, work_->request_deadline), *waits_);
      }
      got = co_await stream_.recv();
      if (!std::exchange(ready, false)) {
        timer_.disarm();
        if (!got) co_return timer_.expired() ? Ending::answer_408 : Ending::close;
      }
      if (!got || got->size() == 0) co_return Ending::close;  // an error, or end of stream
    }
    // ---- parse and dispatch every complete request of the batch
    if (!work_) take_work();
    Batch b;
    b.data = chars(*got);
    if (!idle) {
      work_->carry.insert(work_->carry.end(), b.data.begin(), b.data.end());
      b.data = std::span<char>(work_->carry);
    }
    work_->date = date_cache().line();
    while (process(b))
      co_await run_async(b);

    // ---- one send for the whole batch, then keep the unfinished tail
    if (waits_->cancelled()) [[unlikely]] {
      // The bytes arrived just as a deadline or a stop cancelled the wait: answer what was
      // received (outside `waits`, which can no longer wait), keep what is unfinished and go
      // on in a fresh scope (the request deadlines still hold; a stop closes once idle).
      if (outer_.cancelled()) co_return Ending::close;
      if (!work_->out.empty() && !co_await with_cancel(outer_, send_output()))
        co_return Ending::close;
      if (b.close) co_return Ending::linger;
      keep_leftover(b.data, b.off, idle);
      co_return Ending::more;
    }
    if (!work_->out.empty()) {
      timer_.arm(turn_time() + opts_.send_timeout, *waits_);
      Result<void> sent;
      std::size_t done = 0;  // bytes of out sent by the fast path
      if constexpr (requires { stream_.send(std::span<const std::byte>()); }) {
        // The common batch is one contiguous buffer: one send awaited right here, without the
        // coroutine frame of send_all; whatever the kernel did not take goes through send_rest.
        if (work_->segs.empty()) {
          Result<std::size_t> n = co_await stream_.send(
              std::as_bytes(std::span<const char>(work_->out.data(), work_->out.size())));
          if (n)
            done = *n;
          else
            sent = n.error();
        }
      }
      if (sent && (files_.pending || done < work_->out.size() || !work_->segs.empty()))
        sent = co_await send_rest(done);
      timer_.disarm();
      clear_output();
      if (!sent) co_return Ending::close;
    }
    if (b.close) co_return Ending::linger;
    keep_leftover(b.data, b.off, idle);
  }
}

/// Parses and answers the batch's requests in order until it is used up, the connection must
/// close, or an async handler is due (returns true; the caller awaits run_async and calls again).
template <class Stream>
  requires HttpStream<Stream>
bool Connection<Stream>::process(Batch& b) {
  RequestParser& parser = work_->parser;
  while (b.off < b.data.size() && !b.close) {
    ParseResult r = parser.parse(b.data.subspan(b.off));
    if (r.state == ParseState::incomplete) {
      if (parser.head_complete() && parser.request().expect_continue && !work_->continue_sent) {
        work_->out.append("HTTP/1.1 100 Continue\r\n\r\n");
        count_response(Status::continue_);  // metrics
        work_->continue_sent = true;
      }
      break;
    }
    if (r.state == ParseState::error) {
      count_parse_error(r.status);  // metrics
      append_error(r.status);
      b.close = true;
      break;
    }
    Request& req = parser.request();
    Router::Match m = router_.match(req);
    if (m.status == Status::ok && m.handler->is_async()) {
      b.async = m.handler;
      b.consumed = r.consumed;
      return true;
    }
    if (registry_.stopping()) [[unlikely]]
      more_follows_ = complete_request_follows(b.data.subspan(b.off + r.consumed));
    b.close = !dispatch_sync(req, m);
    finish_request(b, r.consumed);
  }
  return false;
}

/// Awaits the async handler process() found, answers it and finishes its request.
template <class Stream>
  requires HttpStream<Stream>
Task<void> Connection<Stream>::run_async(Batch& b) {
  Request& req = work_->parser.request();
  Response resp;
  bool failed = false;
  try {
    resp = co_await std::exchange(b.async, nullptr)->call_async(req);
  } catch (...) {
    failed = true;
  }
  if (failed) {
    append_error(Status::internal_server_error);
    b.close = true;
  } else {
    if (registry_.stopping()) [[unlikely]]  // (the stop may have come during the await)
      more_follows_ = complete_request_follows(b.data.subspan(b.off + b.consumed));
    b.close = !append_response(req, std::move(resp));
  }
  finish_request(b, b.consumed);
}

/// What is left of the batch after the fast path's send: files, segments, a short send.
template <class Stream>
  requires HttpStream<Stream>
Task<Result<void>> Connection<Stream>::send_rest(std::size_t done) {
  if (files_.pending) [[unlikely]]
    co_return co_await send_files();  // a file body in the batch (segs is not empty)
  build_iov(done);
  Result<void> sent;
  std::vector<iovec>& iov = work_->iov;
  for (std::size_t at = 0; at < iov.size() && sent; at += max_iov)
    sent = co_await stream_.send_all(
        std::span<const iovec>(iov.data() + at, std::min(max_iov, iov.size() - at)));
  co_return sent;
}

/// Runs a synchronous handler (or answers 404/405); false when the connection must close.
template <class Stream>
  requires HttpStream<Stream>
bool Connection<Stream>::dispatch_sync(Request& req, const Router::Match& m) {
  if (m.status == Status::ok) {
    if (const FixedResponse* f = m.handler->fixed()) return append_fixed(req, *f);
    try {
      return append_response(req, m.handler->call(req));
    } catch (...) {
      append_error(Status::internal_server_error);
      return false;
    }
  }
  Response resp(m.status);
  resp.text_body(std::string(reason_phrase(m.status)));
  if (m.status != Status::method_not_allowed) return append_response(req, std::move(resp));
  std::string allow = "Allow: ";
  allow.append(m.allow);
  allow.append("\r\n");
  return append_response(req, std::move(resp), allow);
}

/// A fixed response: its head was serialised once; the usual case copies it around the Date.
template <class Stream>
  requires HttpStream<Stream>
bool Connection<Stream>::append_fixed(const Request& req, const FixedResponse& f) {
  const bool keep =
      req.keep_alive && !f.response.closes_connection() && (!registry_.stopping() || more_follows_);
  if (!keep || req.version_minor == 0 || req.method == Method::head) [[unlikely]]
    return append_response(req, Response(f.response));
  count_response(f.response.status());  // metrics
  ConnWork& w = *work_;
  const bool inline_body = f.body.size() <= inline_body_limit;
  const std::size_t head = f.before_date.size() + w.date.size() + f.after_date.size();
  char* p = w.out.extend(head + (inline_body ? f.body.size() : 0));
  std::memcpy(p, f.before_date.data(), f.before_date.size());
  p += f.before_date.size();
  std::memcpy(p, w.date.data(), w.date.size());
  p += w.date.size();
  std::memcpy(p, f.after_date.data(), f.after_date.size());
  p += f.after_date.size();
  if (inline_body) {
    if (!f.body.empty()) std::memcpy(p, f.body.data(), f.body.size());
  } else {
    w.segs.push_back(Segment{w.out.size(), ConnWork::npos, f.body});  // lives in the router
  }
  return true;
}

/// Serialises `resp` for `req`; returns whether the connection stays open afterwards.
template <class Stream>
  requires HttpStream<Stream>
bool Connection<Stream>::append_response(const Request& req, Response&& resp,
                                         std::string_view extra) {
  ConnWork& w = *work_;
  count_response(resp.status());  // metrics
  bool keep =
      req.keep_alive && !resp.closes_connection() && (!registry_.stopping() || more_follows_);
  bool has_body = status_allows_body(resp.status());
  HeadOptions ho;
  ho.keep_alive = keep;
  ho.http10 = req.version_minor == 0;
  ho.date_line = work_->date;
  ho.extra_lines = extra;
  if (resp.has_file_body()) [[unlikely]] {
    const std::uint64_t length = resp.file_body().length();
    append_head(w.out, resp, has_body ? length : 0, ho);
    if (has_body && req.method != Method::head && length > 0) {
      w.segs.push_back(Segment{w.out.size(), w.held.size(), {}});
      w.held.push_back(std::move(resp));
      files_.pending = true;
    }
    return keep;
  }
  std::string_view body = resp.body();
  append_head(w.out, resp, has_body ? body.size() : 0, ho);
  if (has_body && req.method != Method::head && !body.empty()) {
    if (body.size() <= inline_body_limit) {
      w.out.append(body);
    } else {
      w.segs.push_back(Segment{w.out.size(), w.held.size(), {}});
      w.held.push_back(std::move(resp));
    }
  }
  return keep;
}

template <class Stream>
  requires HttpStream<Stream>
void Connection<Stream>::append_error(Status s) {
  count_response(s);  // metrics
  Response resp(s);
  resp.text_body(std::string(reason_phrase(s)) + "\n");
  HeadOptions ho;
  ho.keep_alive = false;
  ho.date_line = work_->date.empty() ? date_cache().line() : work_->date;
  append_head(work_->out, resp, resp.body().size(), ho);
  work_->out.append(resp.body());
}

template <class Stream>
  requires HttpStream<Stream>
void Connection<Stream>::build_iov(std::size_t skip) {
  ConnWork& w = *work_;
  w.iov.clear();
  std::size_t prev = skip;  // (skip > 0 only when there are no segments)
  for (const Segment& s : w.segs) {
    if (s.out_end > prev) w.iov.push_back(iovec{w.out.data() + prev, s.out_end - prev});
    std::string_view b = s.held == ConnWork::npos ? s.body : w.held[s.held].body();
    w.iov.push_back(iovec{const_cast<char*>(b.data()), b.size()});
    prev = s.out_end;
  }
  if (w.out.size() > prev) w.iov.push_back(iovec{w.out.data() + prev, w.out.size() - prev});
}

template <class Stream>
  requires HttpStream<Stream>
void Connection<Stream>::clear_output() noexcept {
  ConnWork& w = *work_;
  w.out.clear();
  w.segs.clear();
  w.held.clear();
  files_.pending = false;
}

/// Sends what is queued, bounded by send_timeout (outside serve(): the 408 path).
template <class Stream>
  requires HttpStream<Stream>
Task<Result<void>> Connection<Stream>::send_output() {
  Result<void> r;
  if (files_.pending) [[unlikely]] {
    r = co_await kio::timeout(opts_.send_timeout, send_files());
    clear_output();
    co_return r;
  }
  build_iov();
  std::vector<iovec>& iov = work_->iov;
  for (std::size_t at = 0; at < iov.size() && r; at += max_iov) {
    std::span<const iovec> part(iov.data() + at, std::min(max_iov, iov.size() - at));
    r = co_await kio::timeout(opts_.send_timeout, stream_.send_all(part));
  }
  clear_output();
  co_return r;
}

/// Half-closes, then reads and drops whatever the client still sends (bounded by time), so the
/// kernel does not answer unread data with a reset that could destroy our last response.
template <class Stream>
  requires HttpStream<Stream>
Task<void> Connection<Stream>::linger_close() {
  if (!stream_.shutdown_write()) co_return;
  auto deadline = Clock::now() + opts_.linger_timeout;
  for (;;) {
    auto now = Clock::now();
    if (now >= deadline) break;
    Result<Buffer> got = co_await kio::timeout(deadline - now, stream_.recv());
    if (!got || got->size() == 0) break;
  }
}

template <class Stream>
  requires HttpStream<Stream>
bool Connection<Stream>::complete_request_follows(std::span<const char> rest) const {
  if (rest.empty()) return false;
  // A copy: the parser decodes a chunked body in place, and these bytes are parsed again for real.
  std::vector<char> copy(rest.begin(), rest.end());
  RequestParser probe(opts_.limits);
  return probe.parse(std::span<char>(copy)).state == ParseState::complete;
}

/// Keeps the unfinished tail of the batch (from `off`) in the carry buffer. The carry never
/// holds more than one request's bytes: a request is bounded by the parser's limits (header
/// section, body, chunked framing), so it cannot grow without bound either.
template <class Stream>
  requires HttpStream<Stream>
void Connection<Stream>::keep_leftover(std::span<char> data, std::size_t off, bool idle) {
  if (off < data.size() && (idle || off > 0)) {
    const Clock::time_point first_byte = turn_time();
    work_->head_deadline = first_byte + opts_.header_timeout;
    work_->request_deadline = first_byte + opts_.request_timeout;
  }
  std::vector<char>& carry = work_->carry;
  if (data.data() == carry.data()) {
    carry.erase(carry.begin(), carry.begin() + static_cast<std::ptrdiff_t>(off));
  } else {
    carry.assign(data.begin() + static_cast<std::ptrdiff_t>(off), data.end());
  }
}

}  // namespace kio::http::detail
