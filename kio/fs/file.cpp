// File: the looping variants and closing; the single operations are inline in file.hpp.
#include "kio/fs/file.hpp"

#include <unistd.h>

#include <algorithm>

#include "kio/core/with_cancel.hpp"

namespace kio::fs {

namespace detail {
Result<File> map_file(int res, unsigned) noexcept {
  if (res < 0) return errno_code(res);
  return File(res);
}
}  // namespace detail

void File::reset() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

Task<Result<std::size_t>> File::read_exact_at(std::span<std::byte> buf,
                                              std::uint64_t offset) const {
  std::size_t done = 0;
  while (done < buf.size()) {
    Result<std::size_t> n = co_await read_at(buf.subspan(done), offset + done);
    if (!n) co_return n.error();
    if (*n == 0) break;  // end of file
    done += *n;
  }
  co_return done;
}

Task<Result<void>> File::write_exact_at(std::span<const std::byte> buf,
                                        std::uint64_t offset) const {
  std::size_t done = 0;
  while (done < buf.size()) {
    Result<std::size_t> n = co_await write_at(buf.subspan(done), offset + done);
    if (!n) co_return n.error();
    if (*n == 0) co_return std::errc::io_error;  // a regular file never takes 0 of >0 bytes
    done += *n;
  }
  co_return Result<void>{};
}

namespace {

/// Consumes `n` transferred bytes from the front of `iov` in place (a filled entry ends up
/// empty, pointing past its bytes); returns the entries still to transfer.
std::span<iovec> advance(std::span<iovec> iov, std::size_t n) noexcept {
  while (!iov.empty() && n >= iov.front().iov_len) {
    n -= iov.front().iov_len;
    iov.front().iov_base = static_cast<char*>(iov.front().iov_base) + iov.front().iov_len;
    iov.front().iov_len = 0;
    iov = iov.subspan(1);
  }
  if (!iov.empty() && n > 0) {
    iov.front().iov_base = static_cast<char*>(iov.front().iov_base) + n;
    iov.front().iov_len -= n;
  }
  return iov;
}

std::span<iovec> skip_empty(std::span<iovec> iov) noexcept {
  while (!iov.empty() && iov.front().iov_len == 0)
    iov = iov.subspan(1);
  return iov;
}

/// At most IOV_MAX entries per operation.
std::span<const iovec> batch(std::span<iovec> iov) noexcept {
  return iov.first(std::min<std::size_t>(iov.size(), 1024));
}

}  // namespace

Task<Result<std::size_t>> File::readv_exact_at(std::span<iovec> iov, std::uint64_t offset) const {
  std::size_t done = 0;
  for (iov = skip_empty(iov); !iov.empty(); iov = skip_empty(iov)) {
    Result<std::size_t> n = co_await readv_at(batch(iov), offset + done);
    if (!n) co_return n.error();
    if (*n == 0) break;
    done += *n;
    iov = advance(iov, *n);
  }
  co_return done;
}

Task<Result<void>> File::writev_exact_at(std::span<iovec> iov, std::uint64_t offset) const {
  std::size_t done = 0;
  for (iov = skip_empty(iov); !iov.empty(); iov = skip_empty(iov)) {
    Result<std::size_t> n = co_await writev_at(batch(iov), offset + done);
    if (!n) co_return n.error();
    if (*n == 0) co_return std::errc::io_error;
    done += *n;
    iov = advance(iov, *n);
  }
  co_return Result<void>{};
}

Task<Result<void>> File::close() {
  const int fd = std::exchange(fd_, -1);
  if (fd < 0) co_return std::errc::bad_file_descriptor;
  // Under no token: a close that never reaches the kernel would leak the fd.
  Result<void> r = co_await with_cancel(
      CancelToken{}, make_io_op([fd](io_uring_sqe* s) { io_uring_prep_close(s, fd); }, map_status));
  co_return r;
}

}  // namespace kio::fs
