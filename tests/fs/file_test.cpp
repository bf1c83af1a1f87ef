// Description: kio::fs::File — round trips of 0 B … 64 MiB, short reads at EOF, vectored I/O,
// fsync/fdatasync, statx, each error code, open_beneath escapes, cancellation (a blocked FIFO
// read under kio::timeout loses nothing; a large read under a tiny timeout has finished when
// timeout() returns) and a runtime stopped with a read in flight (ASan: no use after free).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "co_assert.hpp"
#include "fs_util.hpp"
#include "kio/kio.hpp"
#include "one_worker.hpp"

using namespace std::chrono_literals;
using kio::fs::File;
using kio_test::rt;

namespace {

// Root bypasses file permissions (CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH), which would hide
// EACCES. Drop both from the effective set before any thread exists, so the runtime's workers
// (and the kernel's io-wq threads they spawn) inherit the reduced set. They stay permitted.
bool drop_dac_capabilities() {
  if (geteuid() != 0) return false;
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &hdr, data) != 0) return false;
  data[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
  return syscall(SYS_capset, &hdr, data) == 0;
}
const bool dac_dropped = drop_dac_capabilities();

std::span<const std::byte> bytes_of(const std::vector<std::byte>& v) {
  return std::span(v);
}

TEST(File, RoundTripsFromZeroTo64MiB) {
  fs_test::TempDir dir;
  rt().block_on([&]() -> kio::Task<void> {
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{4095}, std::size_t{4096},
                             std::size_t{4097}, std::size_t{65539}, std::size_t{1} << 20,
                             (std::size_t{16} << 20) + 7, std::size_t{64} << 20}) {
      std::string path = dir / ("f" + std::to_string(size));
      auto data = fs_test::pattern(size, static_cast<std::uint32_t>(size));
      auto f = co_await File::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
      CO_ASSERT(f, f.error().message());
      auto w = co_await f->write_exact_at(bytes_of(data), 0);
      CO_ASSERT(w, w.error().message());
      auto st = co_await f->stat();
      CO_ASSERT(st);
      CO_ASSERT_EQ(st->stx_size, size);
      // A buffer larger than the file: the exact read stops at EOF with the file's size.
      std::vector<std::byte> back(size + 100, std::byte{0x5a});
      auto r = co_await f->read_exact_at(back, 0);
      CO_ASSERT(r, r.error().message());
      CO_ASSERT_EQ(*r, size);
      CO_ASSERT(size == 0 || std::memcmp(back.data(), data.data(), size) == 0, "size " << size);
      CO_ASSERT(back[size] == std::byte{0x5a}, "wrote past the count");
      auto eof = co_await f->read_at(back, size);
      CO_ASSERT(eof);
      CO_ASSERT_EQ(*eof, 0u);
      auto c = co_await f->close();
      CO_ASSERT(c);
      CO_ASSERT(!f->is_open());
    }
  }());
}

TEST(File, ShortReadAtEndOfFile) {
  fs_test::TempDir dir;
  rt().block_on([&]() -> kio::Task<void> {
    std::string path = dir / "ten";
    auto f = co_await File::open(path.c_str(), O_RDWR | O_CREAT, 0644);
    CO_ASSERT(f);
    auto data = fs_test::pattern(10);
    CO_ASSERT(co_await f->write_exact_at(bytes_of(data), 0));
    std::vector<std::byte> buf(100);
    for (auto [off, want] : {std::pair{0u, 10u}, {5u, 5u}, {9u, 1u}, {10u, 0u}, {1000u, 0u}}) {
      auto n = co_await f->read_at(buf, off);
      CO_ASSERT(n);
      CO_ASSERT_EQ(*n, want);
      auto e = co_await f->read_exact_at(buf, off);
      CO_ASSERT(e);
      CO_ASSERT_EQ(*e, want);
      if (want > 0) CO_ASSERT(std::memcmp(buf.data(), data.data() + off, want) == 0);
    }
  }());
}

