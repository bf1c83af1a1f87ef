// DefTable — every registration of a Registry by ServiceId::index, readable from any core.
//
// Appended on one thread (before start) or the home core (after); never moves an entry, so
// another core holding a valid ServiceId may read its entry while the home core appends: the
// chunk pointer and the entry are written before the size is published (release), and a
// ServiceId only reaches another core after its add() returned.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>

namespace kio::di::detail {

struct ServiceDef;

class DefTable {
 public:
  static constexpr std::uint32_t chunk = 4096;
  static constexpr std::uint32_t max_chunks = 1024;  // 4 M registrations

  std::uint32_t size() const noexcept { return size_.load(std::memory_order_acquire); }
  ServiceDef* operator[](std::uint32_t i) const noexcept { return chunks_[i / chunk][i % chunk]; }
  /// The entry for `i`, or nullptr when out of range.
  ServiceDef* find(std::uint32_t i) const noexcept { return i < size() ? (*this)[i] : nullptr; }

  std::uint32_t push(ServiceDef* d) {
    const std::uint32_t i = size_.load(std::memory_order_relaxed);
    if (i / chunk >= max_chunks) throw std::length_error("kio::di: too many registrations");
    if (!chunks_[i / chunk]) chunks_[i / chunk] = std::make_unique<ServiceDef*[]>(chunk);
    chunks_[i / chunk][i % chunk] = d;
    size_.store(i + 1, std::memory_order_release);
    return i;
  }

 private:
  std::unique_ptr<ServiceDef*[]> chunks_[max_chunks];
  std::atomic<std::uint32_t> size_{0};
};

}  // namespace kio::di::detail
