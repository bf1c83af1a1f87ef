// kio::fs::File — an open file, read and written at explicit offsets through the core's ring.
//
//   auto f = co_await kio::fs::File::open("data.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
//   if (!f) co_return f.error();                           // no_such_file_or_directory, ...
//   co_await f->write_exact_at(std::as_bytes(std::span(text)), 0);   // loops over short writes
//   std::vector<std::byte> buf(4096);
//   kio::Result<std::size_t> n = co_await f->read_at(buf, 0);        // one read; 0 at EOF
//   co_await f->fdatasync();
//   co_await f->close();
//
// What: every call is one io_uring operation on the calling core's ring (IORING_OP_OPENAT,
// OPENAT2, READ, WRITE, READV, WRITEV, READ_FIXED, WRITE_FIXED, FSYNC, STATX, CLOSE); the
// `_exact_` variants are tasks that repeat the operation until everything is transferred.
// * read_at / write_at: one operation; may transfer fewer bytes than asked (EOF, signals, pipes).
// * read_exact_at: fills `buf` unless end of file comes first; returns the byte count (smaller
//   than buf.size() only at EOF). write_exact_at: writes all or reports the error.
// * readv_at / writev_at and readv_exact_at / writev_exact_at: the same with an iovec array (the
//   exact forms advance the caller's iovecs in place as they go).
// * read_fixed_at / write_fixed_at: into/from a registered buffer leased from a BufferPool
//   (buffer_pool.hpp); what O_DIRECT wants (aligned memory, offsets and lengths that are multiples
//   of the device's logical block size, usually 512 or 4096, else invalid_argument).
// * open_beneath: openat2 with RESOLVE_BENEATH: `path` may not leave `dirfd` (no "..", no
//   absolute path, no symlink escaping it: cross_device_link), as a static file server needs.
// Runs on / resumes on: the calling core. A File is a plain fd owner and may move between cores,
// but each operation runs on the ring of the core that awaits it.
// Cancellation: ambient token, as for every IoOp (kio/io/op.hpp): IORING_OP_ASYNC_CANCEL, then
// the waiter resumes only after the kernel's completion (operation_canceled, or the real result
// when the operation finished first: data is never dropped). kio::timeout(d, f.read_at(...))
// works. A regular-file read the kernel already started may not be interruptible: it then
// completes normally and timeout() returns its count. An exact variant stops at the first
// cancelled step and reports operation_canceled (how much was transferred is then unknown).
// Lifetime — the buffer rule and the path rule: **buffers, iovec arrays and path strings handed to
// the kernel must stay valid until the co_await returns** (the kernel reads paths and writes
// buffers after the awaiting coroutine suspended; kio only resumes it after the completion, also
// when cancelled, so memory owned by the awaiting frame is always safe). The File must outlive
// its operations. Destroying an open File closes its fd synchronously (close(2)); close() does it
// on the ring.
// Errors: the errno as std::error_code: no_such_file_or_directory (ENOENT), permission_denied
// (EACCES), is_a_directory (EISDIR), bad_file_descriptor, invalid_argument (O_DIRECT
// misalignment), no_space_on_device, cross_device_link (open_beneath escape), ...
#pragma once

#include <fcntl.h>
#include <liburing.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "kio/core/result.hpp"
#include "kio/core/task.hpp"
#include "kio/fs/buffer_pool.hpp"
#include "kio/fs/stat.hpp"
#include "kio/io/op.hpp"

