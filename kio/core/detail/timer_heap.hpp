// TimerHeap — the per-core binary min-heap of deadlines.
//
// Nodes are intrusive (they live in the awaiting frame, e.g. a sleep awaiter) and record their
// heap index, so cancelling a timer is O(log n). The worker's loop waits on the ring no longer than
// the earliest deadline and fires expired nodes by calling their `fire` function.
// Threading: owned by one core; not thread-safe.
// Lifetime: a node must be removed (fired, `remove`d or `clear`ed) before its memory goes away.
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

namespace kio::detail {

using Clock = std::chrono::steady_clock;

struct TimerNode {
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  Clock::time_point deadline{};
  std::size_t index = npos;  // position in the heap, npos when not queued
  std::uint64_t seq = 0;     // insertion order: equal deadlines fire first-in first-out
  void (*fire)(TimerNode*) noexcept = nullptr;
  bool queued() const noexcept { return index != npos; }
};

class TimerHeap {
 public:
  TimerHeap() { heap_.reserve(256); }

  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  Clock::time_point next_deadline() const noexcept { return heap_.front()->deadline; }

  void insert(TimerNode* n) {
    n->seq = next_seq_++;
    n->index = heap_.size();
    heap_.push_back(n);
    sift_up(n->index);
  }

  void remove(TimerNode* n) noexcept {
    const std::size_t i = n->index;
    if (i == TimerNode::npos) return;
    n->index = TimerNode::npos;
    TimerNode* last = heap_.back();
    heap_.pop_back();
    if (last == n) return;
    heap_[i] = last;
    last->index = i;
    sift_down(i);
    sift_up(last->index);
  }

  /// Pops and fires every node whose deadline is <= now. Returns how many fired.
  std::size_t fire_expired(Clock::time_point now) {
    std::size_t fired = 0;
    while (!heap_.empty() && heap_.front()->deadline <= now) {
      TimerNode* n = heap_.front();
      remove(n);
      n->fire(n);
      ++fired;
    }
    return fired;
  }

  /// Unqueues every node without firing it (runtime teardown).
  void clear() noexcept {
    for (TimerNode* n : heap_)
      n->index = TimerNode::npos;
    heap_.clear();
  }

 private:
  static bool before(const TimerNode* a, const TimerNode* b) noexcept {
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
  }
  void place(std::size_t i, TimerNode* n) noexcept {
    heap_[i] = n;
    n->index = i;
  }
  void sift_up(std::size_t i) noexcept {
    TimerNode* n = heap_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (!before(n, heap_[parent])) break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, n);
  }
  void sift_down(std::size_t i) noexcept {
    TimerNode* n = heap_[i];
    const std::size_t size = heap_.size();
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && before(heap_[child + 1], heap_[child])) ++child;
      if (!before(heap_[child], n)) break;
      place(i, heap_[child]);
      i = child;
    }
    place(i, n);
  }

  std::vector<TimerNode*> heap_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace kio::detail
