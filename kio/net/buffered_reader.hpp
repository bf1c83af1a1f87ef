// kio::net::BufferedReader — lines, delimited records and exact byte counts from a TcpStream,
// read straight out of the leased receive buffers.
//
//   kio::Task<void> serve_lines(kio::net::TcpStream s) {
//     kio::net::BufferedReader in(s);
//     for (;;) {
//       auto line = co_await kio::timeout(30s, in.read_line(4096));   // "\n" or "\r\n" ends it
//       if (!line) {                       // end_of_stream, message_size, timed_out, reset, ...
//         if (line.error() == std::errc::message_size) co_await s.send_all("line too long\n");
//         co_return;
//       }
//       if (*line == "QUIT") co_return;
//       co_await s.send_all(reply_to(*line));   // *line is valid until the next read call
//     }
//   }
//
// What: read_until(delim, max) returns the bytes up to and including `delim`; read_line(max)
// one line without its "\n" or "\r\n"; read_exact(n) exactly n bytes; read_some() whatever is
// buffered (or the next receive). A record that lies inside one receive buffer is returned as a
// view into that buffer, without copying; only a record that straddles buffers is assembled in
// the reader's carry buffer (bytes_copied() counts those bytes). Between calls the reader holds
// at most one receive buffer (the one the unread bytes are in) plus the carry buffer, whose
// capacity is kept (no allocation in steady state) and grows up to the largest record read.
// Limits: `max` bounds a record's content (for read_until the bytes before `delim`, for
// read_line the line without its terminator). A longer record is std::errc::message_size as soon
// as more than `max` bytes have arrived without a delimiter (the reader never buffers much more
// than max + one receive buffer), and nothing is consumed: the bytes stay buffered.
// End of stream: a record is only returned complete. When the peer has closed, a call that
// cannot complete its record returns kio::net::end_of_stream (std::errc::no_message_available);
// the incomplete tail, if any, stays readable through buffered() / read_some(). eof() tells that
// the peer closed. read_exact(n) buffers up to n bytes: bound n yourself when the peer sends it
// (a length prefix). Nothing received is ever dropped by an error: after message_size,
// end_of_stream, a cancellation or a receive error, buffered() holds every unread byte.
// Runs on / resumes on: the stream's core (the reader and its stream belong to one core).
// Cancellation: every call observes the ambient token (kio::timeout works). A cancelled call
// loses no bytes: what it had gathered stays buffered and the next call continues from it
// (TcpStream::recv() itself keeps data that arrives later).
// Lifetime: a returned view is valid until the next read call on this reader, or until the
// reader is moved or destroyed, whichever comes first; copy what must live longer. The reader
// keeps a reference to the stream, which must outlive it and stay where it is (not moved). Once
// you read through a reader, read only through it (it may hold bytes the stream already
// delivered); sending on the stream meanwhile is fine. One read call at a time.
// Errors: Result<std::string_view>: end_of_stream, message_size, invalid_argument (empty
// delimiter), operation_canceled, or the stream's receive error (connection_reset, ...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "kio/core/result.hpp"
#include "kio/core/task.hpp"
#include "kio/net/recv_buffer.hpp"
#include "kio/net/tcp_stream.hpp"

namespace kio::net {

/// What a read returns when the peer closed before the record was complete (ENODATA).
inline constexpr std::errc end_of_stream = std::errc::no_message_available;

class BufferedReader {
 public:
  /// The default `max` of read_until / read_line.
  static constexpr std::size_t default_max = std::size_t{64} * 1024;

  explicit BufferedReader(TcpStream& stream) noexcept : s_(&stream) {}
  BufferedReader(BufferedReader&&) noexcept = default;
  BufferedReader& operator=(BufferedReader&&) noexcept = default;
  BufferedReader(const BufferedReader&) = delete;
  BufferedReader& operator=(const BufferedReader&) = delete;
  ~BufferedReader() = default;  // gives the receive buffer back to the ring

  /// The bytes up to and including the first `delim` (one or more bytes); see above.
  [[nodiscard]] Task<Result<std::string_view>> read_until(std::string_view delim,
                                                          std::size_t max = default_max);
  /// The next line without its "\n" or "\r\n"; at most `max` bytes (terminator excluded).
  [[nodiscard]] Task<Result<std::string_view>> read_line(std::size_t max = default_max);
  /// Exactly `n` bytes (an empty view for 0).
  [[nodiscard]] Task<Result<std::string_view>> read_exact(std::size_t n);
  /// Every buffered byte, or, when none is, the next received buffer's bytes (never empty).
  [[nodiscard]] Task<Result<std::string_view>> read_some();

  /// The bytes received but not yet returned by a read call (valid like a returned view).
  std::string_view buffered() const noexcept;
  /// The peer closed its side (buffered() may still hold bytes).
  bool eof() const noexcept { return eof_; }
  /// Bytes that had to be copied into the carry buffer so far (records straddling buffers).
  std::uint64_t bytes_copied() const noexcept { return copied_; }
  TcpStream& stream() const noexcept { return *s_; }

 private:
  /// read_until / read_line: `line` strips "\n" / "\r\n" and counts `max` without them.
  Task<Result<std::string_view>> until(std::string_view delim, std::size_t max, bool line);
  /// Drops what the previous call returned (the view it handed out dies here).
  void drop_returned() noexcept;
  /// The unread bytes of the lease.
  std::string_view lease_view() const noexcept;
  /// Moves the lease's unread bytes to the end of the carry buffer and releases the lease.
  void spill_lease();
  /// Appends the lease's first `n` unread bytes to the carry buffer (they become consumed).
  void take_from_lease(std::size_t n);
  /// Waits for the next receive buffer (the lease must be empty). Errors and end of stream
  /// come back as error codes; buffered bytes are untouched.
  Task<std::error_code> fill();

  // Unread bytes are carry_[carry_used_..] followed by lease_[lease_used_..]; when carry_ holds
  // unread bytes the lease is empty (a lease is spilled into carry_ before the next receive).
  TcpStream* s_;
  RecvBuffer lease_;            // the receive buffer the unread bytes are in (or empty)
  std::size_t lease_used_ = 0;  // bytes of lease_ returned or copied; dropped by the next call
  std::string carry_;           // assembled bytes: a partial record, or the returned one
  std::size_t carry_used_ = 0;  // bytes of carry_ returned; dropped by the next call
  bool eof_ = false;
  std::uint64_t copied_ = 0;
};

}  // namespace kio::net
