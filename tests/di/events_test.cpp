// Description: kio::di::EventChannel: typed per-core events in publication order, dispatched
// later (never inline), handlers removed by unsubscribing or when their service stops (also
// between queueing and dispatch), payload lifetimes, and one channel per core.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "co_assert.hpp"
#include "kio/kio.hpp"
#include "one_worker.hpp"
#include "sanitizers.hpp"

namespace di = kio::di;

namespace {

struct Tick {
  int n;
};
struct Note {
  std::string text;  // not trivially destructible: the queue must destroy it
};
struct Quit {};

TEST(Events, DeliveredInOrderLaterAndByType) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::EventChannel ch;
    std::vector<std::string> seen;
    di::Subscription a =
        ch.subscribe<Tick>([&](const Tick& t) { seen.push_back(fmt::format("a{}", t.n)); });
    di::Subscription b = ch.subscribe<Tick>([&](const Tick& t, const di::EventHeader& h) {
      EXPECT_EQ(h.origin, di::ServiceId::invalid);
      seen.push_back(fmt::format("b{}", t.n));
    });
    di::Subscription n = ch.subscribe<Note>([&](const Note& x) { seen.push_back(x.text); });
    ch.publish(Tick{1});
    ch.publish(Note{std::string(100, 'x').substr(0, 5)});
    ch.publish(Quit{});  // nobody listens: dispatched to no one
    ch.publish(Tick{2});
    EXPECT_TRUE(seen.empty());  // never inline
    EXPECT_EQ(ch.pending(), 4u);
    co_await kio::yield();
    EXPECT_EQ(seen, (std::vector<std::string>{"a1", "b1", "xxxxx", "a2", "b2"}));
    b.reset();
    ch.publish(Tick{3});
    co_await kio::yield();
    EXPECT_EQ(seen.back(), "a3");
    EXPECT_EQ(ch.handlers<Tick>(), 1u);
  }());
}

TEST(Events, HandlersRemovedDuringDispatchDoNotRun) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    di::EventChannel ch;
    int first = 0, second = 0, self = 0;
    di::Subscription s2;
    di::Subscription s3;
    di::Subscription s1 = ch.subscribe<Tick>([&](const Tick&) {
      ++first;
      s2.reset();  // an earlier handler removes a later one of the same event
    });
    s2 = ch.subscribe<Tick>([&](const Tick&) { ++second; });
    s3 = ch.subscribe<Tick>([&](const Tick&) {
      ++self;
      s3.reset();  // a handler removes itself while it runs
    });
    ch.publish(Tick{1});
    ch.publish(Tick{2});
    co_await kio::yield();
    EXPECT_EQ(first, 2);
    EXPECT_EQ(second, 0);
    EXPECT_EQ(self, 1);
  }());
}

TEST(Events, ManyEventsAcrossBlocksAndUndeliveredOnesAreDestroyed) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    std::int64_t sum = 0, notes = 0, expected = 0;
    {
      di::EventChannel ch;
      di::Subscription s = ch.subscribe<Tick>([&](const Tick& t) { sum += t.n; });
      di::Subscription n = ch.subscribe<Note>(
          [&](const Note& x) { notes += static_cast<std::int64_t>(x.text.size()); });
      for (int i = 0; i < 200'000; ++i) {
        ch.publish(Tick{i});
        expected += i;
        if (i % 7 == 0) ch.publish(Quit{});
        if (i % 1000 == 0) ch.publish(Note{std::string(40, 'n')});  // heap-allocated payload
      }
      while (ch.pending() != 0)
        co_await kio::yield();
      EXPECT_EQ(sum, expected);
      EXPECT_EQ(notes, 200 * 40);
      ch.publish(Note{std::string(64, 'z')});  // never dispatched: freed with the channel
    }
  }());
}

