// Character classes of RFC 9110/9112 and the scanners of the parser's hot loops.
//
// Tables are constexpr (256 entries, one byte each). The scanners skip bytes that are certainly
// accepted and stop at the first doubtful one, which the byte-wise table loops then judge: 16
// bytes at a time with SSE2 on x86-64 (the exact position of the first doubtful byte comes from
// the compare mask), 8 at a time with plain 64-bit words elsewhere (and for a tail of 8-15
// bytes). Both forms accept exactly the same bytes, so which one runs never changes a result.
// Threading: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace kio::http::detail {

enum CharClass : std::uint8_t {
  tchar = 1,        // token: ALPHA DIGIT ! # $ % & ' * + - . ^ _ ` | ~
  field_char = 2,   // field-value content: VCHAR, SP, HTAB, obs-text
  target_char = 4,  // request-target: visible ASCII (0x21-0x7E) except '#' (RFC 9112 §3.2: no
                    // fragment in a request-target)
  hex_digit = 8,
  qd_text = 16,    // quoted-string text: HTAB SP 0x21 0x23-0x5B 0x5D-0x7E obs-text
  host_char = 32,  // reg-name: unreserved / pct-encoded / sub-delims (RFC 3986)
};

constexpr std::array<std::uint8_t, 256> make_char_table() {
  constexpr std::string_view token_punct = "!#$%&'*+-.^_`|~";
  constexpr std::string_view host_punct = "-._~%!$&'()*+,;=";
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    std::uint8_t v = 0;
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    bool digit = c >= '0' && c <= '9';
    if (alpha || digit || token_punct.find(static_cast<char>(c)) != std::string_view::npos)
      v |= tchar;
    if ((c >= 0x21 && c <= 0x7e) || c == ' ' || c == '\t' || c >= 0x80) v |= field_char;
    if (c >= 0x21 && c <= 0x7e && c != '#') v |= target_char;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= hex_digit;
    if (c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
        (c >= 0x5d && c <= 0x7e) || c >= 0x80)
      v |= qd_text;
    if (alpha || digit || host_punct.find(static_cast<char>(c)) != std::string_view::npos)
      v |= host_char;
    t[static_cast<std::size_t>(c)] = v;
  }
  return t;
}

inline constexpr std::array<std::uint8_t, 256> char_table = make_char_table();

constexpr bool is(char c, CharClass k) noexcept {
  return (char_table[static_cast<unsigned char>(c)] & k) != 0;
}

constexpr char to_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

/// ASCII case-insensitive equality (field names, tokens).
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

inline std::uint64_t load64(const char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

inline constexpr std::uint64_t ones = 0x0101010101010101ull;
inline constexpr std::uint64_t highs = 0x8080808080808080ull;

/// Nonzero when some byte of `w` is below `n` (n <= 128; exact as a yes/no answer).
constexpr std::uint64_t has_less(std::uint64_t w, std::uint8_t n) noexcept {
  return (w - ones * n) & ~w & highs;
}
/// Nonzero when some byte of `w` equals `v`.
constexpr std::uint64_t has_byte(std::uint64_t w, std::uint8_t v) noexcept {
  std::uint64_t x = w ^ (ones * v);
  return (x - ones) & ~x & highs;
}

/// Skips request-target bytes (0x21-0x7E) other than '#' and '?'; returns where the byte loop
/// resumes (the parser's loop notes the first '?' there, then calls again).
inline const char* skip_target_words(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i excl_low = _mm_set1_epi8(0x21);  // signed: bytes >= 0x80 are below it too
  const __m128i del = _mm_set1_epi8(0x7f);
  const __m128i hash = _mm_set1_epi8('#');
  const __m128i question = _mm_set1_epi8('?');
  while (end - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i bad =
        _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(x, excl_low), _mm_cmpeq_epi8(x, del)),
                     _mm_or_si128(_mm_cmpeq_epi8(x, hash), _mm_cmpeq_epi8(x, question)));
    if (const int m = _mm_movemask_epi8(bad)) return p + __builtin_ctz(static_cast<unsigned>(m));
    p += 16;
  }
#endif
  while (end - p >= 8) {
    std::uint64_t w = load64(p);
    if (has_less(w, 0x21) | (w & highs) | has_byte(w, 0x7f) | has_byte(w, '#') | has_byte(w, '?'))
      break;
    p += 8;
  }
  return p;
}

/// Skips field-value bytes other than HTAB (0x20-0x7E, 0x80-0xFF); returns where the byte loop
/// resumes.
inline const char* skip_value_words(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i zero = _mm_setzero_si128();
  const __m128i del = _mm_set1_epi8(0x7f);
  while (end - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Controls are the bytes below 0x20 that are not negative as signed (obs-text is).
    const __m128i ctl = _mm_andnot_si128(_mm_cmplt_epi8(x, zero), _mm_cmplt_epi8(x, space));
    const __m128i bad = _mm_or_si128(ctl, _mm_cmpeq_epi8(x, del));
    if (const int m = _mm_movemask_epi8(bad)) return p + __builtin_ctz(static_cast<unsigned>(m));
    p += 16;
  }
#endif
  while (end - p >= 8) {
    std::uint64_t w = load64(p);
    if (has_less(w, 0x20) | has_byte(w, 0x7f)) break;
    p += 8;
  }
  return p;
}

}  // namespace kio::http::detail
