// kio::fs::StatOp — statx(2) on the ring: `co_await file.stat()` or `co_await kio::fs::stat(path)`.
//
//   kio::Result<struct statx> st = co_await file.stat();           // STATX_BASIC_STATS
//   if (st && S_ISREG(st->stx_mode)) use(st->stx_size, st->stx_mtime.tv_sec);
//   auto d = co_await kio::fs::stat("/srv/www", AT_SYMLINK_NOFOLLOW);
//
// Runs on / resumes on: the calling core (IORING_OP_STATX on its ring). The kernel always runs
// IORING_OP_STATX on its io-wq threads (a hand-off per call): for an open file on a local
// filesystem, whose attributes are in memory, a direct statx(2)/fstat(2) is cheaper and does not
// block (kio's static file handler does that).
// Cancellation: ambient token, as for every IoOp (kio/io/op.hpp): the waiter resumes only after
// the kernel's completion; kio::timeout works on it.
// Lifetime: the statx buffer lives inside the awaiter (in the awaiting frame), so it is valid until
// the completion. **A path string passed to the kernel must stay valid until the co_await returns**
// (the kernel reads it after the awaiting coroutine suspended); a temporary std::string in the
// co_await expression is fine, a pointer into a buffer freed before the completion is not.
// Errors: the statx errno as std::error_code (no_such_file_or_directory, permission_denied,
// not_a_directory, bad_file_descriptor...).
#pragma once

#include <fcntl.h>
#include <liburing.h>
#include <sys/stat.h>

#include <coroutine>

#include "kio/core/result.hpp"
#include "kio/io/op.hpp"

namespace kio::fs {

class [[nodiscard]] StatOp : kio::detail::IoOpBase {
 public:
  StatOp(int dirfd, const char* path, int flags, unsigned mask) noexcept
      : dirfd_(dirfd), path_(path), flags_(flags), mask_(mask) {}
  /// Moving is allowed only before the operation is awaited.
  StatOp(StatOp&& o) noexcept
      : IoOpBase(), dirfd_(o.dirfd_), path_(o.path_), flags_(o.flags_), mask_(o.mask_) {}
  StatOp& operator=(StatOp&&) = delete;

  bool await_ready() const noexcept { return false; }
  template <class P>
  void await_suspend(std::coroutine_handle<P> h) {
    auto prep = [this](io_uring_sqe* s) {
      io_uring_prep_statx(s, dirfd_, path_, flags_, mask_, &buf_);
    };
    start(h, prep);
  }
  Result<struct statx> await_resume() const noexcept {
    if (res_ < 0) return errno_code(res_);
    return buf_;
  }

 private:
  int dirfd_;
  const char* path_;
  int flags_;
  unsigned mask_;
  struct statx buf_{};
};

/// statx of `path` (relative to the working directory); `flags` e.g. AT_SYMLINK_NOFOLLOW.
inline StatOp stat(const char* path, int flags = 0, unsigned mask = STATX_BASIC_STATS) noexcept {
  return StatOp(AT_FDCWD, path, flags, mask);
}
/// statx of `path` relative to the directory `dirfd`.
inline StatOp stat_at(int dirfd, const char* path, int flags = 0,
                      unsigned mask = STATX_BASIC_STATS) noexcept {
  return StatOp(dirfd, path, flags, mask);
}

}  // namespace kio::fs
