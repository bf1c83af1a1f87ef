// Description: kio::fs::BufferPool / FixedBuffer — O_DIRECT round trips through registered
// buffers (misalignment is invalid_argument), exhaustion waits FIFO and never fails, a waiting
// acquire under kio::timeout, one pool per core, leases outliving the pool, waiters woken when
// the pool goes, and runtime teardown with a fixed-buffer read in flight and a handed-over lease
// (ASan/LSan: nothing used after free, nothing leaked).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "co_assert.hpp"
#include "fs_util.hpp"
#include "kio/kio.hpp"

using namespace std::chrono_literals;
using kio::fs::BufferPool;
using kio::fs::File;
using kio::fs::FixedBuffer;

namespace {

// Each test gets its own runtime: a ring holds one pool's registration at a time.
#define MAKE_RT kio::Runtime rt(kio::RuntimeOptions{.workers = 1})

/// A directory whose filesystem accepts O_DIRECT: /tmp (or $TMPDIR), else the build directory.
std::optional<std::string> direct_io_base(std::string& tried) {
  const char* t = std::getenv("TMPDIR");
  for (std::string base :
       {std::string(t && *t ? t : "/tmp"), std::filesystem::current_path().string()}) {
    std::string probe = base + "/kio-odirect-probe-" + std::to_string(::getpid());
    int fd = ::open(probe.c_str(), O_RDWR | O_CREAT | O_DIRECT, 0600);
    tried += base + (fd >= 0 ? " (ok) " : " (" + std::string(std::strerror(errno)) + ") ");
    if (fd >= 0) {
      ::close(fd);
      ::unlink(probe.c_str());
      return base;
    }
    ::unlink(probe.c_str());
  }
  return std::nullopt;
}

TEST(BufferPool, DirectIoRoundTripThroughRegisteredBuffers) {
  std::string tried;
  auto base = direct_io_base(tried);
  if (!base) GTEST_SKIP() << "no filesystem here accepts O_DIRECT; tried: " << tried;
  fs_test::TempDir dir(*base);
  std::string path = dir / "direct";
  MAKE_RT;
  rt.block_on([&]() -> kio::Task<void> {
    auto pool = BufferPool::create({.buffers = 4, .buffer_size = 1 << 20});
    CO_ASSERT(pool, pool.error().message());
    CO_ASSERT_EQ(pool->capacity(), 4u);
    CO_ASSERT_EQ(pool->buffer_size(), 1u << 20);
    auto f = co_await File::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
    CO_ASSERT(f, f.error().message());
    constexpr int chunks = 8;  // 8 MiB through 1 MiB buffers
    for (int i = 0; i < chunks; ++i) {
      auto buf = co_await pool->acquire();
      CO_ASSERT(buf);
      CO_ASSERT(reinterpret_cast<std::uintptr_t>(buf->data()) % 4096 == 0);
      auto data = fs_test::pattern(buf->size(), static_cast<std::uint32_t>(i));
      std::memcpy(buf->data(), data.data(), data.size());
      auto w = co_await f->write_fixed_at(*buf, std::uint64_t(i) << 20, buf->size());
      CO_ASSERT(w, w.error().message());
      CO_ASSERT_EQ(*w, buf->size());
    }
    CO_ASSERT(co_await f->fdatasync());
    for (int i = chunks - 1; i >= 0; --i) {
      auto buf = co_await pool->acquire();
      CO_ASSERT(buf);
      std::memset(buf->data(), 0, buf->size());
      auto r = co_await f->read_fixed_at(*buf, std::uint64_t(i) << 20);
      CO_ASSERT(r, r.error().message());
      CO_ASSERT_EQ(*r, buf->size());
      auto data = fs_test::pattern(buf->size(), static_cast<std::uint32_t>(i));
      CO_ASSERT(std::memcmp(buf->data(), data.data(), data.size()) == 0, "chunk " << i);
    }
    // Short read at the end of the file, then 0.
    auto buf = co_await pool->acquire();
    auto tail = co_await f->read_fixed_at(*buf, (std::uint64_t(chunks) << 20) - 4096);
    CO_ASSERT(tail);
    CO_ASSERT_EQ(*tail, 4096u);
    auto eof = co_await f->read_fixed_at(*buf, std::uint64_t(chunks) << 20);
    CO_ASSERT(eof);
    CO_ASSERT_EQ(*eof, 0u);
    // O_DIRECT wants block-aligned offsets and lengths.
    auto odd = co_await f->read_fixed_at(*buf, 1);
    CO_ASSERT(!odd);
    CO_ASSERT_EQ(odd.error(), std::errc::invalid_argument);
    auto odd_len = co_await f->write_fixed_at(*buf, 0, 100);
    CO_ASSERT(!odd_len);
    CO_ASSERT_EQ(odd_len.error(), std::errc::invalid_argument);
  }());
}

TEST(BufferPool, ExhaustionWaitsInOrderAndNeverFails) {
  MAKE_RT;
  rt.block_on([]() -> kio::Task<void> {
    auto pool = BufferPool::create({.buffers = 2, .buffer_size = 4096});
    CO_ASSERT(pool, pool.error().message());
    auto a = co_await pool->acquire();
    auto b = co_await pool->acquire();
    CO_ASSERT(a && b);
    CO_ASSERT(a->index() != b->index());
    CO_ASSERT_EQ(pool->available(), 0u);
    auto none = pool->try_acquire();
    CO_ASSERT(!none);
    CO_ASSERT_EQ(none.error(), std::errc::resource_unavailable_try_again);

    std::vector<int> got;
    auto waiter = [](BufferPool& p, std::vector<int>& got, int id) -> kio::Task<void> {
      auto buf = co_await p.acquire();
      CO_ASSERT(buf);
      got.push_back(id);
      co_await kio::yield();  // hold it a moment, then return it
    };
    kio::TaskGroup group(co_await kio::this_cancel_token());
    for (int id = 0; id < 5; ++id)
      group.spawn(waiter(*pool, got, id));
    co_await kio::yield();
    CO_ASSERT(got.empty());  // all five wait
    const int first = a->index();
    a->release();  // goes straight to waiter 0
    CO_ASSERT_EQ(pool->available(), 0u);
    b->release();
    co_await group.join();
    CO_ASSERT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
    CO_ASSERT_EQ(pool->available(), 2u);
    auto again = pool->try_acquire();
    CO_ASSERT(again);
    CO_ASSERT(again->index() == first || again->index() == 1 - first);
  }());
}

TEST(BufferPool, WaitingAcquireUnderTimeout) {
  MAKE_RT;
  rt.block_on([]() -> kio::Task<void> {
    auto pool = BufferPool::create({.buffers = 1, .buffer_size = 4096});
    CO_ASSERT(pool);
    auto held = co_await pool->acquire();
    CO_ASSERT(held);
    auto r = co_await kio::timeout(20ms, pool->acquire());
    CO_ASSERT(!r);
    CO_ASSERT_EQ(r.error(), std::errc::timed_out);
    held->release();
    CO_ASSERT_EQ(pool->available(), 1u);  // the cancelled waiter took nothing
    auto ok = co_await kio::timeout(20ms, pool->acquire());
    CO_ASSERT(ok);
  }());
}

TEST(BufferPool, OnePoolPerCore) {
  MAKE_RT;
  rt.block_on([]() -> kio::Task<void> {
    auto first = BufferPool::create({.buffers = 1, .buffer_size = 4096});
    CO_ASSERT(first);
    auto second = BufferPool::create({.buffers = 1, .buffer_size = 4096});
    CO_ASSERT(!second);
    CO_ASSERT_EQ(second.error(), std::errc::device_or_resource_busy);
    auto bad = BufferPool::create({.buffers = 0, .buffer_size = 4096});
    CO_ASSERT(!bad);
    CO_ASSERT_EQ(bad.error(), std::errc::invalid_argument);
    first = std::errc::operation_canceled;  // destroys the first pool: unregisters
    auto third = BufferPool::create({.buffers = 1, .buffer_size = 4096});
    CO_ASSERT(third, third.error().message());
  }());
}

TEST(BufferPool, LeaseOutlivesThePoolAndWaitersAreWoken) {
  MAKE_RT;
  rt.block_on([]() -> kio::Task<void> {
    std::optional<BufferPool> pool;
    {
      auto p = BufferPool::create({.buffers = 1, .buffer_size = 8192});
      CO_ASSERT(p);
      pool.emplace(std::move(*p));
    }
    auto lease = co_await pool->acquire();
    CO_ASSERT(lease);
    std::error_code woken;
    auto waiter = [](BufferPool& p, std::error_code& out) -> kio::Task<void> {
      auto b = co_await p.acquire();
      out = b ? std::error_code{} : b.error();
    };
    kio::TaskGroup group(co_await kio::this_cancel_token());
    group.spawn(waiter(*pool, woken));
    co_await kio::yield();
    pool.reset();  // the waiter learns the pool is gone; the lease stays usable
    co_await group.join();
    CO_ASSERT_EQ(woken, std::errc::bad_file_descriptor);
    std::memset(lease->data(), 0xab, lease->size());  // ASan: still mapped
    lease->release();                                 // the last reference frees it
  }());
}

// Teardown: one task waits in a fixed-buffer read on a FIFO, another was handed a buffer but
// never resumed. Stopping the runtime must finish the read, then destroy both frames, returning
// both leases, and free the pool (LSan reports a leak otherwise).
TEST(BufferPool, RuntimeTeardownWithReadInFlightAndAHandedOverLease) {
  fs_test::TempDir dir;
  std::string fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::atomic<int> stage{0};
  {
    kio::Runtime rt(kio::RuntimeOptions{.workers = 1, .shutdown_grace = 10ms});
    (void)rt.spawn_on(0, [](const std::string* path, std::atomic<int>* stage) -> kio::Task<void> {
      auto pool = BufferPool::create({.buffers = 1, .buffer_size = 65536});
      if (!pool) co_return;
      auto f = co_await File::open(path->c_str(), O_RDWR);
      if (!f) co_return;
      auto buf = co_await pool->acquire();
      auto late = [](BufferPool& p) -> kio::Task<void> {
        for (;;) {
          auto b = co_await kio::with_cancel(kio::CancelToken{}, p.acquire());
          (void)b;
        }
      };
      kio::spawn(late(*pool));  // waits for the buffer held below
      stage->store(1);
      // The read never completes on its own; the runtime's teardown cancels it.
      (void)co_await kio::with_cancel(kio::CancelToken{}, f->read_fixed_at(*buf, 0));
      ADD_FAILURE() << "resumed after the read although the runtime was tearing down";
    }(&fifo, &stage));
    for (int i = 0; i < 500 && stage.load() == 0; ++i)
      std::this_thread::sleep_for(2ms);
    ASSERT_EQ(stage.load(), 1);
    std::this_thread::sleep_for(20ms);
    rt.stop();
  }
  SUCCEED();  // the checks are ASan's and LSan's
}

}  // namespace
