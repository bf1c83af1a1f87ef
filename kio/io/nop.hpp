// kio::nop — an IORING_OP_NOP round trip through the ring (tests and benchmarks).
// Runs on / resumes on: the calling core. Cancellation and lifetime: as for every IoOp (op.hpp).
#pragma once

#include "kio/io/op.hpp"

namespace kio {

inline auto nop() {
  return make_io_op([](io_uring_sqe* s) { io_uring_prep_nop(s); }, map_status);
}

}  // namespace kio
