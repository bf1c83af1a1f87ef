// kio::log_error / log_warn / log_info / log_debug — leveled diagnostics, one line each, naming the
// core that wrote it. kio itself logs through these; applications may too.
//
//   kio::log_info("listening on port {}", port);        // fmt syntax, checked at compile time
//   kio::log_warn("peer {} closed early", peer.to_string());
//   if (kio::log_enabled(kio::LogLevel::debug)) kio::log_debug("state: {}", dump_state());
//
// A line reads "kio[core 2] warn: peer 10.0.0.7:41234 closed early" ("kio[no core] ..." outside
// worker threads). By default it goes to stderr; set_log_sink() sends lines elsewhere.
// Level: a message is written when its level is at or above the current one. The current level
// is `info` unless the KIO_LOG environment variable (error, warn, info, debug or off; read once, at
// the first log call) says otherwise; a value that is none of these gets a warning naming them.
// RuntimeOptions::log_level (applied when the Runtime is constructed) and set_log_level() override
// both. The level is one per process.
// Cost: a message below the level costs one relaxed atomic load: nothing is formatted or
// allocated. Its arguments are still evaluated by the caller, so guard expensive ones with
// log_enabled(). A written line is formatted on the stack (the heap only past 500 bytes) and goes
// out with one write(2), so lines of different threads do not interleave.
// Threading: every function may be called from any thread.
// Errors: nothing throws. A formatter that throws gives "(log formatting failed: <what>)".
#pragma once

#include <fmt/core.h>

#include <atomic>
#include <optional>
#include <string_view>

#include "kio/core/log_level.hpp"

namespace kio {

/// Receives each written line (without a trailing newline) instead of stderr. Called on the
/// thread that logs, possibly on several threads at once; must not call the logger.
using LogSink = void (*)(LogLevel level, std::string_view line) noexcept;

namespace detail {
/// The current level as an int; -1 until the first use reads KIO_LOG.
extern std::atomic<int> log_level_now;
int log_level_from_env() noexcept;
void log_write(LogLevel level, fmt::string_view format, fmt::format_args args) noexcept;
}  // namespace detail

/// True when a message of `level` would be written.
inline bool log_enabled(LogLevel level) noexcept {
  int now = detail::log_level_now.load(std::memory_order_relaxed);
  if (now < 0) [[unlikely]]
    now = detail::log_level_from_env();
  return level != LogLevel::off && static_cast<int>(level) <= now;
}

LogLevel log_level() noexcept;
void set_log_level(LogLevel level) noexcept;
/// nullptr restores stderr.
void set_log_sink(LogSink sink) noexcept;

/// "error", "warn", "info", "debug" or "off" (any case); nullopt for anything else.
std::optional<LogLevel> parse_log_level(std::string_view text) noexcept;
std::string_view to_string(LogLevel level) noexcept;

template <class... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) noexcept {
  if (!log_enabled(level)) return;
  detail::log_write(level, fmt::string_view(format), fmt::make_format_args(args...));
}

template <class... Args>
void log_error(fmt::format_string<Args...> format, Args&&... args) noexcept {
  log<Args...>(LogLevel::error, format, std::forward<Args>(args)...);
}
template <class... Args>
void log_warn(fmt::format_string<Args...> format, Args&&... args) noexcept {
  log<Args...>(LogLevel::warn, format, std::forward<Args>(args)...);
}
template <class... Args>
void log_info(fmt::format_string<Args...> format, Args&&... args) noexcept {
  log<Args...>(LogLevel::info, format, std::forward<Args>(args)...);
}
template <class... Args>
void log_debug(fmt::format_string<Args...> format, Args&&... args) noexcept {
  log<Args...>(LogLevel::debug, format, std::forward<Args>(args)...);
}

}  // namespace kio
