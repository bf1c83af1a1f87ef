#include "kio/core/log.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <exception>
#include <iterator>

#include "kio/core/this_core.hpp"

namespace kio {

namespace {

constexpr LogLevel default_level = LogLevel::info;
std::atomic<LogSink> g_sink{nullptr};

void write_stderr(std::string_view line) noexcept {
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere else to report it
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

namespace detail {

std::atomic<int> log_level_now{-1};

int log_level_from_env() noexcept {
  const char* env = std::getenv("KIO_LOG");
  if (env && *env == '\0') env = nullptr;  // KIO_LOG= (empty) means unset
  const std::optional<LogLevel> parsed = env ? parse_log_level(env) : std::nullopt;
  const int level = static_cast<int>(parsed.value_or(default_level));
  int expected = -1;
  // The first reader decides (set_log_level() may have won meanwhile); only it warns.
  if (!log_level_now.compare_exchange_strong(expected, level, std::memory_order_relaxed))
    return expected;
  if (env && !parsed)
    log_warn("KIO_LOG={} is not a log level; use one of error, warn, info, debug, off (using {})",
             env, to_string(default_level));
  return level;
}

void log_write(LogLevel level, fmt::string_view format, fmt::format_args args) noexcept {
  fmt::memory_buffer line;  // 500 bytes inline: a typical line never reaches the heap
  try {
    const unsigned core = this_core();
    if (core == no_core)
      fmt::format_to(std::back_inserter(line), "kio[no core] {}: ", to_string(level));
    else
      fmt::format_to(std::back_inserter(line), "kio[core {}] {}: ", core, to_string(level));
    const std::size_t head = line.size();
    try {
      fmt::vformat_to(std::back_inserter(line), format, args);
    } catch (const std::exception& e) {
      line.resize(head);
      fmt::format_to(std::back_inserter(line), "(log formatting failed: {})", e.what());
    }
    if (LogSink sink = g_sink.load(std::memory_order_acquire)) {
      sink(level, std::string_view(line.data(), line.size()));
      return;
    }
    line.push_back('\n');
    write_stderr(std::string_view(line.data(), line.size()));
  } catch (...) {
    write_stderr("kio: (log line lost: out of memory)\n");
  }
}

}  // namespace detail

LogLevel log_level() noexcept {
  int now = detail::log_level_now.load(std::memory_order_relaxed);
  if (now < 0) now = detail::log_level_from_env();
  return static_cast<LogLevel>(now);
}

void set_log_level(LogLevel level) noexcept {
  detail::log_level_now.store(static_cast<int>(level), std::memory_order_relaxed);
}

void set_log_sink(LogSink sink) noexcept {
  g_sink.store(sink, std::memory_order_release);
}

std::optional<LogLevel> parse_log_level(std::string_view text) noexcept {
  auto is = [text](std::string_view name) {
    if (text.size() != name.size()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
      char c = text[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != name[i]) return false;
    }
    return true;
  };
  for (LogLevel l :
       {LogLevel::off, LogLevel::error, LogLevel::warn, LogLevel::info, LogLevel::debug})
    if (is(to_string(l))) return l;
  return std::nullopt;
}

std::string_view to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::off:
      return "off";
    case LogLevel::error:
      return "error";
    case LogLevel::warn:
      return "warn";
    case LogLevel::info:
      return "info";
    case LogLevel::debug:
      return "debug";
  }
  return "?";
}

}  // namespace kio
