#include "kio/net/detail/buffer_ring.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include "kio/core/log.hpp"

namespace kio::net::detail {

BufferRing::~BufferRing() {
  if (registered_) {
    if (int r = io_uring_unregister_buf_ring(ring_, group_); r < 0)
      kio::log_warn("kio::net: unregistering the receive buffer ring failed: {}", -r);
  }
  if (br_) ::munmap(br_, ring_bytes_);
  if (mem_) ::munmap(mem_, mem_bytes_);
}

Result<void> BufferRing::init(io_uring& ring, const RecvBufferOptions& opts, std::uint16_t group) {
  const unsigned n = opts.buffers;
  if (n == 0 || n > 32768 || (n & (n - 1)) != 0 || opts.buffer_size == 0)
    return std::errc::invalid_argument;
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  ring_bytes_ = (n * sizeof(io_uring_buf) + page - 1) / page * page;
  void* r =
      ::mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r == MAP_FAILED) {
    br_ = nullptr;
    return kio::errno_code(-errno);
  }
  br_ = static_cast<io_uring_buf_ring*>(r);
  mem_bytes_ = static_cast<std::size_t>(n) * opts.buffer_size;
  void* m = ::mmap(nullptr, mem_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return kio::errno_code(-errno);
  mem_ = static_cast<std::byte*>(m);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uintptr_t>(br_);
  reg.ring_entries = n;
  reg.bgid = group;
  if (int e = io_uring_register_buf_ring(&ring, &reg, 0); e < 0) return kio::errno_code(e);
  ring_ = &ring;
  registered_ = true;
  group_ = group;
  entries_ = n;
  mask_ = n - 1;
  buffer_size_ = opts.buffer_size;
  next_.assign(n, none);
  length_.assign(n, 0);
  io_uring_buf_ring_init(br_);
  for (unsigned i = 0; i < n; ++i)
    io_uring_buf_ring_add(br_, data(static_cast<std::uint16_t>(i)), buffer_size_,
                          static_cast<unsigned short>(i), static_cast<int>(mask_),
                          static_cast<int>(i));
  io_uring_buf_ring_advance(br_, static_cast<int>(n));
  available_ = n;
  return {};
}

void BufferRing::add_waiter(BufferWaiter* w) noexcept {
  if (w->waiting_for_buffers) return;
  w->waiting_for_buffers = true;
  w->next_waiter = nullptr;
  w->prev_waiter = waiters_tail_;
  if (waiters_tail_)
    waiters_tail_->next_waiter = w;
  else
    waiters_head_ = w;
  waiters_tail_ = w;
}

void BufferRing::remove_waiter(BufferWaiter* w) noexcept {
  if (!w->waiting_for_buffers) return;
  w->waiting_for_buffers = false;
  if (w->prev_waiter)
    w->prev_waiter->next_waiter = w->next_waiter;
  else
    waiters_head_ = w->next_waiter;
  if (w->next_waiter)
    w->next_waiter->prev_waiter = w->prev_waiter;
  else
    waiters_tail_ = w->prev_waiter;
  w->prev_waiter = w->next_waiter = nullptr;
}

void BufferRing::wake_one() noexcept {
  BufferWaiter* w = waiters_head_;
  remove_waiter(w);
  w->on_buffers(w);
}

}  // namespace kio::net::detail
