// The runtime most unit tests share: one worker, created on first use, stopped at exit.
// Tests of one binary run one after another on it; a test that needs its own options (more
// workers, a tiny queue, shutdown behaviour) constructs its own Runtime instead.
#pragma once

#include "kio/core/runtime.hpp"

namespace kio_test {

inline kio::Runtime& rt() {
  static kio::Runtime r(kio::RuntimeOptions{.workers = 1});
  return r;
}

}  // namespace kio_test
