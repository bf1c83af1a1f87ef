// kio::di::Properties — a small typed map on a service: key -> bool | int64 | double | string.
//
//   reg.add<MemStore, IStore>(kio::di::every_core, make_mem,
//       {.properties = kio::di::Properties().set("tier", "cache").set("shards", 8)});
//   if (const std::int64_t* n = props.get<std::int64_t>("shards")) ...
//
// Consumers narrow providers with filters on these (filter.hpp); a factory may read its own
// service's properties (`const Properties&` parameter) and a per-requester factory its
// requester's (Requester::properties()).
// Cost: a flat vector, searched linearly (meant for a handful of keys); an empty map allocates
// nothing. Threading: a plain value; the registry's copy is read-only once added.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace kio::di {

using Value = std::variant<bool, std::int64_t, double, std::string>;

/// The value as text: true/false, the number, or the string in double quotes.
std::string to_string(const Value& v);

class Properties {
 public:
  /// Sets `key` (replacing an earlier value). Integers become int64, floating point double,
  /// anything convertible to string_view a string.
  template <class V>
  Properties& set(std::string_view key, V&& v) & {
    put(key, to_value(std::forward<V>(v)));
    return *this;
  }
  template <class V>
  Properties&& set(std::string_view key, V&& v) && {
    put(key, to_value(std::forward<V>(v)));
    return std::move(*this);
  }

  /// The value of `key` if present and of type V (bool, std::int64_t, double or std::string).
  template <class V>
  const V* get(std::string_view key) const noexcept {
    static_assert(std::is_same_v<V, bool> || std::is_same_v<V, std::int64_t> ||
                      std::is_same_v<V, double> || std::is_same_v<V, std::string>,
                  "kio::di::Properties::get: V is one of bool, std::int64_t, double, std::string");
    const Value* v = find(key);
    return v ? std::get_if<V>(v) : nullptr;
  }
  /// The value of `key`, of whichever type, or nullptr.
  const Value* find(std::string_view key) const noexcept;
  bool contains(std::string_view key) const noexcept { return find(key) != nullptr; }

  bool empty() const noexcept { return items_.empty(); }
  std::size_t size() const noexcept { return items_.size(); }
  auto begin() const noexcept { return items_.begin(); }
  auto end() const noexcept { return items_.end(); }

  /// `{key: value, ...}` in insertion order.
  std::string to_string() const;

 private:
  template <class V>
  static Value to_value(V&& v) {
    using D = std::remove_cvref_t<V>;
    if constexpr (std::is_same_v<D, bool>)
      return Value(v);
    else if constexpr (std::integral<D>)
      return Value(static_cast<std::int64_t>(v));
    else if constexpr (std::floating_point<D>)
      return Value(static_cast<double>(v));
    else if constexpr (std::is_same_v<D, Value>)
      return Value(std::forward<V>(v));
    else if constexpr (std::is_convertible_v<V&&, std::string_view>)
      return Value(std::string(std::string_view(v)));
    else
      static_assert(sizeof(D) == 0, "kio::di::Properties::set: a bool, number or string");
  }
  void put(std::string_view key, Value v);

  std::vector<std::pair<std::string, Value>> items_;
};

}  // namespace kio::di
