// kio::fs::unlink / remove_dir / rename / mkdir — operations on names, on the ring.
//
//   if (auto r = co_await kio::fs::mkdir("out", 0755); !r && r.error() != std::errc::file_exists)
//     co_return r;
//   co_await kio::fs::rename("out/tmp", "out/data");        // atomic replace within a filesystem
//   co_await kio::fs::unlink("out/data");
//   co_await kio::fs::remove_dir("out");
//
// Each is one io_uring operation (IORING_OP_UNLINKAT / RENAMEAT / MKDIRAT) returning
// Result<void>; the `_at` forms take a directory fd for relative paths.
// Runs on / resumes on: the calling core.
// Cancellation: ambient token, as for every IoOp (kio/io/op.hpp); kio::timeout works on them.
// Lifetime: **every path string passed to the kernel must stay valid until the co_await returns**
// (the kernel reads it after the awaiting coroutine suspended). A temporary std::string inside the
// co_await expression lives long enough; `co_await kio::fs::unlink(s.c_str())` with `s` destroyed
// while suspended does not.
// Errors: the errno as std::error_code: no_such_file_or_directory, file_exists,
// is_a_directory (unlink of a directory), directory_not_empty, permission_denied,
// cross_device_link (rename across filesystems), ...
#pragma once

#include <fcntl.h>
#include <liburing.h>
#include <sys/types.h>

#include "kio/io/op.hpp"

namespace kio::fs {

/// Removes the name `path` (a file, symlink, ...; not a directory: is_a_directory).
inline auto unlink_at(int dirfd, const char* path) noexcept {
  return make_io_op([dirfd, path](io_uring_sqe* s) { io_uring_prep_unlinkat(s, dirfd, path, 0); },
                    map_status);
}
inline auto unlink(const char* path) noexcept {
  return unlink_at(AT_FDCWD, path);
}

/// Removes the empty directory `path`.
inline auto remove_dir_at(int dirfd, const char* path) noexcept {
  return make_io_op(
      [dirfd, path](io_uring_sqe* s) { io_uring_prep_unlinkat(s, dirfd, path, AT_REMOVEDIR); },
      map_status);
}
inline auto remove_dir(const char* path) noexcept {
  return remove_dir_at(AT_FDCWD, path);
}

/// Renames `from` to `to`, replacing `to` atomically if it exists. `flags`: RENAME_NOREPLACE,
/// RENAME_EXCHANGE (renameat2).
inline auto rename_at(int from_dirfd, const char* from, int to_dirfd, const char* to,
                      unsigned flags = 0) noexcept {
  return make_io_op(
      [=](io_uring_sqe* s) { io_uring_prep_renameat(s, from_dirfd, from, to_dirfd, to, flags); },
      map_status);
}
inline auto rename(const char* from, const char* to, unsigned flags = 0) noexcept {
  return rename_at(AT_FDCWD, from, AT_FDCWD, to, flags);
}

/// Creates the directory `path` with `mode` (minus the umask).
inline auto mkdir_at(int dirfd, const char* path, mode_t mode = 0755) noexcept {
  return make_io_op(
      [dirfd, path, mode](io_uring_sqe* s) { io_uring_prep_mkdirat(s, dirfd, path, mode); },
      map_status);
}
inline auto mkdir(const char* path, mode_t mode = 0755) noexcept {
  return mkdir_at(AT_FDCWD, path, mode);
}

}  // namespace kio::fs
