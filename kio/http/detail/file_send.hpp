// Sending a batch of responses in which some bodies are file regions (Response::body_file).
//
// The connection (connection.hpp) calls send_with_files() instead of its usual vectored send when
// a batch holds a file body; nothing else in the connection knows about files. The batch goes out
// in order: the memory parts before a file body (heads, small bodies) with one sendmsg carrying
// MSG_MORE, so that the head and the first file bytes share segments; then the file region, by
// ServerOptions::file_send:
// * sendfile: sendfile(2) on the worker thread, the socket switched to O_NONBLOCK once per
//   connection (io_uring's own socket operations do not depend on the flag); when the socket is
//   full, a POLLOUT poll on the ring waits for room. A page-cache miss waits for the disk. The
//   worker thread blocks SIGPIPE the first time (sendfile has no MSG_NOSIGNAL).
// * splice: IORING_OP_SPLICE file -> pipe, then pipe -> socket, through a pipe taken from the
//   core's pool and returned empty (a pipe left holding data — error, cancellation, a client gone
//   mid-file — is closed instead, never reused).
// Streams without an fd (the tests' in-memory fakes) get the region read into memory and sent.
// Runs on: the connection's core. Cancellation: the ambient token (the connection's send
// deadline, shutdown) ends a poll or splice through the ring; the result is then
// operation_canceled and the connection closes. Lifetime: `out`, `segs` and `held` must stay
// untouched until the co_await returns; the file descriptors belong to the responses.
// Errors: the first failing operation's error; a file that shrank below the announced length is
// io_error (the connection must close: its Content-Length cannot be kept).
#pragma once

#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include "kio/core/result.hpp"
#include "kio/core/task.hpp"
#include "kio/http/response.hpp"
#include "kio/http/server_options.hpp"
#include "kio/io/op.hpp"

