// Type identity and readable type names for kio::di (no RTTI needed).
//
// TypeKey: a unique address per type, usable as a hash key. type_name<T>(): the name the
// compiler prints for T with namespace qualifiers removed ("kio::di::Ref<ns::IStore>" ->
// "Ref<IStore>"), computed once per type. Both are the same on every core.
#pragma once

#include <string>
#include <string_view>

namespace kio::di::detail {

using TypeKey = const void*;

template <class T>
inline constexpr char type_key_tag = 0;

template <class T>
constexpr TypeKey type_key() noexcept {
  return &type_key_tag<T>;
}

template <class T>
constexpr std::string_view raw_type_name() noexcept {
  return __PRETTY_FUNCTION__;
}

/// Extracts T from raw_type_name<T>()'s text and removes namespace qualifiers.
std::string clean_type_name(std::string_view pretty_function);

template <class T>
const std::string& type_name() {
  static const std::string name = clean_type_name(raw_type_name<T>());
  return name;
}

}  // namespace kio::di::detail
