// kio::di::Filter / where — consumer-side narrowing of providers by their properties.
//
//   reg.add<Report>(kio::di::every_core, make_report,
//       {.filters = {kio::di::where<IStore>("tier", "cache")}});         // property equals
//   kio::di::where<IStore>([](const kio::di::Properties& p) {            // any predicate
//     const std::int64_t* n = p.get<std::int64_t>("shards"); return n && *n >= 4; }, "shards >=
//     4");
//
// A filter applies to every slot of its consumer whose interface is T (qualified or not): only
// providers it accepts are candidates. Filters are checked when the graph is resolved (start(),
// or add() after start), not per call. The description appears in error messages.
// Threading: a predicate is called on the home core while resolving; it must not block.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "kio/di/detail/type_name.hpp"
#include "kio/di/properties.hpp"

namespace kio::di {

class Filter {
 public:
  Filter(detail::TypeKey type, std::string description, std::function<bool(const Properties&)> pred)
      : type_(type), description_(std::move(description)), pred_(std::move(pred)) {}

  /// The interface whose slots it narrows.
  detail::TypeKey type() const noexcept { return type_; }
  const std::string& description() const noexcept { return description_; }
  bool accepts(const Properties& p) const { return pred_(p); }

 private:
  detail::TypeKey type_;
  std::string description_;
  std::function<bool(const Properties&)> pred_;
};

/// Providers of T whose property `key` equals `equals` (same type and value).
template <class T, class V>
Filter where(std::string_view key, V&& equals) {
  Value want = Properties().set("", std::forward<V>(equals)).begin()->second;
  std::string desc = std::string(key) + " == " + to_string(want);
  return Filter(detail::type_key<T>(), std::move(desc),
                [k = std::string(key), want = std::move(want)](const Properties& p) {
                  const Value* v = p.find(k);
                  return v && *v == want;
                });
}

/// Providers of T for which pred(properties) is true.
template <class T, class Pred>
  requires std::is_invocable_r_v<bool, Pred&, const Properties&>
Filter where(Pred pred, std::string description = "a predicate") {
  return Filter(detail::type_key<T>(), std::move(description), std::move(pred));
}

}  // namespace kio::di
