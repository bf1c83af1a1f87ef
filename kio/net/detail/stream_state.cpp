#include "kio/net/detail/stream_state.hpp"

#include <unistd.h>

#include <cstring>

#include "kio/core/log.hpp"
#include "kio/net/detail/core_net.hpp"
#include "kio/net/zerocopy.hpp"

namespace kio::net::detail {

StreamState::StreamState(CoreNet& c, int f) noexcept
    : core(c), ex(c.executor()), fd(f), zerocopy_threshold(default_zerocopy_threshold) {
  on_cqe = &StreamState::on_recv;
  on_buffers = &StreamState::on_buffers_back;
}

void StreamState::reset(int f) noexcept {
  fd = f;
  ring = nullptr;
  armed = cancel_sent = orphaned = eof = false;
  direct = nullptr;
  error = {};
  head = tail = BufferRing::none;
  head_offset = 0;
  queued = 0;
  waiter = nullptr;
  zerocopy_threshold = default_zerocopy_threshold;
  zerocopy_local = false;
  peer_is_local = -1;
  next_free = nullptr;
  prev_waiter = next_waiter = nullptr;
  waiting_for_buffers = false;
}

void StreamState::arm() noexcept {
  io_uring_sqe* sqe = ex.prepare(this);
  io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = ring->group();
  armed = true;
  cancel_sent = false;
}

void StreamState::cancel() noexcept {
  if (armed && !cancel_sent) {
    cancel_sent = true;
    ex.cancel(this);
  }
}

void StreamState::maybe_rearm() noexcept {
  if (armed || direct || orphaned || eof || error || waiting_for_buffers || !ring) return;
  if (queued > core.options().max_queued_per_stream / 2) return;
  if (ex.stopping()) return;
  arm();
}

void StreamState::push(std::uint16_t bid, std::uint32_t len) noexcept {
  ring->length(bid) = len;
  ring->next(bid) = BufferRing::none;
  if (tail == BufferRing::none)
    head = bid;
  else
    ring->next(tail) = bid;
  tail = bid;
  ++queued;
}

std::uint16_t StreamState::pop(std::uint32_t& offset, std::uint32_t& len) noexcept {
  const std::uint16_t bid = head;
  offset = head_offset;
  len = ring->length(bid) - head_offset;
  head = ring->next(bid);
  if (head == BufferRing::none) tail = BufferRing::none;
  head_offset = 0;
  --queued;
  return bid;
}

std::size_t StreamState::copy_out(std::byte* dst, std::size_t n) noexcept {
  std::size_t done = 0;
  while (done < n && queued != 0) {
    const std::uint32_t avail = ring->length(head) - head_offset;
    const std::size_t take = std::min<std::size_t>(avail, n - done);
    std::memcpy(dst + done, ring->data(head) + head_offset, take);
    done += take;
    if (take == avail) {
      std::uint32_t off, len;
      ring->give_back(pop(off, len));
    } else {
      head_offset += static_cast<std::uint32_t>(take);
    }
  }
  return done;
}

void StreamState::release_queue() noexcept {
  while (queued != 0) {
    std::uint32_t off, len;
    ring->give_back(pop(off, len));
  }
}

void StreamState::wake() noexcept {
  RecvWaiter* w = waiter;
  waiter = nullptr;
  w->reg.disarm();
  ex.schedule(w->handle);
}

void StreamState::settle() noexcept {
  if (!waiter) return;
  if (has_data()) {
    wake();
  } else if (ex.stopping()) {
    waiter->canceled = true;  // no more data will come: the runtime is stopping
    wake();
  } else if (!armed && !direct && !waiting_for_buffers) {
    arm();
  }
}

void StreamState::on_recv(kio::detail::Completion* c, int res, unsigned flags) noexcept {
  auto* s = static_cast<StreamState*>(c);
  if (flags & IORING_CQE_F_BUFFER) {
    const auto bid = static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    s->ring->taken();
    if (res > 0 && !s->orphaned)
      s->push(bid, static_cast<std::uint32_t>(res));
    else
      s->ring->give_back(bid);
  }
  if (!(flags & IORING_CQE_F_MORE)) {
    s->armed = false;
    s->cancel_sent = false;
    // A receive that ends without having used the buffer it was woken for passes it on.
    if (!s->ex.stopping() && res != -ENOBUFS) s->ring->kick();
    if (s->orphaned) {
      s->core.free_stream(s);
      return;
    }
    if (res == 0) {
      s->eof = true;
    } else if (res == -ENOBUFS) {
      ++s->ring->exhausted;
      // Nothing was taken from the socket: receive again once the ring has a buffer.
      if (!s->ex.stopping()) {
        if (s->ring->available() > 0)
          s->arm();
        else
          s->ring->add_waiter(s);
      }
    } else if (res == -ECANCELED) {
      // Paused because the queue was full, or cancelled by a stopping runtime.
    } else if (res < 0) {
      s->error = kio::errno_code(res);
    }
    // res > 0 without F_MORE: the kernel ended the receive (e.g. CQ overflow); re-armed on
    // demand.
  } else if (s->queued >= s->core.options().max_queued_per_stream) {
    s->cancel();  // pause: this stream holds its share of buffers
  }
  s->settle();
}

void StreamState::on_buffers_back(BufferWaiter* w) noexcept {
  auto* s = static_cast<StreamState*>(w);
  if (s->ex.stopping()) return;
  if (s->armed || s->direct || s->orphaned || s->eof || s->error) {
    s->ring->kick();  // this stream does not need the buffer: pass it on
    return;
  }
  s->arm();
}

int StreamState::detach(bool keep_fd) noexcept {
  if (direct) {
    // The kernel's recv holds a reference to the socket: until it ends, closing the fd neither
    // sends FIN nor wakes the reader. Cancel it; the awaiter sees `closed` and reports
    // bad_file_descriptor without touching this state again.
    direct->closed = true;
    ex.cancel(direct->op);
    direct = nullptr;
  }
  if (waiter) {
    waiter->state = nullptr;
    waiter->closed = true;
    wake();
  }
  if (ring) {
    release_queue();
    ring->remove_waiter(this);
  }
  const int f = fd;
  fd = -1;
  if (!keep_fd) ::close(f);
  if (armed) {
    orphaned = true;
    cancel();
  } else {
    core.free_stream(this);
  }
  return f;
}

}  // namespace kio::net::detail
