// Ring creation and the error messages that say what to change when it fails.
#include "kio/core/detail/ring_setup.hpp"

#include <fmt/core.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "kio/core/error.hpp"

namespace kio::detail {

namespace {

// The kernel's IORING_MAX_CQ_ENTRIES (2 * IORING_MAX_ENTRIES); kio's CQ is 4x the SQ.
constexpr unsigned kernel_max_cq_entries = 65536;
constexpr unsigned max_queue_depth = kernel_max_cq_entries / 4;

const char* mode_name(RingMode m) {
  switch (m) {
    case RingMode::defer_taskrun:
      return "defer_taskrun (SINGLE_ISSUER|DEFER_TASKRUN)";
    case RingMode::sqpoll:
      return "sqpoll (SQPOLL)";
    case RingMode::coop_taskrun:
      return "coop_taskrun (SINGLE_ISSUER|COOP_TASKRUN)";
  }
  return "?";
}

std::string memlock_text() {
  rlimit rl{};
  if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0) return "unknown";
  if (rl.rlim_cur == RLIM_INFINITY) return "unlimited";
  return fmt::format("{} KiB", rl.rlim_cur / 1024);
}

}  // namespace

std::string ring_setup_message(int err, const RuntimeOptions& o, unsigned worker) {
  std::string head =
      fmt::format("kio: worker {} could not create its io_uring (mode {}, queue_depth {}): {}",
                  worker, mode_name(o.ring_mode), o.queue_depth, std::strerror(err));
  switch (err) {
    case ENOMEM:
      return head + fmt::format(
                        ". The locked-memory limit is {}; raise it (`ulimit -l unlimited`, "
                        "LimitMEMLOCK=infinity for systemd, --ulimit memlock=-1 for docker) or "
                        "lower RuntimeOptions::queue_depth / the worker count.",
                        memlock_text());
    case EPERM:
    case EACCES:
      return head +
             ". io_uring is not permitted here: check the sysctl kernel.io_uring_disabled "
             "(must be 0, or 1 with this user in kernel.io_uring_group), and seccomp profiles "
             "(docker's default blocks io_uring; run with a profile that allows io_uring_setup).";
    case ENOSYS:
      return head + ". This kernel has no io_uring (needs Linux 6.1+ for the default ring mode).";
    case EINVAL:
      return head +
             ". The kernel rejected the ring parameters: RingMode::defer_taskrun needs Linux 6.1+ "
             "(try RingMode::coop_taskrun on 5.19+, or RingMode::sqpoll).";
    case EMFILE:
    case ENFILE:
      return head + ". Out of file descriptors: raise `ulimit -n`.";
    default:
      return head + ".";
  }
}

void create_ring(io_uring& ring, const RuntimeOptions& o, unsigned worker, int cpu) {
  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  p.cq_entries = o.queue_depth * 4;
  switch (o.ring_mode) {
    case RingMode::defer_taskrun:
      p.flags |=
          IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
      break;
    case RingMode::coop_taskrun:
      p.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
      break;
    case RingMode::sqpoll:
      p.flags |= IORING_SETUP_SQPOLL | IORING_SETUP_SINGLE_ISSUER;
      p.sq_thread_idle = o.sqpoll_idle_ms;
      if (cpu >= 0) {
        p.flags |= IORING_SETUP_SQ_AFF;
        p.sq_thread_cpu = static_cast<unsigned>(cpu);
      }
      break;
  }
  if (o.queue_depth == 0 || (o.queue_depth & (o.queue_depth - 1)) != 0 ||
      o.queue_depth > max_queue_depth) {
    throw SetupError(std::make_error_code(std::errc::invalid_argument),
                     fmt::format("kio: RuntimeOptions::queue_depth {} is not valid: it must be a "
                                 "power of two from 1 to {} (the completion queue is 4x the "
                                 "submission queue, and the kernel accepts at most {} completion "
                                 "entries)",
                                 o.queue_depth, max_queue_depth, kernel_max_cq_entries));
  }
  const int r = io_uring_queue_init_params(o.queue_depth, &ring, &p);
  if (r < 0) throw SetupError(errno_code(r), ring_setup_message(-r, o, worker));
  if (!(p.features & IORING_FEAT_NODROP) || !(p.features & IORING_FEAT_EXT_ARG)) {
    io_uring_queue_exit(&ring);
    throw SetupError(std::make_error_code(std::errc::not_supported),
                     fmt::format("kio: worker {}: this kernel's io_uring lacks FEAT_NODROP or "
                                 "FEAT_EXT_ARG; kio needs Linux 6.1 or newer.",
                                 worker));
  }
}

}  // namespace kio::detail
