// StreamState — the part of a TcpStream the kernel may reference: the long-lived Completion of
// its multishot receive and the queue of buffers that receive filled.
//
// Lifetime rule (the reason this lives apart from TcpStream): the Completion must stay valid
// until the kernel's final CQE (one without IORING_CQE_F_MORE) for every multishot receive
// armed on it. A TcpStream holds a pointer to its state, so the stream itself can move freely.
// When the stream is closed or destroyed while a receive is armed, the state is *orphaned*: the
// socket is closed, an ASYNC_CANCEL is issued, and the state goes back to the core's cache only
// when the final CQE arrives (buffers that arrive meanwhile go straight back to the ring). At
// runtime stop the executor cancels every operation and waits for the final CQEs, so orphans
// never outlive the executor; handlers do not re-arm once the executor is stopping.
//
// Receive model: at most one receiver at a time (RecvWaiter). Data CQEs append (buffer id,
// length) to an intrusive FIFO threaded through the ring's per-buffer links, so the order of
// bytes is the order of CQEs. When a stream holds `max_queued_per_stream` buffers its receive
// is cancelled (pause) and re-armed once the application consumed half of them. ENOBUFS ends a
// multishot receive without taking data from the socket: the stream re-arms at once if the ring
// has buffers again, otherwise it waits in the ring's FIFO until a buffer comes back.
// Threading: one core.
#pragma once

#include <coroutine>
#include <cstdint>
#include <system_error>

#include "kio/core/cancel.hpp"
#include "kio/core/detail/executor.hpp"
#include "kio/net/detail/buffer_ring.hpp"

namespace kio::net::detail {

class CoreNet;
class StreamState;

/// A single-shot recv into a caller buffer (TcpStream::recv(span) with no multishot receive
/// armed); lives in the awaiter. detach() cancels `op` and sets `closed`: the awaiter then
/// returns bad_file_descriptor and never touches the state again.
struct DirectRecv {
  kio::detail::Completion* op = nullptr;
  bool closed = false;
};

/// The one task waiting for received data; lives in the awaiter (the waiting frame).
struct RecvWaiter {
  std::coroutine_handle<> handle{};
  CancelRegistration reg;
  StreamState* state = nullptr;  // cleared if the stream goes away first
  bool canceled = false;
  bool closed = false;
};

class StreamState : public kio::detail::Completion, public BufferWaiter {
 public:
  StreamState(CoreNet& core, int fd) noexcept;
  /// Makes a cached state new again for socket `fd`.
  void reset(int fd) noexcept;

  CoreNet& core;
  kio::detail::Executor& ex;
  int fd;
  BufferRing* ring = nullptr;  // set when the first multishot receive is armed

  // ---- multishot receive
  bool armed = false;            // a receive is in the kernel (final CQE not seen yet)
  bool cancel_sent = false;      // ASYNC_CANCEL issued for the armed receive
  bool orphaned = false;         // the TcpStream is gone: free on the final CQE
  DirectRecv* direct = nullptr;  // a single-shot recv into a caller buffer is in flight
  bool eof = false;
  std::error_code error;  // sticky receive error, reported after the queued data
  std::uint16_t head = BufferRing::none;
  std::uint16_t tail = BufferRing::none;
  std::uint32_t head_offset = 0;  // bytes of the head buffer already consumed
  unsigned queued = 0;
  RecvWaiter* waiter = nullptr;

  // ---- sending
  std::size_t zerocopy_threshold;
  bool zerocopy_local = false;     // also towards peers on this host
  signed char peer_is_local = -1;  // -1 unknown, computed on the first large send

  StreamState* next_free = nullptr;

  bool has_data() const noexcept { return queued != 0 || eof || error; }
  /// Arms (or re-arms) the multishot receive; requires `ring`.
  void arm() noexcept;
  /// Cancels the armed receive (pause or close).
  void cancel() noexcept;
  /// After the application consumed data: re-arm if the queue drained below the low mark.
  void maybe_rearm() noexcept;
  /// Pops the head buffer (id and usable bytes); the caller owns it afterwards.
  std::uint16_t pop(std::uint32_t& offset, std::uint32_t& len) noexcept;
  /// Copies queued bytes into `dst` (several buffers if needed); returns the count.
  std::size_t copy_out(std::byte* dst, std::size_t n) noexcept;
  /// Resumes the waiter (from a CQE handler or a cancel callback).
  void wake() noexcept;
  /// The TcpStream lets go of the state (close or destructor): wakes a waiting receiver and
  /// cancels a direct recv (both then report bad_file_descriptor; a recv still in the kernel
  /// would keep the socket open), cancels an armed multishot receive. Closes fd synchronously
  /// unless `keep_fd`; the fd is returned then (for an async close).
  int detach(bool keep_fd) noexcept;

 private:
  static void on_recv(kio::detail::Completion* c, int res, unsigned flags) noexcept;
  static void on_buffers_back(BufferWaiter* w) noexcept;
  void push(std::uint16_t bid, std::uint32_t len) noexcept;
  void release_queue() noexcept;
  void settle() noexcept;
};

}  // namespace kio::net::detail
