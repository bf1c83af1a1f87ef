#include "kio/net/detail/listener_state.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kio/core/log.hpp"
#include "kio/net/detail/socket.hpp"

namespace kio::net::detail {

namespace {
std::size_t ring_capacity(unsigned want) {
  std::size_t c = 8;
  while (c < want)
    c *= 2;
  return c;
}
}  // namespace

ListenerState::ListenerState(kio::detail::Executor& e, int f, const ListenOptions& o)
    : ex(e), fd(f), opts(o), next_backoff(o.backoff) {
  if (opts.accept_queue == 0) opts.accept_queue = 1;
  on_cqe = &ListenerState::on_accept;
  fire = &ListenerState::on_timer;
  ring_.assign(ring_capacity(opts.accept_queue), -1);
}

int ListenerState::pop() noexcept {
  const int f = ring_[head_];
  head_ = (head_ + 1) & (ring_.size() - 1);
  --count_;
  return f;
}

void ListenerState::push(int f) {
  if (count_ == ring_.size()) {
    // Only reachable when accepts complete between a pause request and its effect.
    std::vector<int> bigger(ring_.size() * 2, -1);
    for (std::size_t i = 0; i < count_; ++i)
      bigger[i] = ring_[(head_ + i) & (ring_.size() - 1)];
    ring_.swap(bigger);
    head_ = 0;
  }
  ring_[(head_ + count_) & (ring_.size() - 1)] = f;
  ++count_;
}

void ListenerState::link(AcceptWaiter* w) noexcept {
  w->state = this;
  w->next = nullptr;
  w->prev = last_;
  if (last_)
    last_->next = w;
  else
    first_ = w;
  last_ = w;
}

void ListenerState::unlink(AcceptWaiter* w) noexcept {
  if (w->prev)
    w->prev->next = w->next;
  else
    first_ = w->next;
  if (w->next)
    w->next->prev = w->prev;
  else
    last_ = w->prev;
  w->prev = w->next = nullptr;
  w->state = nullptr;
}

void ListenerState::maybe_arm() noexcept {
  if (!started || armed || orphaned || backing_off || fatal || ex.stopping()) return;
  if (count_ > opts.accept_queue / 2) return;
  io_uring_sqe* sqe = ex.prepare(this);
  io_uring_prep_multishot_accept(sqe, fd, nullptr, nullptr, SOCK_CLOEXEC);
  armed = true;
  cancel_sent = false;
}

void ListenerState::deliver(int f) noexcept {
  if (AcceptWaiter* w = first_) {
    unlink(w);
    w->fd = f;
    w->reg.disarm();
    ex.schedule(w->handle);
    return;
  }
  try {
    push(f);
  } catch (...) {
    ::close(f);  // out of memory: the connection cannot be kept
  }
}

void ListenerState::fail_waiters(std::error_code ec) noexcept {
  while (AcceptWaiter* w = first_) {
    unlink(w);
    w->ec = ec;
    w->reg.disarm();
    ex.schedule(w->handle);
  }
}

void ListenerState::on_exhausted(int err) noexcept {
  ++exhaustion_count;
  if (!logged_exhaustion) {
    logged_exhaustion = true;
    std::string where = "?";
    if (auto a = local_address(fd)) where = a->to_string();
    kio::log_warn(
        "kio::net: listener {}: accept failed: {} ({}); pausing accepts for {} ms (up to {} ms) "
        "and retrying; raise `ulimit -n` if this persists. Logged once per listener.",
        where, std::strerror(err), strerrorname_np(err), next_backoff.count(),
        opts.max_backoff.count());
  }
  backing_off = true;
  deadline = kio::detail::Clock::now() + next_backoff;
  ex.add_timer(this);
  next_backoff = std::min(next_backoff * 2, opts.max_backoff);
}

void ListenerState::on_timer(kio::detail::TimerNode* n) noexcept {
  auto* self = static_cast<ListenerState*>(n);
  self->backing_off = false;
  self->maybe_arm();
}

void ListenerState::on_accept(kio::detail::Completion* c, int res, unsigned flags) noexcept {
  auto* self = static_cast<ListenerState*>(c);
  const bool more = flags & IORING_CQE_F_MORE;
  if (res >= 0) {
    if (self->orphaned) {
      ::close(res);
    } else {
      self->next_backoff = self->opts.backoff;
      self->deliver(res);
    }
  } else if (!self->orphaned) {
    switch (-res) {
      case EMFILE:
      case ENFILE:
      case ENOBUFS:
      case ENOMEM:
        if (!more && !self->ex.stopping()) self->on_exhausted(-res);
        break;
      case ECANCELED:  // paused, closed, or the runtime is stopping
      case ECONNABORTED:
      case EPROTO:
      case EPERM:
      case EINTR:
      case EAGAIN:
      case ETIMEDOUT:
      case ENETDOWN:
      case ENETUNREACH:
      case EHOSTUNREACH:
      case EHOSTDOWN:
      case ENONET:
      case ENOPROTOOPT:
      case EOPNOTSUPP:
        break;  // the connection failed, not the listener: keep accepting
      default:
        self->fatal = kio::errno_code(res);
        self->fail_waiters(self->fatal);
    }
  }
  if (!more) {
    self->armed = false;
    self->cancel_sent = false;
    if (self->orphaned) {
      delete self;
      return;
    }
    self->maybe_arm();
  } else if (self->count_ >= self->opts.accept_queue && !self->cancel_sent) {
    self->cancel_sent = true;  // pause: the queue is full
    self->ex.cancel(self);
  }
}

void ListenerState::detach() noexcept {
  while (count_ != 0)
    ::close(pop());
  fail_waiters(std::make_error_code(std::errc::bad_file_descriptor));
  if (TimerNode::queued()) ex.remove_timer(this);
  ::close(fd);
  fd = -1;
  if (armed) {
    orphaned = true;
    if (!cancel_sent) {
      cancel_sent = true;
      ex.cancel(this);
    }
  } else {
    delete this;
  }
}

}  // namespace kio::net::detail
