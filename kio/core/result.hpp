// kio::Result<T> — a value or a std::error_code.
//
// Every fallible kio operation (I/O, timeouts, cancelled waits) reports failure as a
// `std::error_code` inside a Result instead of throwing (generic category, see error.hpp). A
// Result is contextually true when it holds a value. `value()` on an error throws
// `std::system_error`, so code that cannot handle an error locally may simply call it.
//
//   kio::Result<std::size_t> r = co_await kio::read(fd, buf);
//   if (!r) { log(r.error().message()); co_return; }
//   use(*r);
//
// Threading: a plain value type; no synchronisation.
#pragma once

#include <cerrno>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

#include "kio/core/error.hpp"

namespace kio {

template <class T>
class Result {
 public:
  using value_type = T;

  template <class U = T>
    requires std::is_constructible_v<T, U&&>
  Result(U&& v) : value_(std::forward<U>(v)) {}          // NOLINT: implicit by design
  Result(std::error_code ec) : ec_(ec) {}                // NOLINT: implicit by design
  Result(std::errc e) : ec_(std::make_error_code(e)) {}  // NOLINT

  explicit operator bool() const noexcept { return value_.has_value(); }
  bool has_value() const noexcept { return value_.has_value(); }
  std::error_code error() const noexcept { return ec_; }

  T& value() & {
    check();
    return *value_;
  }
  const T& value() const& {
    check();
    return *value_;
  }
  T&& value() && {
    check();
    return std::move(*value_);
  }
  T& operator*() & noexcept { return *value_; }
  const T& operator*() const& noexcept { return *value_; }
  T&& operator*() && noexcept { return std::move(*value_); }
  T* operator->() noexcept { return &*value_; }
  const T* operator->() const noexcept { return &*value_; }
  template <class U>
  T value_or(U&& fallback) const& {
    return value_ ? *value_ : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  void check() const {
    if (!value_) throw std::system_error(ec_);
  }
  std::optional<T> value_;
  std::error_code ec_ = detail::no_error;
};

template <>
class Result<void> {
 public:
  using value_type = void;
  Result() = default;
  Result(std::error_code ec) : ec_(ec) {}                // NOLINT
  Result(std::errc e) : ec_(std::make_error_code(e)) {}  // NOLINT

  explicit operator bool() const noexcept { return !ec_; }
  bool has_value() const noexcept { return !ec_; }
  std::error_code error() const noexcept { return ec_; }
  void value() const {
    if (ec_) throw std::system_error(ec_);
  }

 private:
  std::error_code ec_ = detail::no_error;
};

template <class T>
struct is_result : std::false_type {};
template <class T>
struct is_result<Result<T>> : std::true_type {};
template <class T>
inline constexpr bool is_result_v = is_result<std::remove_cvref_t<T>>::value;

/// Result<T> for a plain T; Result<T> itself (not nested) when T already is a Result.
template <class T>
struct flat_result {
  using type = Result<T>;
};
template <class T>
struct flat_result<Result<T>> {
  using type = Result<T>;
};
template <class T>
using flat_result_t = typename flat_result<std::remove_cvref_t<T>>::type;

}  // namespace kio
