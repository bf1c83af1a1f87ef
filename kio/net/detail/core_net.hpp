// CoreNet — kio::net's per-core state: the receive buffer ring and a cache of stream states.
//
// Created on a worker the first time kio::net needs it there (a thread_local of the worker
// thread), destroyed when the worker thread exits: after the executor's teardown drained every
// operation and destroyed every suspended frame, before the ring itself is closed.
// Threading: used only by its own worker.
#pragma once

#include <cstdint>
#include <memory>

#include "kio/core/detail/executor.hpp"
#include "kio/core/result.hpp"
#include "kio/net/detail/buffer_ring.hpp"
#include "kio/net/options.hpp"

namespace kio::net::detail {

class StreamState;

class CoreNet {
 public:
  explicit CoreNet(kio::detail::Executor& ex) noexcept : ex_(ex) {}
  CoreNet(const CoreNet&) = delete;
  CoreNet& operator=(const CoreNet&) = delete;
  ~CoreNet();

  /// The calling worker's CoreNet (created on first use); aborts outside workers.
  static CoreNet& get(const char* what);
  /// The calling worker's CoreNet if it exists, else nullptr.
  static CoreNet* find() noexcept;

  kio::detail::Executor& executor() const noexcept { return ex_; }

  /// The buffer ring, created (with options()) on first use.
  Result<BufferRing*> buffers();
  bool has_buffers() const noexcept { return ring_ != nullptr; }
  const RecvBufferOptions& options() const noexcept { return opts_; }
  Result<void> configure(const RecvBufferOptions& opts);

  /// Stream states come from a per-core cache: no allocation per connection in steady state.
  StreamState* new_stream(int fd);
  void free_stream(StreamState* s) noexcept;

  /// Zero-copy sends made by send_all on this core, and how many the kernel copied anyway.
  std::uint64_t zerocopy_sends = 0;
  std::uint64_t zerocopy_copied = 0;

 private:
  kio::detail::Executor& ex_;
  RecvBufferOptions opts_{};
  std::unique_ptr<BufferRing> ring_;
  StreamState* free_ = nullptr;
  unsigned free_count_ = 0;
};

}  // namespace kio::net::detail
