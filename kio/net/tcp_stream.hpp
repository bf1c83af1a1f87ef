// kio::net::TcpStream — a connected TCP socket on the calling core.
//
//   auto s = co_await kio::net::TcpStream::connect(*kio::net::Address::parse("127.0.0.1:8080"));
//   if (!s) co_return;                                      // connection_refused, timed_out...
//   co_await s->send_all(std::as_bytes(std::span(request)));
//   for (;;) {
//     auto buf = co_await s->recv();                        // lease from the core's buffer ring
//     if (!buf || buf->empty()) break;                      // error or EOF
//     handle(buf->view());
//   }
//
// Receiving. recv() returns a RecvBuffer leased from the core's provided-buffer ring, filled by a
// multishot receive armed on first use and kept armed while data flows (no SQE per receive, no
// buffer held while the connection is idle). recv(span) copies into a caller buffer: a plain
// single-shot receive when no multishot receive is armed, otherwise it takes the already received
// bytes first (order is always preserved). Both report end of stream as "empty" (an empty lease,
// or 0 bytes) and errors as error codes (connection_reset, ...). One receiver at a time per
// stream; sending and receiving may run concurrently in two tasks.
// Sending. send() is one send (may be partial); send_all() sends everything (MSG_WAITALL: the
// kernel retries partial sends; kio loops on what remains) — the iovec overload sends a batch of
// buffers with one sendmsg. Payloads of at least zerocopy_threshold() bytes go out with
// IORING_OP_SEND_ZC (see zerocopy.hpp), except to peers on this host. SIGPIPE is never raised
// (MSG_NOSIGNAL): a closed peer is broken_pipe.
// Runs on / resumes on: the core that created the stream (connect, accept or adopt); a stream
// never moves to another core.
// Cancellation: every awaitable observes the ambient token (kio::timeout works on all of them).
// A cancelled recv() keeps the multishot receive armed: bytes that arrive later are returned by
// the next receive, never lost. After a cancelled or failed send_all the number of bytes sent is
// unknown: close the connection.
// Lifetime: TcpStream is a move-only handle (moving is always allowed). The stream must outlive
// every operation awaited on it, except that a task suspended in recv() or recv(span) on a
// stream another task destroys or closes resumes at once with bad_file_descriptor (a receive
// still in the kernel is cancelled, so the socket really closes and the peer sees FIN).
// Destroying or closing a stream with a multishot receive armed cancels it; the receive state
// is released when the kernel's final CQE arrives.
// Destroy a stream on its core and before its runtime stops (the runtime destroys frames, with
// the streams in them, at teardown).
// Errors: std::error_code (generic category, see core/error.hpp): connection_reset,
// broken_pipe, connection_refused, timed_out, operation_canceled, ...; never exceptions.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <coroutine>
#include <cstddef>
#include <span>
#include <string_view>
#include <utility>

#include "kio/core/result.hpp"
#include "kio/core/task.hpp"
#include "kio/io/op.hpp"
#include "kio/net/address.hpp"
#include "kio/net/detail/core_net.hpp"
#include "kio/net/detail/stream_state.hpp"
#include "kio/net/net_metrics.hpp"
#include "kio/net/options.hpp"
#include "kio/net/recv_buffer.hpp"
#include "kio/net/zerocopy.hpp"

namespace kio::net {

/// co_await stream.recv() -> Result<RecvBuffer> (empty buffer at end of stream).
class [[nodiscard]] RecvAwaiter {
 public:
  explicit RecvAwaiter(detail::StreamState* s) noexcept : s_(s) {}
  /// Moving is allowed only before the awaiter is awaited.
  RecvAwaiter(RecvAwaiter&& o) noexcept : s_(o.s_) {}
  RecvAwaiter& operator=(RecvAwaiter&&) = delete;
  ~RecvAwaiter() {
    if (w_.state && w_.state->waiter == &w_) w_.state->waiter = nullptr;
  }

  bool await_ready() noexcept;
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    return suspend(h, kio::detail::token_of(h));
  }
  Result<RecvBuffer> await_resume() noexcept;
  /// How the wait ended, without taking the received bytes (ReadableAwaiter's result).
  std::error_code wait_result() noexcept;

