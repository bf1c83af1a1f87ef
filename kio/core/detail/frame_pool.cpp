#include "kio/core/detail/frame_pool.hpp"

#include <algorithm>
#include <mutex>
#include <new>
#include <vector>

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

// Cached blocks of threads that exited, and every slab held (kept reachable, so leak checkers scan
// the frames in them; a block of one may be cached by any thread). Allocated once and never destroyed, so a thread that
// exits during static destruction can still hand its blocks over.
struct Depot {
  std::mutex m;
  void* free[FramePool::classes] = {};
  std::vector<void*> slabs;
};
Depot& depot() {
  static Depot* d = new Depot;
  return *d;
}
}  // namespace

void* FramePool::refill(std::size_t c) {
  const std::size_t bytes = (c + 1) * granule;
  ++fresh_;
  {
    Depot& d = depot();
    std::lock_guard lock(d.m);
    if (void* first = d.free[c]) {
      // Take up to depot_batch blocks: the first is returned, the rest go on our list.
      void* last = first;
      std::uint32_t n = 1;
      for (; n < depot_batch && static_cast<FreeBlock*>(last)->next; ++n)
        last = static_cast<FreeBlock*>(last)->next;
      d.free[c] = static_cast<FreeBlock*>(last)->next;
      static_cast<FreeBlock*>(last)->next = free_[c];
      free_[c] = static_cast<FreeBlock*>(first)->next;
      count_[c] += n - 1;
      if (n > 1) note_cached();
      unpoison(first, bytes);
      return first;
    }
  }
  if (static_cast<std::size_t>(slab_end_ - slab_next_) < bytes) {
    // What is left of the slab (less than a block of this class) is cached as smaller blocks.
    while (static_cast<std::size_t>(slab_end_ - slab_next_) >= granule) {
      const std::size_t left = static_cast<std::size_t>(slab_end_ - slab_next_);
      const std::size_t cls = std::min(left, max_pooled) / granule - 1;
      keep(slab_next_, cls);
      slab_next_ += (cls + 1) * granule;
    }
    auto* slab = static_cast<char*>(::operator new(slab_bytes, std::align_val_t{frame_align}));
    {
      Depot& d = depot();
      std::lock_guard lock(d.m);
      d.slabs.push_back(slab);
    }
    slab_next_ = slab;
    slab_end_ = slab + slab_bytes;
  }
  void* block = slab_next_;
  slab_next_ += bytes;
  return block;
}

std::size_t FramePool::cached_bytes() const noexcept {
  std::size_t n = 0;
  for (std::size_t c = 0; c < classes; ++c)
    n += std::size_t{count_[c]} * (c + 1) * granule;
  return n;
}

