// kio — a thread-per-core async runtime on io_uring.
//
// The umbrella header: includes every module. Each module's own umbrella (kio/core/core.hpp,
// kio/io/io.hpp, ...) opens with a guide to its primitives.
#pragma once

#include "kio/core/core.hpp"
#include "kio/di/di.hpp"
#include "kio/fs/fs.hpp"
#include "kio/http/http.hpp"
#include "kio/io/io.hpp"
#include "kio/net/net.hpp"
#include "kio/sync/sync.hpp"
