// kio/fs — files on the ring: open, positional reads and writes, fsync, statx, close, names.
//
// Choosing among the pieces
// -------------------------
// * kio::fs::File              an open file: open / open_at / open_beneath, read_at / write_at
//                              (one operation), read_exact_at / write_exact_at (loop over short
//                              transfers), vectored forms, fixed-buffer forms, fsync /
//                              fdatasync, stat, close.                                (file.hpp)
// * kio::fs::stat / stat_at    statx by path.                                         (stat.hpp)
// * kio::fs::unlink, remove_dir, rename, mkdir (and *_at)   operations on names. (path_ops.hpp)
// * kio::fs::BufferPool / FixedBuffer   page-aligned buffers registered with one core's ring,
//                              for O_DIRECT and fewer page pins; acquire() waits when all
//                              are leased.                                        (buffer_pool.hpp)
//
// Common rules
// ------------
// * Every operation is an io_uring operation on the calling core's ring; nothing blocks the
//   worker thread (the kernel may run a blocking step on its io-wq threads).
// * Results are kio::Result<T>; failures are the errno as std::error_code (ENOENT ->
//   no_such_file_or_directory, EACCES -> permission_denied, EISDIR -> is_a_directory, ...).
// * Cancellation is the ambient token's, as everywhere in kio: kio::timeout, when_any and runtime
//   shutdown cancel an operation, and the waiter resumes only after the kernel's completion.
// * The buffer rule: memory handed to the kernel (buffers, iovecs, FixedBuffer leases) stays
//   valid until the co_await returns. The path rule: a path string handed to the kernel stays
//   valid until the co_await returns. Keep both in the awaiting frame (a temporary in the
//   co_await expression is enough).
// * Reads past the end of a file return 0 bytes (read_at) or a short count (read_exact_at);
//   offsets are explicit: there is no shared file position.
//
// Example
// -------
//   kio::Task<kio::Result<void>> copy(const char* from, const char* to) {
//     auto in = co_await kio::fs::File::open(from, O_RDONLY);
//     if (!in) co_return in.error();
//     auto out = co_await kio::fs::File::open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
//     if (!out) co_return out.error();
//     std::vector<std::byte> buf(1 << 20);
//     for (std::uint64_t off = 0;;) {
//       auto n = co_await in->read_exact_at(buf, off);
//       if (!n) co_return n.error();
//       if (auto w = co_await out->write_exact_at(std::span(buf).first(*n), off); !w) co_return w;
//       if (*n < buf.size()) break;
//       off += *n;
//     }
//     co_return co_await out->fdatasync();
//   }
#pragma once

#include "kio/fs/buffer_pool.hpp"
#include "kio/fs/file.hpp"
#include "kio/fs/path_ops.hpp"
#include "kio/fs/stat.hpp"