 private:
  bool suspend(std::coroutine_handle<> h, CancelToken token) noexcept;
  static void on_cancel(void* self) noexcept;
  detail::StreamState* s_;
  detail::RecvWaiter w_;
  std::error_code ec_ = kio::detail::no_error;
};

/// co_await stream.readable() -> Result<void>: received bytes, end of stream or a receive error
/// are waiting (the next recv() returns at once and reports which); nothing is taken. Errors:
/// operation_canceled, bad_file_descriptor (the stream is closed), a receive-buffer setup error.
/// Same rules as RecvAwaiter (it is one, that stops short of taking the lease).
class [[nodiscard]] ReadableAwaiter {
 public:
  explicit ReadableAwaiter(detail::StreamState* s) noexcept : r_(s) {}
  /// Moving is allowed only before the awaiter is awaited.
  ReadableAwaiter(ReadableAwaiter&& o) noexcept : r_(std::move(o.r_)) {}
  ReadableAwaiter& operator=(ReadableAwaiter&&) = delete;

  bool await_ready() noexcept { return r_.await_ready(); }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    return r_.await_suspend(h);
  }
  Result<void> await_resume() noexcept {
    if (std::error_code ec = r_.wait_result()) return ec;
    return {};
  }

 private:
  RecvAwaiter r_;
};

/// co_await stream.recv(buf) -> Result<std::size_t> (0 at end of stream).
class [[nodiscard]] RecvIntoAwaiter : kio::detail::IoOpBase {
 public:
  RecvIntoAwaiter(detail::StreamState* s, std::span<std::byte> buf) noexcept : s_(s), buf_(buf) {}
  /// Moving is allowed only before the awaiter is awaited.
  RecvIntoAwaiter(RecvIntoAwaiter&& o) noexcept : IoOpBase(), s_(o.s_), buf_(o.buf_) {}
  RecvIntoAwaiter& operator=(RecvIntoAwaiter&&) = delete;
  ~RecvIntoAwaiter() {
    if (w_.state && w_.state->waiter == &w_) w_.state->waiter = nullptr;
    // Destroyed suspended (runtime teardown) while the stream lives on: unhook the direct recv.
    if (mode_ == Mode::direct && !d_.closed && s_ && s_->direct == &d_) s_->direct = nullptr;
  }

  bool await_ready() noexcept;
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    if (mode_ == Mode::direct) {
      d_.op = this;
      s_->direct = &d_;
      auto prep = [this](io_uring_sqe* sqe) {
        io_uring_prep_recv(sqe, s_->fd, buf_.data(), kio::detail::io_length(buf_.size()), 0);
      };
      start(h, prep);
      return true;
    }
    return suspend(h, kio::detail::token_of(h));
  }
  Result<std::size_t> await_resume() noexcept;

 private:
  enum class Mode : unsigned char { ready, direct, wait };
  bool suspend(std::coroutine_handle<> h, CancelToken token) noexcept;
  static void on_cancel(void* self) noexcept;
  detail::StreamState* s_;
  std::span<std::byte> buf_;
  detail::RecvWaiter w_;
  detail::DirectRecv d_;
  std::error_code ec_ = kio::detail::no_error;
  Mode mode_ = Mode::ready;
};

namespace detail {
/// map_size that also counts the bytes sent (NetMetrics::bytes_sent).
inline Result<std::size_t> map_sent(int res, unsigned flags) noexcept {
  if (res > 0) net_counters().bytes_sent += static_cast<std::uint64_t>(res);
  return map_size(res, flags);
}
}  // namespace detail

