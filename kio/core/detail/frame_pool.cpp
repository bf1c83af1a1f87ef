#include "kio/core/detail/frame_pool.hpp"

#include <new>

#include "kio/core/detail/executor.hpp"
#include "kio/core/detail/mailbox.hpp"

namespace kio::detail {

namespace {
// Registered the first time a thread caches a block; trims the pool when the thread exits.
struct ExitTrimmer {
  ~ExitTrimmer() { tls_frame_pool.trim(); }
};

// A block on its way home overlays its (dead) frame's first bytes with this.
struct Returned {
  Returned* next;
  std::uint32_t cls;
  std::uint32_t unused;
};
// The message carrying a batch lives in the first block, right after its Returned.
struct Batch : Message {
  Returned* blocks;
};
static_assert(sizeof(Returned) + sizeof(Batch) <= FramePool::granule,
              "a batch message must fit in the smallest block");
}  // namespace

void* FramePool::allocate_slow(std::size_t rounded) {
  ++fresh_;
  return ::operator new(rounded, std::align_val_t{frame_align});
}

void FramePool::deallocate_slow(void* p, std::size_t n) noexcept {
  ::operator delete(p, n, std::align_val_t{frame_align});
}

void FramePool::note_cached() noexcept {
  if (exit_hook_) return;
  exit_hook_ = true;
  static thread_local ExitTrimmer trimmer;
  (void)trimmer;
}

void FramePool::trim() noexcept {
  for (std::size_t c = 0; c < classes; ++c) {
    while (FreeBlock* b = free_[c]) {
      free_[c] = b->next;
      deallocate_slow(b, (c + 1) * granule);
    }
    count_[c] = 0;
  }
}

// ---- frames going home ----------------------------------------------------------------------

void FramePool::attach(Executor& ex, unsigned core, std::uint32_t runtime, unsigned cores) {
  pending_ = new std::vector<Pending>(cores);
  core_ = core + 1;
  runtime_ = runtime;
  executor_ = &ex;
}

void FramePool::detach() noexcept {
  flush_home();
  executor_ = nullptr;
  core_ = 0;
  runtime_ = 0;
  delete pending_;
  pending_ = nullptr;
}

void FramePool::send_home(void* block, unsigned dst, std::uint32_t c) noexcept {
  if (dst >= pending_->size()) {  // not a core of this runtime after all
    keep(block, c);
    return;
  }
  auto* r = ::new (block) Returned;
  Pending& p = (*pending_)[dst];
  r->next = static_cast<Returned*>(p.head);
  r->cls = c;
  p.head = r;
  dirty_ = true;
  if (++p.count >= batch_size) send_batch(dst);
}

void FramePool::send_batch(unsigned dst) noexcept {
  Pending& p = (*pending_)[dst];
  auto* first = static_cast<Returned*>(p.head);
  auto* b = ::new (reinterpret_cast<char*>(first) + sizeof(Returned)) Batch;
  b->handle = &FramePool::on_batch;
  b->discard = &FramePool::on_discard;
  b->blocks = first;
  p.head = nullptr;
  p.count = 0;
  executor_->send(dst, b);  // a full ring keeps it on the overflow list: never dropped
}

void FramePool::flush_home_slow() noexcept {
  dirty_ = false;
  for (unsigned d = 0; d < pending_->size(); ++d)
    if ((*pending_)[d].count > 0) send_batch(d);
}

// On the home core (also while it quiesces: the blocks are just memory of its own pool).
void FramePool::on_batch(Message* m, Executor&, bool) noexcept {
  Returned* r = static_cast<Batch*>(m)->blocks;
  while (r) {
    Returned* next = r->next;  // before keep() reuses the block's first word
    const std::uint32_t cls = r->cls;
    tls_frame_pool.keep(r, cls);
    r = next;
  }
}

// Teardown, any core, nobody runs code: give the blocks back to the global allocator.
void FramePool::on_discard(Message* m) noexcept {
  Returned* r = static_cast<Batch*>(m)->blocks;
  while (r) {
    Returned* next = r->next;
    deallocate_slow(r, (static_cast<std::size_t>(r->cls) + 1) * granule);
    r = next;
  }
}

}  // namespace kio::detail
