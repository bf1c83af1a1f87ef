// kio::LogLevel — how much kio's logger writes (see kio/core/log.hpp).
//
//   kio::Runtime rt(kio::RuntimeOptions{.log_level = kio::LogLevel::debug});
//
// Each level includes the ones above it: `warn` writes errors and warnings.
#pragma once

#include <cstdint>

namespace kio {

enum class LogLevel : std::uint8_t {
  off = 0,    ///< nothing
  error = 1,  ///< something failed that nobody else will report (a detached task threw, ...)
  warn = 2,   ///< kio worked around a problem (a listener backing off, a leak on misuse, ...)
  info = 3,   ///< rare events worth knowing (a signal stops the runtime); the default
  debug = 4,  ///< details for finding a problem
};

}  // namespace kio
