// BufferRing — one core's provided-buffer ring (IORING_REGISTER_PBUF_RING) for multishot recv.
//
// The ring's entries and the buffers are memory this class mmaps itself (liburing 2.3 has no
// io_uring_setup_buf_ring). The kernel takes a buffer from the ring for each receive completion
// (IORING_CQE_F_BUFFER, buffer id in the CQE flags); `give_back` puts it back at the tail.
// `available()` counts buffers in the ring (exact: every buffer the kernel takes is reported in
// exactly one CQE, and unused picks are recycled by the kernel without a CQE).
// Streams whose multishot receive ended with ENOBUFS wait in an intrusive FIFO (BufferWaiter);
// each buffer given back re-arms the first waiter. A stream only gets ENOBUFS when data is
// waiting in its socket, so the woken stream normally takes that buffer at once; when it cannot
// (EOF, error, closed) the buffer is passed on with kick().
// Per-buffer links (`next`, `length`) let streams queue received buffers without allocating.
// Threading: owned by one worker; registration and unregistration run on that worker's thread
// (the ring is SINGLE_ISSUER). Lifetime: destroyed at the worker's thread exit, after the
// executor drained every operation; the ring must still exist then (it does: executors are
// destroyed after their threads are joined).
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kio/core/result.hpp"
#include "kio/net/options.hpp"

namespace kio::net::detail {

/// Something waiting for a buffer to come back to the ring (intrusive; FIFO).
struct BufferWaiter {
  BufferWaiter* prev_waiter = nullptr;
  BufferWaiter* next_waiter = nullptr;
  bool waiting_for_buffers = false;
  void (*on_buffers)(BufferWaiter*) noexcept = nullptr;
};

class BufferRing {
 public:
  static constexpr std::uint16_t none = 0xffff;

  BufferRing() = default;
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  ~BufferRing();

  /// Maps the memory and registers the ring as buffer group `group` of `ring`.
  Result<void> init(io_uring& ring, const RecvBufferOptions& opts, std::uint16_t group);

  std::uint16_t group() const noexcept { return group_; }
  unsigned size() const noexcept { return entries_; }
  unsigned buffer_size() const noexcept { return buffer_size_; }
  unsigned available() const noexcept { return available_; }
  std::byte* data(std::uint16_t bid) const noexcept {
    return mem_ + static_cast<std::size_t>(bid) * buffer_size_;
  }

  /// Multishot receives that ended with ENOBUFS (the ring was empty) on this ring.
  std::uint64_t exhausted = 0;

  /// A CQE reported that the kernel filled buffer `bid`.
  void taken() noexcept { --available_; }
  /// Returns buffer `bid` to the kernel; wakes the first stream waiting for buffers.
  void give_back(std::uint16_t bid) noexcept {
    io_uring_buf_ring_add(br_, data(bid), buffer_size_, bid, static_cast<int>(mask_), 0);
    io_uring_buf_ring_advance(br_, 1);
    ++available_;
    if (waiters_head_) [[unlikely]]
      wake_one();
  }

  /// Per-buffer queue links, for streams holding received buffers.
  std::uint16_t& next(std::uint16_t bid) noexcept { return next_[bid]; }
  std::uint32_t& length(std::uint16_t bid) noexcept { return length_[bid]; }

  void add_waiter(BufferWaiter* w) noexcept;
  void remove_waiter(BufferWaiter* w) noexcept;
  /// Wakes the first waiter if the ring has a buffer: used when a woken stream turns out not to
  /// need one (it hit EOF or an error, or was closed), so the buffer is not left idle while
  /// others wait.
  void kick() noexcept {
    if (waiters_head_ && available_ > 0) wake_one();
  }

 private:
  void wake_one() noexcept;

  io_uring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  std::size_t ring_bytes_ = 0;
  std::byte* mem_ = nullptr;
  std::size_t mem_bytes_ = 0;
  unsigned entries_ = 0;
  unsigned mask_ = 0;
  unsigned buffer_size_ = 0;
  unsigned available_ = 0;
  std::uint16_t group_ = 0;
  bool registered_ = false;
  std::vector<std::uint16_t> next_;
  std::vector<std::uint32_t> length_;
  BufferWaiter* waiters_head_ = nullptr;
  BufferWaiter* waiters_tail_ = nullptr;
};

}  // namespace kio::net::detail