// A channel destroyed while the dispatcher its first publish spawned is still queued: the
// dispatcher must end without touching the channel. (It used to write into the dead channel as it
// started: caught by ASan once the frame pool poisoned freed frames.) The channel lives in a buffer
// that is refilled with a pattern after it is destroyed, so a write shows without ASan too.
TEST(Events, ChannelDestroyedBeforeItsDispatcherRan) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    alignas(di::EventChannel) std::array<unsigned char, sizeof(di::EventChannel)> mem;
    auto* ch = ::new (mem.data()) di::EventChannel;
    int calls = 0;
    {
      di::Subscription s = ch->subscribe<Tick>([&](const Tick&) { ++calls; });
      ch->publish(Tick{1});  // spawns the dispatcher: queued, not run yet
      EXPECT_TRUE(ch->dispatching());
    }
    ch->~EventChannel();
    mem.fill(0xA5);
    for (int i = 0; i < 3; ++i)
      co_await kio::yield();  // the dispatcher runs now
    EXPECT_EQ(calls, 0);
    EXPECT_TRUE(std::all_of(mem.begin(), mem.end(), [](unsigned char c) { return c == 0xA5; }))
        << "the dispatcher wrote into the destroyed channel";
  }());
}

// ---- through the registry ---------------------------------------------------------------------

struct Listener {
  explicit Listener(di::Context& c) : ctx(c) {}
  void start() {
    ctx.subscribe<Tick>([this](const Tick& t) {
      got.push_back(t.n);
      ++calls;
    });
  }
  di::Context& ctx;
  std::vector<int> got;
  static inline int delivered_after_stop = 0;
  static inline int calls = 0;
  ~Listener() { delivered_after_stop = static_cast<int>(got.size()); }
};
struct Publisher {
  Publisher(di::Context& c) : ctx(c) {}
  void start() {
    ctx.subscribe<Tick>([](const Tick&, const di::EventHeader& h) { origins.push_back(h.origin); });
    for (int i = 0; i < 3; ++i)
      ctx.publish(Tick{i});
    // Queued behind this start(): the listener stops before the dispatcher gets to the ticks.
    ctx.registry().post_stop(listener);
  }
  di::Context& ctx;
  static inline di::ServiceId listener;
  static inline std::vector<std::uint32_t> origins;
};

TEST(Events, ServiceHandlersAreRemovedWhenTheServiceStops) {
  kio_test::rt().block_on([]() -> kio::Task<void> {
    Publisher::origins.clear();
    Listener::delivered_after_stop = -1;
    Listener::calls = 0;
    di::Registry reg;
    Publisher::listener =
        reg.add<Listener>(di::every_core, [](di::Context& c) { return Listener(c); });
    auto pub = reg.add<Publisher>(di::every_core, [](di::Context& c) { return Publisher(c); });
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    CO_ASSERT(co_await reg.wait_for(Publisher::listener, di::State::stopped));
    while (reg.events().pending() != 0)
      co_await kio::yield();
    EXPECT_EQ(Listener::delivered_after_stop, 0);
    EXPECT_EQ(Listener::calls, 0);  // queued before it stopped, dispatched after: not delivered
    EXPECT_EQ(Publisher::origins, (std::vector<std::uint32_t>{pub.index, pub.index, pub.index}));
    EXPECT_EQ(reg.events().handlers<Tick>(), 1u);  // the publisher's own
    co_await reg.stop();
    EXPECT_EQ(reg.events().handlers<Tick>(), 0u);
  }());
}

struct CoreListener {
  explicit CoreListener(di::Context& c) : ctx(c) {}
  void start() {
    ctx.subscribe<Tick>([this](const Tick& t) {
      EXPECT_EQ(kio::this_core(), ctx.core());
      seen.fetch_add(t.n);
    });
  }
  di::Context& ctx;
  std::atomic<int> seen{0};
};

TEST(Events, EachCoreHasItsOwnChannel) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true});
  rt.block_on([]() -> kio::Task<void> {
    di::Registry reg;
    auto l = reg.add<CoreListener>(di::every_core, [](di::Context& c) { return CoreListener(c); });
    CO_ASSERT(static_cast<bool>(co_await reg.start()));
    reg.events().publish(Tick{5});  // core 0's channel
    co_await kio::submit_to(1, [&] { reg.events().publish(Tick{7}); });
    for (int i = 0; i < 1000; ++i) {
      const int one =
          co_await kio::submit_to(1, [&] { return reg.local<CoreListener>(l)->seen.load(); });
      if (reg.local<CoreListener>(l)->seen.load() == 5 && one == 7) break;
      co_await kio::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(reg.local<CoreListener>(l)->seen.load(), 5);
    EXPECT_EQ(co_await kio::submit_to(1, [&] { return reg.local<CoreListener>(l)->seen.load(); }),
              7);
    co_await reg.stop();
  }());
}

}  // namespace
