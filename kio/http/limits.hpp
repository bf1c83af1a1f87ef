// kio::http::Limits — size limits the request parser enforces, with the status each one answers.
//
//   kio::http::Limits lim{.max_body = 16 << 20};   // allow 16 MiB uploads
//
// Every limit is checked at the byte that crosses it, so a request split anywhere gets the same
// answer as one delivered whole. A limit set to its type's maximum means "unlimited" (bounds
// derived from it saturate).
// Threading: a plain value, copied into each parser.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kio::http {

struct Limits {
  /// Longest method token; longer ones answer 501 (RFC 9112 §3).
  std::size_t max_method = 32;
  /// Longest request-target; longer ones answer 414.
  std::size_t max_target = 8192;
  /// Largest header field section (after the request line, up to and including the empty line),
  /// and likewise the trailer section of a chunked body; larger ones answer 431.
  std::size_t max_header_bytes = 8192;
  /// Most header fields (at most HeaderList::capacity = 64); more answer 431.
  std::size_t max_headers = 64;
  /// Largest request body (declared or decoded); larger ones answer 413. A chunked body's raw
  /// size (data plus chunk lines) is limited to 2 * max_body + 64 KiB, also 413.
  std::uint64_t max_body = 1u << 20;
  /// Longest chunk-size line including extensions; longer ones answer 400.
  std::size_t max_chunk_line = 4096;
  /// Empty lines (CRLF) tolerated before a request line (RFC 9112 §2.2); more answer 400.
  std::size_t max_leading_empty_lines = 4;
};

}  // namespace kio::http
