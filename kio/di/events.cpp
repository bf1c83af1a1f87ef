#include "kio/di/events.hpp"

#include <exception>
#include <utility>

#include "kio/core/log.hpp"
#include "kio/core/spawn.hpp"
#include "kio/core/yield.hpp"

namespace kio::di {

namespace detail {

EventQueue::~EventQueue() {
  for (Block* b = rb_; b;) {
    Block* next = b->next;
    delete b;
    b = next;
  }
  delete spare_;
}

void EventQueue::next_write_block() {
  if (wb_ && static_cast<std::size_t>(wend_ - w_) >= sizeof(Header)) {
    const Header end{0, 0};
    std::memcpy(w_, &end, sizeof end);
  }
  Block* b = spare_ ? std::exchange(spare_, nullptr) : new Block;
  b->next = nullptr;
  if (wb_)
    wb_->next = b;
  else {
    rb_ = b;
    r_ = b->data;
    rend_ = b->data + data_bytes;
  }
  wb_ = b;
  w_ = b->data;
  wend_ = b->data + data_bytes;
}

void EventQueue::next_read_block() noexcept {
  Block* old = rb_;
  rb_ = old->next;
  r_ = rb_->data;
  rend_ = rb_->data + data_bytes;
  if (!spare_)
    spare_ = old;
  else
    delete old;
}

}  // namespace detail

void Subscription::reset() noexcept {
  if (!h_) return;
  ch_->unlink(h_);
  h_ = nullptr;
  ch_ = nullptr;
}

EventChannel::~EventChannel() {
  if (task_slot_) *task_slot_ = nullptr;
  while (const detail::EventQueue::Header* h = queue_.front()) {
    const TypeEntry& t = types_[h->type];
    if (t.destroy) t.destroy(queue_.front_payload());
    queue_.pop(t.payload);
  }
}

void EventChannel::link(detail::HandlerBase* h) {
  TypeEntry& t = types_[h->type];
  h->prev = t.tail;
  h->next = nullptr;
  if (t.tail)
    t.tail->next = h;
  else
    t.head = h;
  t.tail = h;
}

void EventChannel::unlink(detail::HandlerBase* h) noexcept {
  TypeEntry& t = types_[h->type];
  if (h->prev)
    h->prev->next = h->next;
  else
    t.head = h->next;
  if (h->next)
    h->next->prev = h->prev;
  else
    t.tail = h->prev;
  if (cursor_ == h) cursor_ = h->next;
  if (running_ == h)
    h->doomed = true;  // freed once it returns
  else
    h->destroy(h);
}

std::size_t EventChannel::dispatch(std::size_t max) {
  std::size_t n = 0;
  while (n < max) {
    const detail::EventQueue::Header* h = queue_.front();
    if (!h) break;
    const EventHeader hd{h->type, h->origin};
    void* payload = queue_.front_payload();
    for (detail::HandlerBase* x = types_[hd.type].head; x; x = cursor_) {
      cursor_ = x->next;
      running_ = x;
      try {
        x->call(x, payload, hd);
      } catch (const std::exception& e) {
        kio::log_error("kio::di: an event handler threw: {}", e.what());
      } catch (...) {
        kio::log_error("kio::di: an event handler threw");
      }
      running_ = nullptr;
      if (x->doomed) x->destroy(x);
    }
    cursor_ = nullptr;
    const TypeEntry& t = types_[hd.type];  // handlers may have grown the table
    if (t.destroy) t.destroy(payload);
    queue_.pop(t.payload);
    ++n;
  }
  return n;
}

void EventChannel::schedule() {
  scheduled_ = true;
  kio::spawn(dispatcher(DispatcherSlot(this)));
}

// The channel may go away before this runs, or while it yields: ~EventChannel clears slot.ch.
// If this frame goes away first (it ends, or runtime teardown destroys it), ~DispatcherSlot tells
// the channel.
Task<void> EventChannel::dispatcher(DispatcherSlot slot) {
  while (slot.ch) {
    slot.ch->dispatch(dispatch_batch);
    if (!slot.ch || slot.ch->queue_.empty()) break;
    co_await kio::yield();
  }
}

}  // namespace kio::di
