// kio::di::named<"x"> / unnamed — compile-time qualifiers on dependency slots.
//
//   reg.add<PgStore, IStore>(kio::di::on_core(0), make_pg, {.qualifier = "primary"});
//   [](kio::di::Remote<IStore, kio::di::named<"primary">> db) { ... }
//
// A slot with named<"x"> binds only providers registered with Options::qualifier "x". An unnamed
// slot considers every provider of its type, qualified or not (two of them are ambiguous unless
// one is `primary` or a filter narrows them).
#pragma once

#include <concepts>
#include <cstddef>
#include <string_view>

namespace kio::di {

/// A string usable as a template argument.
template <std::size_t N>
struct fixed_string {
  char chars[N]{};
  constexpr fixed_string(const char (&s)[N]) noexcept {  // NOLINT: implicit by design
    for (std::size_t i = 0; i < N; ++i)
      chars[i] = s[i];
  }
  constexpr std::string_view view() const noexcept { return {chars, N - 1}; }
};

template <fixed_string Name>
struct named {
  static constexpr std::string_view value = Name.view();
  static_assert(!value.empty(), "kio::di::named<>: the qualifier must not be empty");
};

struct unnamed {
  static constexpr std::string_view value{};
};

template <class Q>
concept Qualifier = requires {
  { Q::value } -> std::convertible_to<std::string_view>;
};

}  // namespace kio::di
