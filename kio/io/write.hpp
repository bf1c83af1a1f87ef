// kio::write — write a caller's buffer to a file descriptor (IORING_OP_WRITE).
//
//   kio::Result<std::size_t> n = co_await kio::write(fd, std::as_bytes(std::span(text)));
//
// May write fewer bytes than asked (pipes, sockets); loop or use a higher-level send_all.
// `offset` defaults to -1: the file's current position.
// Runs on / resumes on: the calling core.
// Cancellation: ambient token; resumes after the kernel's CQE (see op.hpp).
// Lifetime: `buf` and `fd` must stay valid until the co_await returns.
// Errors: the write's errno as std::error_code (broken_pipe, ...).
#pragma once

#include <cstdint>
#include <span>

#include "kio/io/op.hpp"

namespace kio {

inline auto write(int fd, std::span<const std::byte> buf,
                  std::uint64_t offset = static_cast<std::uint64_t>(-1)) {
  return make_io_op(
      [fd, buf, offset](io_uring_sqe* s) {
        io_uring_prep_write(s, fd, buf.data(), detail::io_length(buf.size()), offset);
      },
      map_size);
}

}  // namespace kio
