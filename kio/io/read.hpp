// kio::read — read from a file descriptor into a caller's buffer (IORING_OP_READ).
//
//   std::array<std::byte, 4096> buf;
//   kio::Result<std::size_t> n = co_await kio::read(fd, buf);   // 0 at end of file
//
// `offset` defaults to -1: the file's current position (pipes, sockets, ttys).
// Runs on / resumes on: the calling core.
// Cancellation: ambient token; resumes after the kernel's CQE (see op.hpp).
// Lifetime: `buf` and `fd` must stay valid until the co_await returns.
// Errors: the read's errno as std::error_code.
#pragma once

#include <cstdint>
#include <span>

#include "kio/io/op.hpp"

namespace kio {

inline auto read(int fd, std::span<std::byte> buf,
                 std::uint64_t offset = static_cast<std::uint64_t>(-1)) {
  return make_io_op(
      [fd, buf, offset](io_uring_sqe* s) {
        io_uring_prep_read(s, fd, buf.data(), detail::io_length(buf.size()), offset);
      },
      map_size);
}

}  // namespace kio
