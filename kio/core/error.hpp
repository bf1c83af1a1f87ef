// kio::SetupError — a runtime could not be created as configured.
//
// Thrown by the Runtime constructor. `what()` says what failed and what to change (raise
// `ulimit -l`, lower `queue_depth`, pick another RingMode, fewer workers, ...); `code()` keeps the
// underlying errno.
#pragma once

#include <string>
#include <system_error>

namespace kio {

class SetupError : public std::system_error {
 public:
  SetupError(std::error_code ec, const std::string& what) : std::system_error(ec, what) {}
};

}  // namespace kio