std::size_t FramePool::release_free_slabs() noexcept {
  // Which slab each cached block lies in: binary search over a sorted copy of the slab list.
  // A slab is wholly free when the bytes cached in it, by this pool or in the depot (blocks of
  // threads that exited), add up to its size: a slab no longer carved is cut into blocks without
  // a gap, and the uncarved rest of a slab some pool still carves is in no list, so its sum stays
  // short. The depot's lock is held throughout (idle time only).
  std::vector<char*> released;
  try {
    Depot& d = depot();
    std::lock_guard lock(d.m);
    std::vector<char*> slabs;
    slabs.reserve(d.slabs.size());
    for (void* sl : d.slabs)
      slabs.push_back(static_cast<char*>(sl));
    std::sort(slabs.begin(), slabs.end());
    std::vector<std::uint32_t> cached(slabs.size(), 0);
    auto slab_index = [&](const void* b) -> std::size_t {
      auto it = std::upper_bound(slabs.begin(), slabs.end(), static_cast<const char*>(b));
      if (it == slabs.begin()) return slabs.size();
      --it;
      if (static_cast<const char*>(b) >= *it + slab_bytes) return slabs.size();
      return static_cast<std::size_t>(it - slabs.begin());
    };
    auto count = [&](void* head, std::size_t c) {
      for (auto* b = static_cast<FreeBlock*>(head); b; b = b->next)  // the link is not poisoned
        if (std::size_t i = slab_index(b); i < slabs.size())
          cached[i] += static_cast<std::uint32_t>((c + 1) * granule);
    };
    for (std::size_t c = 0; c < classes; ++c) {
      count(free_[c], c);
      count(d.free[c], c);
    }
    if (slab_end_ != nullptr)
      if (std::size_t i = slab_index(slab_end_ - 1); i < slabs.size())
        cached[i] = 0;  // the slab this pool carves from stays
    bool any = false;
    for (std::size_t i = 0; i < slabs.size(); ++i)
      if (cached[i] == slab_bytes) any = true;
    if (!any) return 0;
    auto is_released = [&](const void* b) {
      const std::size_t i = slab_index(b);
      return i < slabs.size() && cached[i] == slab_bytes;
    };
    // Unlinks the released slabs' blocks from a list; returns how many it unlinked.
    auto unlink = [&](void** head) {
      std::uint32_t n = 0;
      auto** link = reinterpret_cast<FreeBlock**>(head);
      while (FreeBlock* b = *link) {
        if (is_released(b)) {
          *link = b->next;
          ++n;
        } else {
          link = &b->next;
        }
      }
      return n;
    };
    for (std::size_t c = 0; c < classes; ++c) {
      count_[c] -= unlink(reinterpret_cast<void**>(&free_[c]));
      unlink(&d.free[c]);
    }
    for (std::size_t i = 0; i < slabs.size(); ++i)
      if (cached[i] == slab_bytes) released.push_back(slabs[i]);
    std::erase_if(d.slabs, [&](void* sl) {
      return std::binary_search(released.begin(), released.end(), static_cast<char*>(sl));
    });
  } catch (const std::bad_alloc&) {
    return 0;  // no scratch memory: keep everything cached
  }
  for (char* sl : released) {
    unpoison(sl, slab_bytes);
    ::operator delete(sl, slab_bytes, std::align_val_t{frame_align});
  }
  return released.size() * slab_bytes;
}

std::size_t FramePool::slab_bytes_total() noexcept {
  Depot& d = depot();
  std::lock_guard lock(d.m);
  return d.slabs.size() * slab_bytes;
}

void* FramePool::allocate_big(std::size_t n) {
  return ::operator new(n, std::align_val_t{frame_align});
}

void FramePool::deallocate_big(void* p, std::size_t n) noexcept {
  ::operator delete(p, n, std::align_val_t{frame_align});
}

void FramePool::note_cached() noexcept {
  if (exit_hook_) return;
  exit_hook_ = true;
  static thread_local ExitTrimmer trimmer;
  (void)trimmer;
}

void FramePool::trim() noexcept {
  Depot& d = depot();
  std::lock_guard lock(d.m);
  for (std::size_t c = 0; c < classes; ++c) {
    while (FreeBlock* b = free_[c]) {
      free_[c] = b->next;
      b->next = static_cast<FreeBlock*>(d.free[c]);
      d.free[c] = b;
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

// The blocks of a batch join the calling thread's pool.
void FramePool::keep_batch(Message* m) noexcept {
  Returned* r = static_cast<Batch*>(m)->blocks;
  while (r) {
    Returned* next = r->next;  // before keep() reuses the block's first word
    const std::uint32_t cls = r->cls;
    tls_frame_pool.keep(r, cls);
    r = next;
  }
}

// On the home core (also while it quiesces: the blocks are just memory of its own pool).
void FramePool::on_batch(Message* m, Executor&, bool) noexcept {
  keep_batch(m);
}

// Teardown, any core, nobody runs code: the blocks join the pool of the thread tearing down.
void FramePool::on_discard(Message* m) noexcept {
  keep_batch(m);
}

}  // namespace kio::detail
