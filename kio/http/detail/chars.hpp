// Character classes of RFC 9110/9112 and word-at-a-time scanners for the parser's hot loops.
//
// Tables are constexpr (256 entries, one byte each); scanners read 8 bytes at a time while every
// byte is in the accepted range and leave the first doubtful word to the byte-wise table loops.
// Threading: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace kio::http::detail {

enum CharClass : std::uint8_t {
  tchar = 1,        // token: ALPHA DIGIT ! # $ % & ' * + - . ^ _ ` | ~
  field_char = 2,   // field-value content: VCHAR, SP, HTAB, obs-text
  target_char = 4,  // request-target: visible ASCII (0x21-0x7E)
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
    if (c >= 0x21 && c <= 0x7e) v |= target_char;
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

/// Skips request-target bytes (0x21-0x7E) eight at a time; returns where the byte loop resumes.
inline const char* skip_target_words(const char* p, const char* end) noexcept {
  while (end - p >= 8) {
    std::uint64_t w = load64(p);
    if (has_less(w, 0x21) | (w & highs) | has_byte(w, 0x7f)) break;
    p += 8;
  }
  return p;
}

/// Skips field-value bytes other than HTAB (0x20-0x7E, 0x80-0xFF) eight at a time.
inline const char* skip_value_words(const char* p, const char* end) noexcept {
  while (end - p >= 8) {
    std::uint64_t w = load64(p);
    if (has_less(w, 0x20) | has_byte(w, 0x7f)) break;
    p += 8;
  }
  return p;
}

}  // namespace kio::http::detail
