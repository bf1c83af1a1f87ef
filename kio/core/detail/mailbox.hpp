// Cross-core mail: intrusive messages carried by one single-producer/single-consumer ring per
// ordered pair of cores.
//
// Design note
// -----------
// * A Message lives with its sender (in a submit_to awaiter, or in a spawned root frame) until
//   its handler has run on the destination; rings carry only pointers, so sending allocates
//   nothing and a ring never owns what it carries.
// * The producer writes slots and publishes its tail once per loop iteration (batched); the
//   consumer drains everything published, then releases the slots with one store of its head.
// * A full ring never drops a message: the sender keeps it on its own overflow list (intrusive)
//   and moves it into the ring as slots free up. A coroutine that must not outrun the consumer
//   (spawn_on) parks in `blocked` until its message is in the ring: that is the backpressure.
//   The producer marks `producer_waiting` so the consumer wakes it after freeing slots.
//
// Threading: `tail_`/`slots_` written by the producer core only, `head_` by the consumer only.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <memory>

namespace kio::detail {

class Executor;

struct Message {
  /// Runs on the destination core. `stopped`: the runtime is shutting down and no user code may
  /// run; the handler must only release what it owns (e.g. destroy an unstarted frame).
  void (*handle)(Message* self, Executor& here, bool stopped) noexcept = nullptr;
  /// Final shutdown step, on any core, when no core runs user code any more: release what the
  /// message owns (an unstarted frame) without running or answering it. nullptr: owns nothing.
  void (*discard)(Message* self) noexcept = nullptr;
  Message* next = nullptr;            // sender-side overflow list
  std::coroutine_handle<> blocked{};  // sender waiting for ring space (backpressure)
};

class MailRing {
 public:
  explicit MailRing(std::uint32_t capacity)
      : mask_(capacity - 1), slots_(std::make_unique<Message*[]>(capacity)) {}

  // ---- producer core ----
  bool try_push(Message* m) noexcept {
    if (tail_local_ - head_cache_ > mask_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail_local_ - head_cache_ > mask_) {
        producer_waiting_.store(true, std::memory_order_seq_cst);
        // Re-check: the consumer may have drained between our load and the flag store.
        head_cache_ = head_.load(std::memory_order_seq_cst);
        if (tail_local_ - head_cache_ > mask_) return false;
      }
    }
    slots_[tail_local_ & mask_] = m;
    ++tail_local_;
    return true;
  }
  /// Makes pushed messages visible to the consumer. Returns true if anything was new.
  bool publish() noexcept {
    if (tail_local_ == published_) return false;
    published_ = tail_local_;
    tail_.store(tail_local_, std::memory_order_release);
    return true;
  }

  // ---- consumer core ----
  /// Calls f(Message*) for every published message; returns how many.
  template <class F>
  std::uint32_t drain(F&& f) {
    const std::uint32_t tail = tail_.load(std::memory_order_acquire);
    std::uint32_t n = 0;
    for (std::uint32_t h = head_local_; h != tail; ++h, ++n)
      f(slots_[h & mask_]);
    if (n) {
      head_local_ = tail;
      head_.store(tail, std::memory_order_seq_cst);
    }
    return n;
  }
  /// After a drain: true (once) if the producer found the ring full and wants a wake-up.
  bool take_producer_waiting() noexcept {
    return producer_waiting_.load(std::memory_order_seq_cst) &&
           producer_waiting_.exchange(false, std::memory_order_acq_rel);
  }

 private:
  const std::uint32_t mask_;
  std::unique_ptr<Message*[]> slots_;
  // producer-owned
  alignas(64) std::uint32_t tail_local_ = 0;
  std::uint32_t published_ = 0;
  std::uint32_t head_cache_ = 0;
  alignas(64) std::atomic<std::uint32_t> tail_{0};
  // consumer-owned
  alignas(64) std::uint32_t head_local_ = 0;
  alignas(64) std::atomic<std::uint32_t> head_{0};
  alignas(64) std::atomic<bool> producer_waiting_{false};
};

}  // namespace kio::detail
