// EventQueue — the per-core FIFO of event records behind kio::di::EventChannel.
//
// Records are 8-byte headers (type, origin) followed by the payload rounded up to 8 bytes (none
// for an empty event type), written back to back into 64 KiB blocks: a queued empty event costs
// 8 bytes and no allocation of its own. A record never straddles blocks (a header with type 0
// marks the unused tail of a block). Drained blocks are kept as one spare (then freed), so a
// steady stream allocates nothing and a burst's memory goes back once it is dispatched.
// Threading: one core; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

namespace kio::di::detail {

class EventQueue {
 public:
  static constexpr std::size_t block_bytes = std::size_t{64} * 1024;
  static constexpr std::size_t max_payload = 4096;

  struct Header {
    std::uint32_t type;
    std::uint32_t origin;
  };

  EventQueue() = default;
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;
  ~EventQueue();

  /// Appends a record; returns where its `payload` bytes go (8-aligned).
  std::byte* push(std::uint32_t type, std::uint32_t origin, std::size_t payload) {
    const std::size_t need = sizeof(Header) + payload;
    if (static_cast<std::size_t>(wend_ - w_) < need) [[unlikely]]
      next_write_block();
    Header h{type, origin};
    std::memcpy(w_, &h, sizeof h);
    std::byte* p = w_ + sizeof(Header);
    w_ += need;
    ++size_;
    return p;
  }

  /// The oldest record, or nullptr when empty. `payload` of its type must be passed to pop().
  const Header* front() noexcept {
    for (;;) {
      if (size_ == 0) return nullptr;
      if (r_ == rend_ || reinterpret_cast<const Header*>(r_)->type == 0) {
        next_read_block();
        continue;
      }
      return reinterpret_cast<const Header*>(r_);
    }
  }
  std::byte* front_payload() noexcept { return r_ + sizeof(Header); }
  void pop(std::size_t payload) noexcept {
    r_ += sizeof(Header) + payload;
    --size_;
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  struct Block {
    Block* next;
    alignas(8) std::byte data[block_bytes - 16];
  };
  static constexpr std::size_t data_bytes = sizeof(Block::data);

  void next_write_block();
  void next_read_block() noexcept;

  Block* rb_ = nullptr;  // block being read
  Block* wb_ = nullptr;  // block being written
  Block* spare_ = nullptr;
  std::byte* r_ = nullptr;
  std::byte* rend_ = nullptr;
  std::byte* w_ = nullptr;
  std::byte* wend_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace kio::di::detail
