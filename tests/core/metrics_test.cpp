// Description: kio::CoreMetrics and kio::collect_per_core — the counters count exactly what ran
// (operations, completions, resumptions, spawned tasks, cross-core messages), a tiny ring counts
// its SQ-full flushes and CQ overflows, and a snapshot over two cores reads each core on its own
// thread (also under TSan).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "kio/core/core_metrics.hpp"
#include "kio/core/per_core.hpp"
#include "kio/core/runtime.hpp"
#include "kio/core/sleep.hpp"
#include "kio/core/spawn.hpp"
#include "kio/core/spawn_on.hpp"
#include "kio/core/submit_to.hpp"
#include "kio/core/this_core.hpp"
#include "kio/core/yield.hpp"
#include "kio/io/nop.hpp"

using namespace std::chrono_literals;
using kio::CoreMetrics;

namespace {

// One worker and a test thread blocked in block_on: nothing else runs on the core, so the
// counters move by exactly what the task does.
TEST(CoreMetrics, CountsOperationsCompletionsAndResumptionsExactly) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  auto body = []() -> kio::Task<void> {
    const CoreMetrics a = CoreMetrics::this_core();
    constexpr int n = 100;
    for (int i = 0; i < n; ++i)
      EXPECT_TRUE(co_await kio::nop());
    const CoreMetrics b = CoreMetrics::this_core();
    EXPECT_EQ(b.ops_submitted - a.ops_submitted, std::uint64_t{n});
    EXPECT_EQ(b.completions - a.completions, std::uint64_t{n});
    EXPECT_EQ(b.tasks_run - a.tasks_run, std::uint64_t{n});  // resumed once after each nop
    EXPECT_EQ(b.tasks_spawned, a.tasks_spawned);
    EXPECT_EQ(b.sq_full_flushes, 0u);
    EXPECT_EQ(b.cq_overflows, 0u);
    EXPECT_EQ(b.messages_sent, 0u);  // one core: nothing to send to
    EXPECT_EQ(b.messages_received, 0u);
  };
  rt.block_on(body());
}

// Queue depth 8 (SQ 8, CQ 32) and 1000 nops prepared in one batch: the SQ is flushed every 8
// operations and the inline completions overflow the CQ. Every operation still completes.
TEST(CoreMetrics, TinyRingCountsSqFullFlushesAndCqOverflows) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1, .queue_depth = 8});
  auto body = []() -> kio::Task<void> {
    constexpr int n = 1000;
    int done = 0;
    auto one = [](int& done) -> kio::Task<void> {
      if (co_await kio::nop()) ++done;
    };
    const CoreMetrics a = CoreMetrics::this_core();
    for (int i = 0; i < n; ++i)
      kio::spawn(one(done));
    while (done < n)
      co_await kio::yield();
    const CoreMetrics b = CoreMetrics::this_core();
    EXPECT_EQ(done, n);
    EXPECT_EQ(b.tasks_spawned - a.tasks_spawned, std::uint64_t{n});
    EXPECT_EQ(b.ops_submitted - a.ops_submitted, std::uint64_t{n});
    EXPECT_EQ(b.completions - a.completions, std::uint64_t{n});
    EXPECT_GE(b.sq_full_flushes - a.sq_full_flushes, std::uint64_t{n / 8 / 2});
    EXPECT_GE(b.cq_overflows - a.cq_overflows, 1u);
  };
  rt.block_on(body());
}

TEST(CoreMetrics, SumAddsEveryField) {
  CoreMetrics a{1, 2, 3, 4, 5, 6, 7, 8};
  a += CoreMetrics{10, 20, 30, 40, 50, 60, 70, 80};
  EXPECT_EQ(a.tasks_spawned, 11u);
  EXPECT_EQ(a.tasks_run, 22u);
  EXPECT_EQ(a.ops_submitted, 33u);
  EXPECT_EQ(a.completions, 44u);
  EXPECT_EQ(a.sq_full_flushes, 55u);
  EXPECT_EQ(a.cq_overflows, 66u);
  EXPECT_EQ(a.messages_sent, 77u);
  EXPECT_EQ(a.messages_received, 88u);
}

// Core 0 sends k submit_to requests and m spawn_on tasks to core 1, then reads both cores. Each
// core's counters are read on its own thread (TSan checks that no counter is shared).
TEST(CoreMetrics, SnapshotOverTwoCores) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true});
  constexpr unsigned k = 50, m = 10;
  auto body = []() -> kio::Task<kio::PerCore<CoreMetrics>> {
    for (unsigned i = 0; i < k; ++i)
      EXPECT_EQ(co_await kio::submit_to(1, [] { return kio::this_core(); }), 1u);
    std::atomic<unsigned> done{0};
    auto on_one = [](std::atomic<unsigned>& done) -> kio::Task<void> {
      EXPECT_TRUE(co_await kio::nop());
      done.fetch_add(1);
    };
    for (unsigned i = 0; i < m; ++i)
      co_await kio::spawn_on(1, on_one(done));
    while (done.load() < m)
      co_await kio::sleep_for(1ms);
    co_return co_await kio::collect_per_core(&CoreMetrics::this_core);
  };
  const kio::PerCore<CoreMetrics> s = rt.block_on(body());
  ASSERT_EQ(s.cores.size(), 2u);
  const CoreMetrics& c0 = s.cores[0];
  const CoreMetrics& c1 = s.cores[1];
  // Core 0 is read first, in place: k requests and m tasks sent; the snapshot's own request to
  // core 1 is counted on either side only after the read.
  EXPECT_EQ(c0.messages_sent, k + m);
  EXPECT_EQ(c1.messages_received, k + m);
  // Core 1 sent k replies, and the m task frames (allocated on core 0) go home in batches.
  EXPECT_GE(c1.messages_sent, k);
  EXPECT_LE(c1.messages_sent, k + m);
  EXPECT_GE(c0.messages_received, k);
  EXPECT_LE(c0.messages_received, c1.messages_sent);
  EXPECT_EQ(c1.tasks_spawned, m);
  EXPECT_GE(c1.ops_submitted, m);
  EXPECT_GE(c1.completions, m);
  EXPECT_GE(c1.tasks_run, m);
  EXPECT_GE(c0.tasks_spawned, 1u);  // block_on's task
  CoreMetrics sum = c0;
  sum += c1;
  EXPECT_EQ(s.total.messages_sent, sum.messages_sent);
  EXPECT_EQ(s.total.messages_received, sum.messages_received);
  EXPECT_EQ(s.total.tasks_spawned, sum.tasks_spawned);
  EXPECT_EQ(s.total.tasks_run, sum.tasks_run);
  EXPECT_EQ(s.total.ops_submitted, sum.ops_submitted);
  EXPECT_EQ(s.total.completions, sum.completions);
}

// A value type of the caller's own: collect_per_core is not tied to kio's metrics.
struct Cores {
  unsigned count = 0;
  unsigned index_sum = 0;
  Cores& operator+=(const Cores& o) {
    count += o.count;
    index_sum += o.index_sum;
    return *this;
  }
};

TEST(CollectPerCore, RunsTheReadOnEveryCore) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true});
  auto s = rt.block_on(kio::collect_per_core([] { return Cores{1, kio::this_core()}; }));
  ASSERT_EQ(s.cores.size(), 2u);
  EXPECT_EQ(s.cores[0].index_sum, 0u);
  EXPECT_EQ(s.cores[1].index_sum, 1u);
  EXPECT_EQ(s.total.count, 2u);
  EXPECT_EQ(s.total.index_sum, 1u);
}

}  // namespace
