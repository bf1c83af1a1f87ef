// MpmcRing<T> — a bounded, lock-free multi-producer/multi-consumer ring of values that can be
// closed (the storage behind kio::CrossChannel).
//
// Design note
// -----------
// * Slots carry a sequence number (the classic bounded MPMC queue with per-slot tickets). Slot
//   i starts with sequence i. A producer claims position p (a CAS on `tail_`) when slot p%cap has
//   sequence p, constructs the value, then publishes sequence p+1. A consumer claims position p
//   (a CAS on `head_`) when the slot has sequence p+1, moves the value out, then releases the slot
//   for the next lap with sequence p+cap. Producers and consumers touch only `tail_`, `head_` and
//   the slot they claimed; nothing is allocated after construction.
// * Positions are 64-bit and never wrap in practice. Bit 63 of `tail_` is the closed flag: once
//   it is set no producer can claim a position (its CAS fails), so "closed and drained" is exactly
//   `head_ == tail_ without the flag`, and a value claimed before close() is still delivered.
// * "Empty" and "full" are reported when the slot at the claim position is not ready. That
//   includes a neighbour that claimed the slot but has not finished with it yet (a producer still
//   constructing, a consumer still moving out); the caller must treat that as a transient state
//   (CrossChannel: whoever finishes the slot wakes the parked waiters).
// * Slot sequences are published and read with seq_cst operations: CrossChannel pairs them with
//   seq_cst counters of parked waiters (store one, then load the other, on both sides), which is
//   what guarantees that a parking waiter and a finishing peer never miss each other.
//
// Threading: every member function is safe from any thread, except the destructor.
// Capacity: rounded up to a power of two, at least 2 (a ticket ring cannot tell a full one-slot
// ring from an empty one).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace kio::detail {

enum class RingPush : unsigned char { ok, full, closed };

template <class T>
  requires std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>
class MpmcRing {
 public:
  static constexpr std::uint64_t closed_bit = std::uint64_t{1} << 63;

  explicit MpmcRing(std::size_t capacity)
      : mask_(round_up(capacity) - 1), slots_(std::make_unique<Slot[]>(mask_ + 1)) {
    for (std::uint64_t i = 0; i <= mask_; ++i)
      slots_[i].seq.store(i, std::memory_order_relaxed);
  }
  MpmcRing(const MpmcRing&) = delete;
  MpmcRing& operator=(const MpmcRing&) = delete;
  /// Destroys the values still buffered. No other thread may use the ring any more.
  ~MpmcRing() {
    std::optional<T> v;
    while (try_pop(v))
      v.reset();
  }

  std::size_t capacity() const noexcept { return static_cast<std::size_t>(mask_ + 1); }

  /// Moves `v` into the ring. On `full` or `closed` `v` is untouched.
  RingPush try_push(T& v) noexcept {
    std::uint64_t pos = tail_.load(std::memory_order_relaxed);
    Slot* s;
    for (;;) {
      if (pos & closed_bit) return RingPush::closed;
      s = &slots_[pos & mask_];
      const std::uint64_t seq = s->seq.load(std::memory_order_seq_cst);
      const auto diff = static_cast<std::int64_t>(seq - pos);
      if (diff == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else if (diff < 0) {
        return RingPush::full;  // the value of the previous lap is still there (or being taken)
      } else {
        pos = tail_.load(std::memory_order_relaxed);  // another producer got there first
      }
    }
    ::new (static_cast<void*>(s->bytes)) T(std::move(v));
    s->seq.store(pos + 1, std::memory_order_seq_cst);
    return RingPush::ok;
  }

  /// Moves the oldest ready value into `out`. False when none is ready (empty, or the oldest is
  /// still being written).
  bool try_pop(std::optional<T>& out) noexcept {
    std::uint64_t pos = head_.load(std::memory_order_relaxed);
    Slot* s;
    for (;;) {
      s = &slots_[pos & mask_];
      const std::uint64_t seq = s->seq.load(std::memory_order_seq_cst);
      const auto diff = static_cast<std::int64_t>(seq - (pos + 1));
      if (diff == 0) {
        if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else if (diff < 0) {
        return false;
      } else {
        pos = head_.load(std::memory_order_relaxed);
      }
    }
    T* p = std::launder(reinterpret_cast<T*>(s->bytes));
    out.emplace(std::move(*p));
    p->~T();
    s->seq.store(pos + mask_ + 1, std::memory_order_seq_cst);
    return true;
  }

  /// Sets the closed flag. Returns false if it was already set.
  bool close() noexcept {
    return !(tail_.fetch_or(closed_bit, std::memory_order_seq_cst) & closed_bit);
  }
  bool closed() const noexcept { return tail_.load(std::memory_order_seq_cst) & closed_bit; }
  /// Closed, and every value ever pushed has been claimed by a consumer.
  bool closed_and_drained() const noexcept {
    const std::uint64_t t = tail_.load(std::memory_order_seq_cst);
    return (t & closed_bit) && head_.load(std::memory_order_seq_cst) == (t & ~closed_bit);
  }
  /// Values pushed and not yet claimed (a snapshot; exact only when nobody else is active).
  std::size_t size() const noexcept {
    const std::uint64_t h = head_.load(std::memory_order_seq_cst);
    const std::uint64_t t = tail_.load(std::memory_order_seq_cst) & ~closed_bit;
    return t > h ? static_cast<std::size_t>(t - h) : 0;
  }

 private:
  struct Slot {
    std::atomic<std::uint64_t> seq{0};
    alignas(T) unsigned char bytes[sizeof(T)];
  };
  static std::uint64_t round_up(std::size_t n) noexcept {
    std::uint64_t c = 2;
    while (c < n)
      c <<= 1;
    return c;
  }

  const std::uint64_t mask_;
  std::unique_ptr<Slot[]> slots_;
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  alignas(64) std::atomic<std::uint64_t> head_{0};
};

}  // namespace kio::detail
