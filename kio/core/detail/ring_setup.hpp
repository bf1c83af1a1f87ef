// Creating a worker's io_uring with the flags its RingMode asks for. Failures throw
// kio::SetupError whose message names the cause and the setting to change.
// Threading: call on the thread that will own the ring (SINGLE_ISSUER binds it to that thread).
#pragma once

#include <liburing.h>

#include <string>

#include "kio/core/runtime_options.hpp"

namespace kio::detail {

void create_ring(io_uring& ring, const RuntimeOptions& o, unsigned worker, int cpu);
std::string ring_setup_message(int err, const RuntimeOptions& o, unsigned worker);

}  // namespace kio::detail
