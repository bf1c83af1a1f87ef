// Diagnostics to stderr: one line per call, prefixed with "kio" and the worker core when there is
// one. Used for errors that have no caller to return to (a detached task's exception, a listener
// backing off). Threading: safe from any thread (each line is written with a single write()).
#pragma once

#include <fmt/core.h>

#include <string_view>

namespace kio::detail {

void log_line(std::string_view msg) noexcept;

template <class... Args>
void log(fmt::format_string<Args...> f, Args&&... args) noexcept {
  try {
    log_line(fmt::format(f, std::forward<Args>(args)...));
  } catch (...) {
    log_line("(log formatting failed)");
  }
}

}  // namespace kio::detail
