// kio::net::RecvBuffer — a move-only lease on one buffer of this core's receive-buffer ring.
//
//   kio::Result<kio::net::RecvBuffer> buf = co_await stream.recv();
//   if (!buf) co_return;                      // error (connection_reset, ...)
//   if (buf->empty()) co_return;              // peer closed its side (EOF)
//   consume(buf->view());                     // bytes are valid while the lease lives
//                                             // lease dropped -> buffer back to the kernel
//
// What: TcpStream::recv() receives with a multishot recv into buffers the kernel picks from a
// per-core provided-buffer ring, so an idle connection holds no receive memory. The lease
// gives the bytes to the application; dropping it (or release()) returns the buffer to the ring
// at once. Holding many leases starves the core's receives (they pause with ENOBUFS and resume,
// without losing data, once buffers come back): process and drop them promptly, copy what must
// be kept longer.
// The bytes are writable (parse or decode in place).
// Threading / lifetime: a lease belongs to the core that received it and must be dropped there,
// before the runtime stops (never hand it to another core or keep it past block_on).
//
// configure_recv_buffers() sizes the calling core's ring; call it on each core before that core's
// first recv(). recv_buffer_stats() reports the ring's state (tests, monitoring).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include "kio/core/result.hpp"
#include "kio/net/detail/buffer_ring.hpp"
#include "kio/net/options.hpp"

namespace kio::net {

class RecvBuffer {
 public:
  /// An empty lease (what recv() returns at end of stream).
  RecvBuffer() noexcept = default;
  RecvBuffer(RecvBuffer&& o) noexcept
      : ring_(std::exchange(o.ring_, nullptr)),
        data_(o.data_),
        size_(std::exchange(o.size_, 0)),
        bid_(o.bid_) {}
  RecvBuffer& operator=(RecvBuffer&& o) noexcept {
    if (this != &o) {
      release();
      ring_ = std::exchange(o.ring_, nullptr);
      data_ = o.data_;
      size_ = std::exchange(o.size_, 0);
      bid_ = o.bid_;
    }
    return *this;
  }
  RecvBuffer(const RecvBuffer&) = delete;
  RecvBuffer& operator=(const RecvBuffer&) = delete;
  ~RecvBuffer() { release(); }

  std::byte* data() noexcept { return data_; }
  const std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<std::byte> bytes() noexcept { return {data_, size_}; }
  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  std::string_view view() const noexcept { return {reinterpret_cast<const char*>(data_), size_}; }
  /// Drops the first `n` bytes from the view (the buffer stays leased).
  void remove_prefix(std::size_t n) noexcept {
    if (n > size_) n = size_;
    data_ += n;
    size_ -= n;
  }
  /// Returns the buffer to the ring now; the lease becomes empty.
  void release() noexcept {
    if (ring_) {
      std::exchange(ring_, nullptr)->give_back(bid_);
      size_ = 0;
    }
  }

  /// Internals: a lease on buffer `bid` of `ring` viewing [data, data + size).
  RecvBuffer(detail::BufferRing* ring, std::uint16_t bid, std::byte* data,
             std::size_t size) noexcept
      : ring_(ring), data_(data), size_(size), bid_(bid) {}

 private:
  detail::BufferRing* ring_ = nullptr;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::uint16_t bid_ = 0;
};

/// Sets the calling core's receive-buffer ring options. Call on a worker before the core's first
/// TcpStream::recv(); device_or_resource_busy once the ring exists, invalid_argument for bad
/// values (buffers must be a power of two in 1..32768).
Result<void> configure_recv_buffers(const RecvBufferOptions& opts);

struct RecvBufferStats {
  unsigned buffers = 0;    // ring size (0 until the ring exists)
  unsigned available = 0;  // buffers the kernel can fill now
  unsigned buffer_size = 0;
  std::uint64_t exhausted = 0;  // receives paused because the ring was empty (ENOBUFS)
};
/// The calling core's ring. Threading: call on a worker.
RecvBufferStats recv_buffer_stats() noexcept;

}  // namespace kio::net