TEST(File, VectoredExactAdvancesTheIovecs) {
  fs_test::TempDir dir;
  rt().block_on([&]() -> kio::Task<void> {
    std::string path = dir / "v";
    auto f = co_await File::open(path.c_str(), O_RDWR | O_CREAT, 0644);
    CO_ASSERT(f);
    auto data = fs_test::pattern(300'000);
    std::vector<iovec> out{{data.data(), 1},
                           {data.data() + 1, 0},
                           {data.data() + 1, 99'999},
                           {data.data() + 100'000, 200'000}};
    CO_ASSERT(co_await f->writev_exact_at(out, 7));
    auto one = co_await f->writev_at(std::span<const iovec>(out).first(1), 0);  // 7 bytes
    CO_ASSERT(one);
    std::vector<std::byte> a(150'007), b(150'000), c(10);
    std::vector<iovec> in{{a.data(), a.size()}, {b.data(), b.size()}, {c.data(), c.size()}};
    auto n = co_await f->readv_exact_at(in, 0);
    CO_ASSERT(n);
    CO_ASSERT_EQ(*n, 300'007u);  // short: the file ends inside `b`... at its last byte
    CO_ASSERT(std::memcmp(a.data() + 7, data.data(), 150'000) == 0);
    CO_ASSERT(std::memcmp(b.data(), data.data() + 150'000, 150'000) == 0);
    // in[2] (c) was never reached; the exact read advanced in[0] and in[1] to empty.
    CO_ASSERT_EQ(in[0].iov_len, 0u);
    CO_ASSERT_EQ(in[1].iov_len, 0u);
    CO_ASSERT_EQ(in[2].iov_len, 10u);
    auto single = co_await f->readv_at(std::span<const iovec>(in).last(1), 299'999);
    CO_ASSERT(single);
    CO_ASSERT_EQ(*single, 8u);
  }());
}

TEST(File, FsyncAndFdatasync) {
  fs_test::TempDir dir;
  rt().block_on([&]() -> kio::Task<void> {
    std::string path = dir / "durable";
    auto f = co_await File::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
    CO_ASSERT(f);
    auto data = fs_test::pattern(1 << 20);
    CO_ASSERT(co_await f->write_exact_at(bytes_of(data), 0));
    auto s = co_await f->fsync();
    CO_ASSERT(s, s.error().message());
    CO_ASSERT(co_await f->write_exact_at(bytes_of(data), 1 << 20));
    auto d = co_await f->fdatasync();
    CO_ASSERT(d, d.error().message());
    auto st = co_await kio::fs::stat(path.c_str());
    CO_ASSERT(st);
    CO_ASSERT_EQ(st->stx_size, 2u << 20);
    // fsync of something that is not a file: the kernel's error, as a value.
    int p[2];
    CO_ASSERT(::pipe(p) == 0);
    File pipe_end(p[1]);
    ::close(p[0]);
    auto bad = co_await pipe_end.fsync();
    CO_ASSERT(!bad);
    CO_ASSERT_EQ(bad.error(), std::errc::invalid_argument);
    File closed;
    auto ebadf = co_await closed.fdatasync();
    CO_ASSERT(!ebadf);
    CO_ASSERT_EQ(ebadf.error(), std::errc::bad_file_descriptor);
  }());
}

TEST(File, StatReportsTypeSizeAndTimes) {
  fs_test::TempDir dir;
  rt().block_on([&]() -> kio::Task<void> {
    std::string path = dir / "s";
    auto f = co_await File::open(path.c_str(), O_RDWR | O_CREAT, 0640);
    CO_ASSERT(f);
    auto data = fs_test::pattern(12345);
    CO_ASSERT(co_await f->write_exact_at(bytes_of(data), 0));
    auto st = co_await f->stat();
    CO_ASSERT(st);
    CO_ASSERT(S_ISREG(st->stx_mode));
    CO_ASSERT_EQ(st->stx_size, 12345u);
    CO_ASSERT(st->stx_mtime.tv_sec > 0);
    auto d = co_await kio::fs::stat(dir.path.c_str());
    CO_ASSERT(d);
    CO_ASSERT(S_ISDIR(d->stx_mode));
    auto missing = co_await kio::fs::stat((dir / "nope").c_str());
    CO_ASSERT(!missing);
    CO_ASSERT_EQ(missing.error(), std::errc::no_such_file_or_directory);
  }());
}

TEST(File, ErrorCodes) {
  fs_test::TempDir dir;
  rt().block_on([&]() -> kio::Task<void> {
    auto enoent = co_await File::open((dir / "missing").c_str(), O_RDONLY);
    CO_ASSERT(!enoent);
    CO_ASSERT_EQ(enoent.error(), std::errc::no_such_file_or_directory);

    auto eisdir = co_await File::open(dir.path.c_str(), O_WRONLY);
    CO_ASSERT(!eisdir);
    CO_ASSERT_EQ(eisdir.error(), std::errc::is_a_directory);
    auto d = co_await File::open(dir.path.c_str(), O_RDONLY | O_DIRECTORY);
    CO_ASSERT(d);
    std::vector<std::byte> buf(16);
    auto read_dir = co_await d->read_at(buf, 0);
    CO_ASSERT(!read_dir);
    CO_ASSERT_EQ(read_dir.error(), std::errc::is_a_directory);

    std::string path = dir / "f";
    auto f = co_await File::open(path.c_str(), O_RDONLY | O_CREAT, 0644);
    CO_ASSERT(f);
    auto eexist = co_await File::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0644);
    CO_ASSERT(!eexist);
    CO_ASSERT_EQ(eexist.error(), std::errc::file_exists);
    auto ebadf = co_await f->write_at(bytes_of(fs_test::pattern(4)), 0);  // opened read-only
    CO_ASSERT(!ebadf);
    CO_ASSERT_EQ(ebadf.error(), std::errc::bad_file_descriptor);
    auto enotdir = co_await File::open((path + "/x").c_str(), O_RDONLY);
    CO_ASSERT(!enotdir);
    CO_ASSERT_EQ(enotdir.error(), std::errc::not_a_directory);

    // EACCES needs a process without permission overrides (see drop_dac_capabilities).
    if (geteuid() == 0 && !dac_dropped) {
      ADD_FAILURE() << "running as root and could not drop CAP_DAC_OVERRIDE: EACCES untested";
      co_return;
    }
    std::string secret = dir / "secret";
    auto s = co_await File::open(secret.c_str(), O_WRONLY | O_CREAT, 0000);
    CO_ASSERT(s);
    auto eacces = co_await File::open(secret.c_str(), O_RDONLY);
    CO_ASSERT(!eacces);
    CO_ASSERT_EQ(eacces.error(), std::errc::permission_denied);
  }());
}

TEST(File, OpenBeneathRefusesEscapes) {
  fs_test::TempDir dir;
  std::string root = dir / "root";
  ASSERT_EQ(::mkdir(root.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root + "/sub").c_str(), 0755), 0);
  {
    File(::open((root + "/sub/in.txt").c_str(), O_WRONLY | O_CREAT, 0644));
  }
  {
    File(::open((dir / "outside.txt").c_str(), O_WRONLY | O_CREAT, 0644));
  }
  ASSERT_EQ(::symlink("../outside.txt", (root + "/escape").c_str()), 0);
  ASSERT_EQ(::symlink((dir / "outside.txt").c_str(), (root + "/absolute").c_str()), 0);
  ASSERT_EQ(::symlink("sub/in.txt", (root + "/inside").c_str()), 0);
  File rootfd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(rootfd);
  rt().block_on([&]() -> kio::Task<void> {
    for (const char* ok : {"sub/in.txt", "inside", "sub/../sub/in.txt"}) {
      auto f = co_await File::open_beneath(rootfd.fd(), ok, O_RDONLY);
      CO_ASSERT(f, ok << ": " << f.error().message());
    }
    for (const char* bad : {"../outside.txt", "sub/../../outside.txt", "escape", "absolute"}) {
      auto f = co_await File::open_beneath(rootfd.fd(), bad, O_RDONLY);
      CO_ASSERT(!f, bad);
      CO_ASSERT_EQ(f.error(), std::errc::cross_device_link);
    }
    auto abs = co_await File::open_beneath(rootfd.fd(), (dir / "outside.txt").c_str(), O_RDONLY);
    CO_ASSERT(!abs);
    CO_ASSERT_EQ(abs.error(), std::errc::cross_device_link);
  }());
}

// A FIFO read blocks until a writer writes: the one file read that is certain to be in flight.
TEST(File, TimeoutCancelsABlockedReadAndLosesNothing) {
  fs_test::TempDir dir;
  std::string fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  rt().block_on([&]() -> kio::Task<void> {
    auto f = co_await File::open(fifo.c_str(), O_RDWR);  // O_RDWR: opening does not block
    CO_ASSERT(f);
    std::vector<std::byte> buf(64 << 20);
    const auto base = kio::detail::current_executor()->inflight();  // the loop's own wake-up read
    auto t0 = std::chrono::steady_clock::now();
    auto r = co_await kio::timeout(50ms, f->read_at(buf, 0));
    CO_ASSERT(!r);
    CO_ASSERT_EQ(r.error(), std::errc::timed_out);
    CO_ASSERT(std::chrono::steady_clock::now() - t0 >= 50ms);
    CO_ASSERT_EQ(kio::detail::current_executor()->inflight(), base);
    // Data written after the cancellation goes to the next read: the cancelled one took none.
    auto msg = fs_test::pattern(1000);
    auto w = co_await f->write_at(bytes_of(msg), 0);
    CO_ASSERT(w);
    auto n = co_await f->read_at(buf, 0);
    CO_ASSERT(n);
    CO_ASSERT_EQ(*n, 1000u);
    CO_ASSERT(std::memcmp(buf.data(), msg.data(), 1000) == 0);
  }());
}

TEST(File, LargeReadUnderATinyTimeoutHasFinishedWhenTimeoutReturns) {
  fs_test::TempDir dir;
  std::string path = dir / "big";
  auto data = fs_test::pattern(64 << 20);
  {
    File f(::open(path.c_str(), O_WRONLY | O_CREAT, 0644));
    ASSERT_EQ(::write(f.fd(), data.data(), data.size()), static_cast<ssize_t>(data.size()));
  }
  rt().block_on([&]() -> kio::Task<void> {
    auto f = co_await File::open(path.c_str(), O_RDONLY);
    CO_ASSERT(f);
    const auto base = kio::detail::current_executor()->inflight();  // the loop's own wake-up read
    for (int i = 0; i < 5; ++i) {
      std::vector<std::byte> buf(64 << 20);
      auto r = co_await kio::timeout(std::chrono::microseconds(20 * i), f->read_at(buf, 0));
      // Whatever won, the kernel is done with `buf` now: no operation of ours is in flight.
      CO_ASSERT_EQ(kio::detail::current_executor()->inflight(), base);
      if (r) {
        CO_ASSERT(*r > 0 && *r <= buf.size());
        CO_ASSERT(std::memcmp(buf.data(), data.data(), *r) == 0);
      } else {
        CO_ASSERT(r.error() == std::errc::timed_out, r.error().message());
      }
    }  // `buf` is freed here; ASan would flag a kernel write landing later only indirectly,
    // the inflight check above is the direct one.
  }());
}

// A runtime stopped while a task waits in a read: the runtime cancels the read, waits for its
// completion and only then destroys the frame owning the buffer and the File.
TEST(File, RuntimeStopWithAReadInFlightDestroysTheFrameAfterTheCompletion) {
  fs_test::TempDir dir;
  std::string fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::atomic<bool> reading{false};
  std::atomic<int> frame_gone{0};
  {
    kio::Runtime own(kio::RuntimeOptions{.workers = 1, .shutdown_grace = 10ms});
    struct Guard {
      std::atomic<int>* flag;
      ~Guard() { flag->fetch_add(1); }
    };
    (void)own.spawn_on(0,
                       [](const std::string* path, std::atomic<bool>* reading,
                          std::atomic<int>* gone) -> kio::Task<void> {
                         Guard g{gone};
                         auto f = co_await File::open(path->c_str(), O_RDWR);
                         if (!f) co_return;
                         std::vector<std::byte> buf(1 << 20);
                         reading->store(true);
                         // Ignores cancellation of the wait itself: keeps reading until the frame
                         // is destroyed.
                         for (;;)
                           (void)co_await kio::with_cancel(kio::CancelToken{}, f->read_at(buf, 0));
                       }(&fifo, &reading, &frame_gone));
    for (int i = 0; i < 500 && !reading.load(); ++i)
      std::this_thread::sleep_for(2ms);
    ASSERT_TRUE(reading.load());
    std::this_thread::sleep_for(20ms);
    own.stop();
  }
  EXPECT_EQ(frame_gone.load(), 1);
}

}  // namespace
