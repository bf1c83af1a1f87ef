// ReadyQueue — the per-core FIFO of coroutines ready to run.
//
// A growable power-of-two ring of coroutine handles. It grows (doubling) when full and never
// shrinks, so in steady state pushing and popping allocate nothing.
// Threading: owned by one core; not thread-safe.
#pragma once

#include <coroutine>
#include <cstddef>
#include <memory>

namespace kio::detail {

class ReadyQueue {
 public:
  explicit ReadyQueue(std::size_t capacity = 1024)
      : buf_(std::make_unique<std::coroutine_handle<>[]>(capacity)), mask_(capacity - 1) {}

  bool empty() const noexcept { return head_ == tail_; }
  std::size_t size() const noexcept { return tail_ - head_; }

  void push(std::coroutine_handle<> h) {
    if (size() == mask_ + 1) [[unlikely]]
      grow();
    buf_[tail_++ & mask_] = h;
  }
  std::coroutine_handle<> pop() noexcept { return buf_[head_++ & mask_]; }
  void clear() noexcept { head_ = tail_ = 0; }

 private:
  // Out of line: inlined, it made every caller of push() save and restore registers.
  [[gnu::noinline, gnu::cold]] void grow() {
    const std::size_t cap = (mask_ + 1) * 2;
    auto next = std::make_unique<std::coroutine_handle<>[]>(cap);
    const std::size_t n = size();
    for (std::size_t i = 0; i < n; ++i)
      next[i] = buf_[(head_ + i) & mask_];
    buf_ = std::move(next);
    mask_ = cap - 1;
    head_ = 0;
    tail_ = n;
  }

  std::unique_ptr<std::coroutine_handle<>[]> buf_;
  std::size_t mask_;
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
};

}  // namespace kio::detail
