// Description: raw io_uring ops: pipe read/write, cancellation of a blocked read, timeouts on
// I/O, and the submission-queue-full / CQ-overflow paths with 10,000 concurrent operations.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <string_view>

#include "kio/kio.hpp"

using namespace std::chrono_literals;

namespace {

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    ::close(r);
    ::close(w);
  }
};

std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span(s));
}

TEST(IoOp, PipeWriteThenRead) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  Pipe p;
  auto body = [](Pipe& p) -> kio::Task<std::string> {
    auto w = co_await kio::write(p.w, bytes("hello"));
    EXPECT_TRUE(w);
    EXPECT_EQ(*w, 5u);
    std::array<std::byte, 16> buf{};
    auto r = co_await kio::read(p.r, buf);
    EXPECT_TRUE(r);
    co_return std::string(reinterpret_cast<const char*>(buf.data()), *r);
  };
  EXPECT_EQ(rt.block_on(body(p)), "hello");
}

// An SQE's length is 32 bits: a 4 GiB write used to wrap to a zero-length write (and 4 GiB + n
// to n bytes). It must complete short instead, with as much as one call may move.
TEST(IoOp, LengthsOf4GiBAndMoreCompleteShortInsteadOfWrapping) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  constexpr std::size_t four_gib = std::size_t{1} << 32;
  // Address space only: /dev/null never reads the bytes, so no page is touched.
  void* mem =
      ::mmap(nullptr, four_gib + 16, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  const int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto body = [](int fd, const std::byte* p, std::size_t n) -> kio::Task<kio::Result<std::size_t>> {
    co_return co_await kio::write(fd, std::span<const std::byte>(p, n));
  };
  auto* p = static_cast<const std::byte*>(mem);
  auto exact = rt.block_on(body(fd, p, four_gib));
  auto more = rt.block_on(body(fd, p, four_gib + 16));
  ::close(fd);
  ::munmap(mem, four_gib + 16);
  ASSERT_TRUE(exact) << exact.error().message();
  ASSERT_TRUE(more) << more.error().message();
  EXPECT_EQ(*exact, kio::detail::max_io_length);
  EXPECT_EQ(*more, kio::detail::max_io_length);
}

TEST(IoOp, ErrorsAreErrorCodes) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  auto body = []() -> kio::Task<kio::Result<std::size_t>> {
    std::array<std::byte, 4> buf{};
    co_return co_await kio::read(-1, buf);
  };
  auto r = rt.block_on(body());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::bad_file_descriptor);
}

TEST(IoOp, CancelBlockedReadThenDataIsNotLost) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  Pipe p;
  auto body = [](Pipe& p) -> kio::Task<std::string> {
    kio::CancelSource src;
    auto canceller = [](kio::CancelSource& s) -> kio::Task<void> {
      co_await kio::sleep_for(10ms);
      s.request_cancel();
    };
    kio::spawn(canceller(src));
    std::array<std::byte, 16> buf{};
    auto r = co_await kio::with_cancel(src.token(), kio::read(p.r, buf));
    EXPECT_FALSE(r);
    EXPECT_EQ(r.error(), std::errc::operation_canceled);
    // The cancelled read is gone from the kernel: the next bytes go to the next read.
    (void)co_await kio::write(p.w, bytes("after"));
    auto r2 = co_await kio::read(p.r, buf);
    EXPECT_TRUE(r2);
    co_return std::string(reinterpret_cast<const char*>(buf.data()), r2.value_or(0));
  };
  EXPECT_EQ(rt.block_on(body(p)), "after");
}

TEST(IoOp, ReadTimesOut) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  Pipe p;
  auto body = [](Pipe& p) -> kio::Task<kio::Result<std::size_t>> {
    std::array<std::byte, 16> buf{};
    co_return co_await kio::timeout(20ms, kio::read(p.r, buf));
  };
  auto r = rt.block_on(body(p));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::timed_out);
}

TEST(IoOp, ReadBeatsTimeout) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  Pipe p;
  auto body = [](Pipe& p) -> kio::Task<kio::Result<std::size_t>> {
    auto writer = [](int fd) -> kio::Task<void> {
      co_await kio::sleep_for(5ms);
      (void)co_await kio::write(fd, bytes("x"));
    };
    kio::spawn(writer(p.w));
    std::array<std::byte, 16> buf{};
    co_return co_await kio::timeout(30s, kio::read(p.r, buf));
  };
  auto r = rt.block_on(body(p));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 1u);
}

// Queue depth 8 (SQ 8, CQ 32) with 10,000 operations in flight at once: get_sqe must flush and
// retry when the SQ is full, and completions beyond the CQ's size must not be lost.
TEST(IoOp, TenThousandConcurrentReadsOnTinyRing) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1, .queue_depth = 8});
  Pipe p;
  constexpr int n = 10'000;
  auto body = [](Pipe& p) -> kio::Task<long> {
    long total = 0;
    int done = 0;
    auto reader = [](int fd, long& total, int& done) -> kio::Task<void> {
      std::array<std::byte, 1> b{};
      auto r = co_await kio::read(fd, b);
      if (r) total += static_cast<long>(*r);
      ++done;
    };
    for (int i = 0; i < n; ++i)
      kio::spawn(reader(p.r, total, done));
    co_await kio::sleep_for(20ms);  // every read is now parked in the kernel
    std::string data(n, 'x');
    std::size_t off = 0;
    while (off < data.size()) {
      auto w = co_await kio::write(p.w, bytes(std::string_view(data).substr(off)));
      if (!w) co_return -1;
      off += *w;
    }
    while (done < n)
      co_await kio::sleep_for(1ms);
    co_return total;
  };
  EXPECT_EQ(rt.block_on(body(p)), n);
}

TEST(IoOp, TenThousandNopsOnTinyRing) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1, .queue_depth = 8});
  auto body = []() -> kio::Task<int> {
    int ok = 0, done = 0;
    auto one = [](int& ok, int& done) -> kio::Task<void> {
      if (co_await kio::nop()) ++ok;
      ++done;
    };
    for (int i = 0; i < 10'000; ++i)
      kio::spawn(one(ok, done));
    while (done < 10'000)
      co_await kio::yield();
    co_return ok;
  };
  EXPECT_EQ(rt.block_on(body()), 10'000);
}

TEST(IoOp, SqpollModeRunsIo) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1, .ring_mode = kio::RingMode::sqpoll});
  auto body = []() -> kio::Task<int> {
    int ok = 0;
    for (int i = 0; i < 1000; ++i)
      if (co_await kio::nop()) ++ok;
    co_return ok;
  };
  EXPECT_EQ(rt.block_on(body()), 1000);
}

TEST(IoOp, CoopTaskrunModeRunsIo) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1, .ring_mode = kio::RingMode::coop_taskrun});
  Pipe p;
  auto body = [](Pipe& p) -> kio::Task<kio::Result<std::size_t>> {
    std::array<std::byte, 16> buf{};
    (void)co_await kio::write(p.w, bytes("abc"));
    co_return co_await kio::read(p.r, buf);
  };
  auto r = rt.block_on(body(p));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 3u);
}

}  // namespace
