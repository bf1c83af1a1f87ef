#include "kio/net/detail/core_net.hpp"

#include "kio/core/log.hpp"
#include "kio/net/detail/stream_state.hpp"

namespace kio::net::detail {

namespace {
// Destroyed when the worker thread exits (after Executor::run returned, before the executor and
// its ring are destroyed by the Runtime).
thread_local std::unique_ptr<CoreNet> tls_core;
// Buffer group id used by kio::net on every ring.
constexpr std::uint16_t recv_group = 0x6b10;
constexpr unsigned max_cached_streams = 4096;
}  // namespace

CoreNet::~CoreNet() {
  while (StreamState* s = free_) {
    free_ = s->next_free;
    delete s;
  }
}

CoreNet& CoreNet::get(const char* what) {
  kio::detail::Executor& ex = kio::detail::this_executor(what);
  if (!tls_core) [[unlikely]]
    tls_core = std::make_unique<CoreNet>(ex);
  return *tls_core;
}

CoreNet* CoreNet::find() noexcept {
  return tls_core.get();
}

Result<BufferRing*> CoreNet::buffers() {
  if (ring_) [[likely]]
    return ring_.get();
  auto ring = std::make_unique<BufferRing>();
  if (auto r = ring->init(ex_.ring(), opts_, recv_group); !r) {
    kio::log_error("kio::net: cannot create the receive buffer ring ({} x {} bytes): {}",
                   opts_.buffers, opts_.buffer_size, r.error().message());
    return r.error();
  }
  ring_ = std::move(ring);
  return ring_.get();
}

Result<void> CoreNet::configure(const RecvBufferOptions& opts) {
  const unsigned n = opts.buffers;
  if (n == 0 || n > 32768 || (n & (n - 1)) != 0 || opts.buffer_size == 0 ||
      opts.max_queued_per_stream == 0)
    return std::errc::invalid_argument;
  if (ring_) return std::errc::device_or_resource_busy;
  opts_ = opts;
  return {};
}

StreamState* CoreNet::new_stream(int fd) {
  if (StreamState* s = free_) {
    free_ = s->next_free;
    --free_count_;
    s->reset(fd);
    return s;
  }
  return new StreamState(*this, fd);
}

void CoreNet::free_stream(StreamState* s) noexcept {
  if (free_count_ >= max_cached_streams) {
    delete s;
    return;
  }
  s->next_free = free_;
  free_ = s;
  ++free_count_;
}

}  // namespace kio::net::detail