class TcpStream {
 public:
  TcpStream() noexcept = default;
  TcpStream(TcpStream&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  TcpStream& operator=(TcpStream&& o) noexcept {
    if (this != &o) {
      reset();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;
  ~TcpStream() { reset(); }

  /// Connects to `addr` from the calling core. Bound it with kio::timeout.
  static Task<Result<TcpStream>> connect(Address addr, ConnectOptions opts = {});
  /// Takes ownership of a connected TCP socket; the stream belongs to the calling core.
  static TcpStream adopt(int fd);

  bool is_open() const noexcept { return s_ != nullptr; }
  explicit operator bool() const noexcept { return s_ != nullptr; }
  /// The socket (-1 when closed). Do not close it yourself.
  int fd() const noexcept { return s_ ? s_->fd : -1; }

  /// The next received bytes as a lease on a ring buffer; empty at end of stream.
  RecvAwaiter recv() noexcept { return RecvAwaiter(s_); }
  /// Waits until recv() would return at once (bytes, end of stream or an error), taking nothing:
  /// a task can wait for input without holding a buffer or the frame that would process it.
  ReadableAwaiter readable() noexcept { return ReadableAwaiter(s_); }
  /// Receives into `buf`: the byte count, 0 at end of stream.
  RecvIntoAwaiter recv(std::span<std::byte> buf) noexcept { return RecvIntoAwaiter(s_, buf); }

  /// One send: the number of bytes the kernel took (may be fewer than data.size()).
  auto send(std::span<const std::byte> data) const noexcept {
    const int fd = this->fd();
    return make_io_op(
        [fd, data](io_uring_sqe* sqe) {
          io_uring_prep_send(sqe, fd, data.data(), kio::detail::io_length(data.size()),
                             MSG_NOSIGNAL);
        },
        detail::map_sent);
  }
  /// Sends all of `data` (zero copy above zerocopy_threshold() to remote peers).
  Task<Result<void>> send_all(std::span<const std::byte> data);
  Task<Result<void>> send_all(std::string_view text) {
    return send_all(std::as_bytes(std::span(text.data(), text.size())));
  }
  /// Sends every buffer of `iov`, in order, with as few sendmsg calls as possible (one unless
  /// the kernel takes less or there are more than IOV_MAX buffers). A single buffer goes out
  /// like send_all(span<const std::byte>): a plain send, which costs the kernel less than a
  /// sendmsg (no msghdr or iovec to import). `iov` and the memory it points to must stay valid
  /// until the co_await returns.
  Task<Result<void>> send_all(std::span<const iovec> iov);
  /// One zero-copy send (see zerocopy.hpp).
  SendZcOp send_zc(std::span<const std::byte> data) const noexcept { return SendZcOp(fd(), data); }

  /// Whether received bytes are waiting: queued by the multishot receive, or still in the
  /// socket (one non-blocking recv(MSG_PEEK) when none is queued). End of stream and errors are
  /// not input. For "close this idle connection, or serve what just arrived?" decisions.
  bool input_pending() const noexcept;
  /// Whether the peer is known to have ended the connection (reset, or end of stream) with no
  /// received byte waiting: what the multishot receive reported, else one non-blocking
  /// recv(MSG_PEEK). For a task about to wait for the rest of a message: the kernel can miss the
  /// wake-up of a reset or FIN that arrives together with the data the multishot receive just
  /// returned (both pending when its completion runs, and the receive that consumed the data
  /// does not look again), which would leave the wait to its timeout.
  bool peer_gone() const noexcept;
  /// shutdown(SHUT_WR): the peer reads end of stream; receiving continues.
  Result<void> shutdown_write() noexcept;
  /// Cancels an armed receive and closes the socket with IORING_OP_CLOSE. The stream is empty
  /// afterwards (also when the co_await reports an error). Destroying a stream closes it too,
  /// synchronously.
  Task<Result<void>> close();

  Result<Address> peer_address() const noexcept;
  Result<Address> local_address() const noexcept;
  Result<void> set_nodelay(bool on) noexcept;
  Result<void> set_keepalive(bool on) noexcept;
  /// SO_SNDBUF / SO_RCVBUF. Prefer ConnectOptions for the receive buffer: shrinking it on an
  /// established connection can stall the peer (see options.hpp).
  Result<void> set_send_buffer_size(int bytes) noexcept;
  Result<void> set_recv_buffer_size(int bytes) noexcept;
  /// send_all payloads of at least `bytes` use zero copy; SIZE_MAX turns it off. Peers on this
  /// host are excluded (the kernel copies for them anyway) unless `include_local_peers`.
  void set_zerocopy_threshold(std::size_t bytes, bool include_local_peers = false) noexcept {
    if (s_) {
      s_->zerocopy_threshold = bytes;
      s_->zerocopy_local = include_local_peers;
    }
  }
  std::size_t zerocopy_threshold() const noexcept { return s_ ? s_->zerocopy_threshold : 0; }

 private:
  explicit TcpStream(detail::StreamState* s) noexcept : s_(s) {}
  void reset() noexcept;
  static Task<Result<void>> close_impl(TcpStream self);
  detail::StreamState* s_ = nullptr;
};

}  // namespace kio::net
