// kio's errors: one error_code convention for the whole library, and kio::SetupError.
//
// The convention
// --------------
// Every kio error is a std::error_code in std::generic_category() holding a POSIX errno value,
// whatever produced it: the kernel (a CQE's negative res, a failed system call), kio itself
// (timed_out from kio::timeout, operation_canceled, broken_pipe from a closed channel, ...) or a
// SetupError. So
//   * compare with std::errc:            if (r.error() == std::errc::timed_out) ...
//   * or with another code:              r.error() == std::make_error_code(std::errc::timed_out)
//     (exact equality holds because both sides are generic; a std::system_category() code with
//     the same value compares equal through std::errc, not code-to-code);
//   * printing is uniform:               "generic:110 Connection timed out", "generic:111 ...".
// The one exception is input kio parses itself, which has no errno: net::AddressError (category
// "kio.address", see net/address.hpp). Code that turns an errno into an error_code uses
// kio::errno_code (below) so that it follows the convention too.
//
//   kio::Result<std::size_t> r = co_await kio::read(fd, buf);
//   if (!r && r.error() == std::errc::bad_file_descriptor) { ... }
//   if (::bind(fd, sa, len) != 0) return kio::errno_code(-errno);
//
// kio::SetupError — a runtime could not be created as configured. Thrown by the Runtime
// constructor. `what()` says what failed and what to change (raise `ulimit -l`, lower
// `queue_depth`, pick another RingMode, fewer workers, ...); `code()` keeps the errno (generic
// category, as above).
//
// Runs on: plain values and functions, any thread.
#pragma once

#include <string>
#include <system_error>

namespace kio {

namespace detail {
/// Success, as a value to copy into a member's initializer: std::error_code's default constructor
/// calls into the C++ library (system_category()) every time, which shows on hot paths.
inline const std::error_code no_error{};
}  // namespace detail

/// An errno value as a kio error code (generic category). Takes the *negative* errno found in a
/// CQE's `res` (`errno_code(cqe->res)`); for errno itself write `errno_code(-errno)`.
inline std::error_code errno_code(int negative_errno) noexcept {
  return {-negative_errno, std::generic_category()};
}

class SetupError : public std::system_error {
 public:
  SetupError(std::error_code ec, const std::string& what) : std::system_error(ec, what) {}
};

}  // namespace kio