namespace kio::fs {

class File;

namespace detail {
/// The kernel transfers at most this much per read/write (MAX_RW_COUNT); larger requests are
/// clamped and the exact variants loop.
inline constexpr std::size_t max_rw = 0x7ffff000;
inline unsigned clamp_len(std::size_t n) noexcept {
  return static_cast<unsigned>(n < max_rw ? n : max_rw);
}
Result<File> map_file(int res, unsigned) noexcept;
}  // namespace detail

class File {
 public:
  File() noexcept = default;
  /// Adopts an open file descriptor.
  explicit File(int fd) noexcept : fd_(fd) {}
  File(File&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  File& operator=(File&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File() { reset(); }

  // ---- opening: co_await -> Result<File>. O_CLOEXEC is always added.
  static auto open_at(int dirfd, const char* path, int flags, mode_t mode = 0644) noexcept {
    return make_io_op(
        [=](io_uring_sqe* s) { io_uring_prep_openat(s, dirfd, path, flags | O_CLOEXEC, mode); },
        detail::map_file);
  }
  static auto open(const char* path, int flags, mode_t mode = 0644) noexcept {
    return open_at(AT_FDCWD, path, flags, mode);
  }
  /// openat2(dirfd, path, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | `resolve`).
  static auto open_beneath(int dirfd, const char* path, int flags, std::uint64_t resolve = 0,
                           mode_t mode = 0) noexcept {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | resolve;
    // `how` lives inside the awaiter until the kernel has read it.
    return make_io_op([=](io_uring_sqe* s) mutable { io_uring_prep_openat2(s, dirfd, path, &how); },
                      detail::map_file);
  }

  bool is_open() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int fd() const noexcept { return fd_; }
  /// Gives up ownership of the fd (-1 afterwards).
  int release() noexcept { return std::exchange(fd_, -1); }

  // ---- one operation each: co_await -> Result<std::size_t> (bytes; 0 = end of file)
  auto read_at(std::span<std::byte> buf, std::uint64_t offset) const noexcept {
    const int fd = fd_;
    return make_io_op(
        [fd, buf, offset](io_uring_sqe* s) {
          io_uring_prep_read(s, fd, buf.data(), detail::clamp_len(buf.size()), offset);
        },
        map_size);
  }
  auto write_at(std::span<const std::byte> buf, std::uint64_t offset) const noexcept {
    const int fd = fd_;
    return make_io_op(
        [fd, buf, offset](io_uring_sqe* s) {
          io_uring_prep_write(s, fd, buf.data(), detail::clamp_len(buf.size()), offset);
        },
        map_size);
  }
  auto readv_at(std::span<const iovec> iov, std::uint64_t offset) const noexcept {
    const int fd = fd_;
    return make_io_op(
        [fd, iov, offset](io_uring_sqe* s) {
          io_uring_prep_readv(s, fd, iov.data(), static_cast<unsigned>(iov.size()), offset);
        },
        map_size);
  }
  auto writev_at(std::span<const iovec> iov, std::uint64_t offset) const noexcept {
    const int fd = fd_;
    return make_io_op(
        [fd, iov, offset](io_uring_sqe* s) {
          io_uring_prep_writev(s, fd, iov.data(), static_cast<unsigned>(iov.size()), offset);
        },
        map_size);
  }
  /// Reads up to `len` bytes (default: the whole buffer) into the start of `buf`.
  auto read_fixed_at(FixedBuffer& buf, std::uint64_t offset,
                     std::size_t len = SIZE_MAX) const noexcept {
    const int fd = fd_;
    const unsigned n = detail::clamp_len(len < buf.size() ? len : buf.size());
    return make_io_op(
        [fd, data = buf.data(), idx = buf.index(), n, offset](io_uring_sqe* s) {
          io_uring_prep_read_fixed(s, fd, data, n, offset, idx);
        },
        map_size);
  }
  /// Writes the first `len` bytes of `buf`.
  auto write_fixed_at(const FixedBuffer& buf, std::uint64_t offset,
                      std::size_t len) const noexcept {
    const int fd = fd_;
    const unsigned n = detail::clamp_len(len < buf.size() ? len : buf.size());
    return make_io_op(
        [fd, data = buf.data(), idx = buf.index(), n, offset](io_uring_sqe* s) {
          io_uring_prep_write_fixed(s, fd, data, n, offset, idx);
        },
        map_size);
  }

  // ---- loops over short transfers (tasks)
  Task<Result<std::size_t>> read_exact_at(std::span<std::byte> buf, std::uint64_t offset) const;
  Task<Result<void>> write_exact_at(std::span<const std::byte> buf, std::uint64_t offset) const;
  /// `iov` is advanced in place (entries consumed, the first partly read one adjusted).
  Task<Result<std::size_t>> readv_exact_at(std::span<iovec> iov, std::uint64_t offset) const;
  Task<Result<void>> writev_exact_at(std::span<iovec> iov, std::uint64_t offset) const;

  // ---- durability and metadata
  auto fsync() const noexcept {
    const int fd = fd_;
    return make_io_op([fd](io_uring_sqe* s) { io_uring_prep_fsync(s, fd, 0); }, map_status);
  }
  auto fdatasync() const noexcept {
    const int fd = fd_;
    return make_io_op([fd](io_uring_sqe* s) { io_uring_prep_fsync(s, fd, IORING_FSYNC_DATASYNC); },
                      map_status);
  }
  /// statx of the open file (co_await -> Result<struct statx>).
  StatOp stat(unsigned mask = STATX_BASIC_STATS) const noexcept {
    return StatOp(fd_, "", AT_EMPTY_PATH, mask);
  }

  /// Closes the fd with IORING_OP_CLOSE; the File is empty afterwards (also on error).
  Task<Result<void>> close();

 private:
  void reset() noexcept;
  int fd_ = -1;
};

}  // namespace kio::fs
