// BufferPool: one mmap'd region cut into page-aligned buffers, registered with the owning core's
// ring; a free-index stack and a FIFO of waiters, all touched on that core only.
#include "kio/fs/buffer_pool.hpp"

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "kio/core/log.hpp"

namespace kio::fs {

namespace detail {

void PoolState::check_core(const char* what) const noexcept {
  if (kio::detail::current_executor() != ex) [[unlikely]] {
    kio::log_error(
        "{}: used on another thread than the core that created the pool (a pool "
        "and its buffers are per core)",
        what);
    std::abort();
  }
}

void PoolState::push_waiter(PoolWaiter* w) noexcept {
  w->next = nullptr;
  w->prev = tail;
  if (tail)
    tail->next = w;
  else
    head = w;
  tail = w;
  w->queued = true;
}

void PoolState::remove_waiter(PoolWaiter* w) noexcept {
  if (!w->queued) return;
  if (w->prev)
    w->prev->next = w->next;
  else
    head = w->next;
  if (w->next)
    w->next->prev = w->prev;
  else
    tail = w->prev;
  w->queued = false;
}

void PoolState::release(int index) noexcept {
  check_core("kio::fs::FixedBuffer release");
  if (!closed && head) {
    PoolWaiter* w = head;
    remove_waiter(w);
    w->reg.disarm();
    w->index = index;  // handed over with this lease's reference
    ex->schedule(w->handle);
    return;
  }
  free[nfree++] = index;
  unref();
}

void PoolState::unref() noexcept {
  if (--refs > 0) return;
  // The ring may only be touched on its own thread; after the runtime stopped there is no ring
  // any more, and the registration went with it.
  if (kio::detail::current_executor() == ex) io_uring_unregister_buffers(&ex->ring());
  munmap(memory, mapped);
  delete[] free;
  delete this;
}

}  // namespace detail

namespace {

constexpr std::size_t page = 4096;
constexpr unsigned max_buffers = 1u << 14;           // IORING_MAX_REG_BUFFERS
constexpr std::size_t max_buffer_size = 1ull << 30;  // the kernel's limit per registered buffer

}  // namespace

Result<BufferPool> BufferPool::create(Options o) {
  kio::detail::Executor& ex = kio::detail::this_executor("kio::fs::BufferPool::create");
  if (o.buffers == 0 || o.buffers > max_buffers || o.buffer_size == 0 ||
      o.buffer_size > max_buffer_size)
    return std::errc::invalid_argument;
  const std::size_t size = (o.buffer_size + page - 1) / page * page;
  const std::size_t total = size * o.buffers;
  void* mem = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return std::errc::not_enough_memory;
  auto* state = new detail::PoolState;
  state->ex = &ex;
  state->memory = static_cast<std::byte*>(mem);
  state->mapped = total;
  state->buffer_size = size;
  state->count = o.buffers;
  state->free = new int[o.buffers];
  std::vector<iovec> iov(o.buffers);
  for (unsigned i = 0; i < o.buffers; ++i) {
    iov[i] = iovec{state->buffer(static_cast<int>(i)), size};
    state->free[o.buffers - 1 - i] = static_cast<int>(i);  // hand out index 0 first
  }
  state->nfree = o.buffers;
  int r = io_uring_register_buffers(&ex.ring(), iov.data(), o.buffers);
  if (r < 0) {
    munmap(mem, total);
    delete[] state->free;
    delete state;
    if (r == -EBUSY) {
      kio::log_error(
          "kio::fs::BufferPool: this core's ring already has registered buffers; "
          "create one pool per core and share it");
    } else if (r == -ENOMEM || r == -EFAULT) {
      rlimit lim{};
      getrlimit(RLIMIT_MEMLOCK, &lim);
      kio::log_error(
          "kio::fs::BufferPool: registering {} x {} bytes failed: the locked-memory "
          "limit is {} bytes; raise it (`ulimit -l unlimited`, systemd "
          "LimitMEMLOCK=infinity, docker --ulimit memlock=-1) or use fewer/smaller "
          "buffers",
          o.buffers, size, static_cast<unsigned long long>(lim.rlim_cur));
      r = -ENOMEM;
    }
    return errno_code(r);
  }
  return BufferPool(state);
}

Result<FixedBuffer> BufferPool::try_acquire() noexcept {
  if (!s_ || s_->closed) return std::errc::bad_file_descriptor;
  s_->check_core("kio::fs::BufferPool::try_acquire");
  if (s_->nfree == 0) return std::errc::resource_unavailable_try_again;
  ++s_->refs;
  return FixedBuffer(s_, s_->free[--s_->nfree]);
}

void BufferPool::close() noexcept {
  detail::PoolState* s = std::exchange(s_, nullptr);
  if (!s) return;
  s->check_core("kio::fs::BufferPool destructor");
  s->closed = true;
  while (detail::PoolWaiter* w = s->head) {
    s->remove_waiter(w);
    w->reg.disarm();
    w->ec = std::make_error_code(std::errc::bad_file_descriptor);
    s->ex->schedule(w->handle);
  }
  s->unref();
}

}  // namespace kio::fs