namespace kio::http::detail {

/// Per-connection state of the file path.
struct FileSendState {
  bool pending = false;      // the batch being built holds a file body
  bool nonblocking = false;  // the socket already has O_NONBLOCK (sendfile mode)
};

/// A pipe for splicing, from the calling core's pool.
struct SplicePipe {
  int r = -1, w = -1;
  std::size_t capacity = 0;
};

/// The calling thread's (core's) pipes: taken one per transfer, returned empty, created on
/// demand; at most `keep` idle pipes are kept.
class PipePool {
 public:
  static constexpr std::size_t keep = 32;
  static PipePool& this_core() noexcept {
    static thread_local PipePool pool;
    return pool;
  }
  PipePool() = default;
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;
  ~PipePool() {
    for (SplicePipe& p : idle_)
      close_pipe(p);
  }
  Result<SplicePipe> take() {
    if (!idle_.empty()) {
      SplicePipe p = idle_.back();
      idle_.pop_back();
      return p;
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return kio::errno_code(-errno);
    SplicePipe p{fds[0], fds[1], 0};
    // Larger pipes mean fewer splices per file; the default (64 KiB) when the kernel refuses.
    (void)::fcntl(p.w, F_SETPIPE_SZ, 1 << 20);
    const int cap = ::fcntl(p.w, F_GETPIPE_SZ);
    p.capacity = cap > 0 ? static_cast<std::size_t>(cap) : 65536;
    ++created_;
    return p;
  }
  /// `empty`: the pipe holds no data and may be reused; otherwise it is closed.
  void give_back(SplicePipe p, bool empty) noexcept {
    if (empty && idle_.size() < keep) {
      try {
        idle_.push_back(p);
        return;
      } catch (...) {
      }
    }
    close_pipe(p);
  }
  std::size_t idle() const noexcept { return idle_.size(); }
  std::uint64_t created() const noexcept { return created_; }

 private:
  static void close_pipe(SplicePipe& p) noexcept {
    ::close(p.r);
    ::close(p.w);
  }
  std::vector<SplicePipe> idle_;
  std::uint64_t created_ = 0;
};

inline std::error_code last_errno() noexcept {
  return kio::errno_code(-errno);
}

inline auto poll_out(int fd) noexcept {
  return make_io_op([fd](io_uring_sqe* s) { io_uring_prep_poll_add(s, fd, POLLOUT); }, map_int);
}

inline auto splice_op(int in, std::int64_t in_off, int out, std::size_t len, unsigned flags) {
  return make_io_op(
      [=](io_uring_sqe* s) {
        io_uring_prep_splice(s, in, in_off, out, -1, static_cast<unsigned>(len), flags);
      },
      map_size);
}

/// Sends every byte of `iov` (advanced in place) with sendmsg on the ring; `more` adds MSG_MORE.
inline Task<Result<void>> send_iov(int sock, std::vector<iovec>& iov, bool more) {
  std::size_t first = 0;
  while (first < iov.size()) {
    msghdr msg{};
    msg.msg_iov = iov.data() + first;
    msg.msg_iovlen = std::min<std::size_t>(iov.size() - first, 1024);
    const unsigned flags = MSG_NOSIGNAL | MSG_WAITALL | (more ? MSG_MORE : 0);
    Result<std::size_t> n = co_await make_io_op(
        [sock, &msg, flags](io_uring_sqe* s) { io_uring_prep_sendmsg(s, sock, &msg, flags); },
        map_size);
    if (!n) co_return n.error();
    std::size_t left = *n;
    while (first < iov.size() && left >= iov[first].iov_len)
      left -= iov[first++].iov_len;
    if (left > 0) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  iov.clear();
  co_return Result<void>{};
}

/// sendfile(2) has no MSG_NOSIGNAL: a peer gone raises SIGPIPE at the calling thread. Workers
/// that send files block SIGPIPE (once per thread), and a SIGPIPE left pending by a failed
/// sendfile is consumed right away, so the process never sees it.
inline void block_sigpipe_once() noexcept {
  static thread_local bool blocked = false;
  if (blocked) return;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  blocked = true;
}
inline void consume_sigpipe() noexcept {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  const timespec zero{0, 0};
  while (sigtimedwait(&set, nullptr, &zero) == SIGPIPE) {
  }
}

inline Task<Result<void>> sendfile_region(int sock, const FileBody& f, FileSendState& st) {
  block_sigpipe_once();
  if (!st.nonblocking) {
    const int fl = ::fcntl(sock, F_GETFL);
    if (fl < 0 || ::fcntl(sock, F_SETFL, fl | O_NONBLOCK) != 0) co_return last_errno();
    st.nonblocking = true;
  }
  off_t off = static_cast<off_t>(f.offset());
  std::uint64_t left = f.length();
  while (left > 0) {
    const ssize_t n = ::sendfile(sock, f.fd(), &off,
                                 static_cast<std::size_t>(std::min<std::uint64_t>(left, 1u << 30)));
    if (n > 0) {
      left -= static_cast<std::uint64_t>(n);
      continue;
    }
    if (n == 0) co_return std::errc::io_error;  // the file ends before the announced length
    if (errno == EINTR) continue;
    if (errno == EPIPE) {
      consume_sigpipe();
      co_return std::errc::broken_pipe;
    }
    if (errno != EAGAIN) co_return last_errno();
    Result<int> ready = co_await poll_out(sock);
    if (!ready) co_return ready.error();
  }
  co_return Result<void>{};
}

inline Task<Result<void>> splice_region(int sock, const FileBody& f) {
  PipePool& pool = PipePool::this_core();
  Result<SplicePipe> taken = pool.take();
  if (!taken) co_return taken.error();
  SplicePipe p = *taken;
  std::uint64_t off = f.offset();
  std::uint64_t left = f.length();
  std::size_t in_pipe = 0;
  Result<void> r;
  while (left > 0 && r) {
    const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(left, p.capacity));
    Result<std::size_t> got =
        co_await splice_op(f.fd(), static_cast<std::int64_t>(off), p.w, chunk, SPLICE_F_MOVE);
    if (!got) {
      r = got.error();
      break;
    }
    if (*got == 0) {
      r = std::errc::io_error;  // the file ends before the announced length
      break;
    }
    off += *got;
    left -= *got;
    in_pipe = *got;
    while (in_pipe > 0) {
      Result<std::size_t> put = co_await splice_op(p.r, -1, sock, in_pipe,
                                                   SPLICE_F_MOVE | (left > 0 ? SPLICE_F_MORE : 0));
      if (!put || *put == 0) {
        r = put ? std::error_code(std::make_error_code(std::errc::io_error)) : put.error();
        break;
      }
      in_pipe -= *put;
    }
  }
  pool.give_back(p, in_pipe == 0 && r);
  co_return r;
}

/// Sends `out` with the bodies of `segs` (offsets into `out`; indices into `held`, or a body of
/// their own when `held` is npos) in place.
template <class Stream, class Segment>
Task<Result<void>> send_with_files(Stream& stream, std::string_view out,
                                   const std::vector<Segment>& segs,
                                   const std::vector<Response>& held, std::vector<iovec>& iov,
                                   FileSend mode, FileSendState& st) {
  iov.clear();
  std::size_t prev = 0;
  // A local of this frame, awaited only here: it outlives every task it creates.
  // NOLINTNEXTLINE(cppcoreguidelines-avoid-capturing-lambda-coroutines)
  auto flush = [&](bool more) -> Task<Result<void>> {
    if (iov.empty()) co_return Result<void>{};
    if constexpr (requires { stream.fd(); }) {
      co_return co_await send_iov(stream.fd(), iov, more);
    } else {
      Result<void> r = co_await stream.send_all(std::span<const iovec>(iov));
      iov.clear();
      co_return r;
    }
  };
  for (const Segment& s : segs) {
    if (s.out_end > prev)
      iov.push_back(iovec{const_cast<char*>(out.data()) + prev, s.out_end - prev});
    prev = s.out_end;
    if (s.held == static_cast<std::size_t>(-1)) {
      iov.push_back(iovec{const_cast<char*>(s.body.data()), s.body.size()});
      continue;
    }
    const Response& r = held[s.held];
    if (!r.has_file_body()) {
      std::string_view b = r.body();
      iov.push_back(iovec{const_cast<char*>(b.data()), b.size()});
      continue;
    }
    if (Result<void> f = co_await flush(true); !f) co_return f;
    Result<void> sent;
    if constexpr (requires { stream.fd(); }) {
      // (if/else, not ?: — g++ 12 evaluates both arms of a conditional holding co_awaits)
      if (mode == FileSend::splice)
        sent = co_await splice_region(stream.fd(), r.file_body());
      else
        sent = co_await sendfile_region(stream.fd(), r.file_body(), st);
    } else {
      std::string copy(r.file_body().length(), '\0');
      const ssize_t n = ::pread(r.file_body().fd(), copy.data(), copy.size(),
                                static_cast<off_t>(r.file_body().offset()));
      if (n != static_cast<ssize_t>(copy.size())) co_return std::errc::io_error;
      const iovec one{copy.data(), copy.size()};
      sent = co_await stream.send_all(std::span<const iovec>(&one, 1));
    }
    if (!sent) co_return sent;
  }
  if (out.size() > prev)
    iov.push_back(iovec{const_cast<char*>(out.data()) + prev, out.size() - prev});
  co_return co_await flush(false);
}

}  // namespace kio::http::detail
