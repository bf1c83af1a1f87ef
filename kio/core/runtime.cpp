#include "kio/core/runtime.hpp"

#include <fmt/core.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "kio/core/detail/signal_hub.hpp"
#include "kio/core/log.hpp"
#include "kio/core/this_core.hpp"

namespace kio {

namespace {

std::vector<int> affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

}  // namespace

Runtime::Runtime(RuntimeOptions opts) : opts_(opts) {
  if (opts_.log_level) set_log_level(*opts_.log_level);
  const std::vector<int> allowed = affinity_cpus();
  if (allowed.empty())
    throw SetupError(std::error_code(errno, std::generic_category()),
                     "kio: sched_getaffinity failed; cannot tell which CPUs this process may use");
  unsigned n = opts_.workers ? opts_.workers : static_cast<unsigned>(allowed.size());
  if (n > allowed.size() && !opts_.oversubscribe)
    throw SetupError(std::make_error_code(std::errc::invalid_argument),
                     fmt::format("kio: {} workers requested but the process may run on only {} "
                                 "CPU(s) (affinity mask); use at most {} workers, widen the mask "
                                 "(taskset/cgroup cpuset), or set RuntimeOptions::oversubscribe",
                                 n, allowed.size(), allowed.size()));
  if (n > 1024)
    throw SetupError(std::make_error_code(std::errc::invalid_argument),
                     fmt::format("kio: {} workers requested; at most 1024 are supported", n));
  opts_.workers = n;
  const unsigned cap = opts_.mailbox_capacity;
  if (cap < 2 || (cap & (cap - 1)) != 0)
    throw SetupError(std::make_error_code(std::errc::invalid_argument),
                     fmt::format("kio: mailbox_capacity {} must be a power of two >= 2", cap));
  if (opts_.idle_trim.count() < 0)
    throw SetupError(std::make_error_code(std::errc::invalid_argument),
                     fmt::format("kio: idle_trim {} ms is negative; use 0 to turn trimming off",
                                 opts_.idle_trim.count()));
  for (unsigned i = 0; i < n; ++i)
    cpus_.push_back(opts_.pin ? allowed[i % allowed.size()] : -1);
  for (unsigned i = 0; i < n; ++i)
    executors_.push_back(std::make_unique<detail::Executor>(*this, i, opts_, cpus_[i]));

  // One SPSC ring per ordered pair of distinct cores.
  rings_.resize(static_cast<std::size_t>(n) * n);
  for (unsigned src = 0; src < n; ++src)
    for (unsigned dst = 0; dst < n; ++dst)
      if (src != dst) rings_[src * n + dst] = std::make_unique<detail::MailRing>(cap);
  std::vector<detail::Executor*> peers;
  for (auto& e : executors_)
    peers.push_back(e.get());
  for (unsigned me = 0; me < n; ++me) {
    std::vector<detail::MailRing*> out(n), in(n);
    for (unsigned o = 0; o < n; ++o) {
      out[o] = rings_[me * n + o].get();
      in[o] = rings_[o * n + me].get();
    }
    executors_[me]->connect(peers, std::move(out), std::move(in), &shutdown_sync_);
  }
  shutdown_sync_.participants = n;
  static std::atomic<std::uint32_t> runtimes{0};
  shutdown_sync_.runtime_tag = runtimes.fetch_add(1, std::memory_order_relaxed) + 1;

  // Start the workers; each creates its ring on its own thread and reports back. They enter
  // their loops only once every ring exists.
  std::vector<std::exception_ptr> errors(n);
  std::exception_ptr spawn_error;
  for (unsigned i = 0; i < n && !spawn_error; ++i) {
    try {
      threads_.emplace_back([this, i, &errors] { worker_main(i, errors[i]); });
    } catch (const std::system_error& e) {
      spawn_error = std::make_exception_ptr(SetupError(
          e.code(), fmt::format("kio: starting worker thread {} of {} failed: {}; use fewer "
                                "workers or raise the thread limit (`ulimit -u`, systemd TasksMax)",
                                i, n, e.what())));
    }
  }
  const int started = static_cast<int>(threads_.size());
  for (int r; (r = ready_.load(std::memory_order_acquire)) < started;)
    ready_.wait(r, std::memory_order_acquire);
  if (!spawn_error)
    for (auto& e : errors)
      if (e) spawn_error = e;
  if (!spawn_error && opts_.stop_on_signals) {
    try {
      detail::SignalHub::get().add_stopper(this);
    } catch (...) {
      spawn_error = std::current_exception();
    }
  }
  if (spawn_error) {
    go_.store(2, std::memory_order_release);
    go_.notify_all();
    join();
    detail::SignalHub::get().remove_runtime(this);
    std::rethrow_exception(spawn_error);
  }
  go_.store(1, std::memory_order_release);
  go_.notify_all();
}

Runtime::~Runtime() {
  stop();
  // After the workers are gone: a signal during stop() still stops (or, a second time, exits).
  detail::SignalHub::get().remove_runtime(this);
}

void Runtime::worker_main(unsigned i, std::exception_ptr& error) {
  detail::Executor& ex = *executors_[i];
  char name[16];
  std::snprintf(name, sizeof name, "kio-w%u", i);
  pthread_setname_np(pthread_self(), name);
  try {
    if (cpus_[i] >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpus_[i], &set);
      if (int e = pthread_setaffinity_np(pthread_self(), sizeof set, &set); e != 0)
        throw SetupError(std::error_code(e, std::generic_category()),
                         fmt::format("kio: pinning worker {} to CPU {} failed: {}; set "
                                     "RuntimeOptions::pin = false to run unpinned",
                                     i, cpus_[i], std::strerror(e)));
    }
    ex.init();
  } catch (...) {
    error = std::current_exception();
  }
  // `error` lives in the constructor's frame: do not touch it after this.
  ready_.fetch_add(1, std::memory_order_release);
  ready_.notify_all();
  for (int g; (g = go_.load(std::memory_order_acquire)) == 0;)
    go_.wait(g);
  if (go_.load(std::memory_order_acquire) == 1) ex.run();
}

void Runtime::run_blocking(detail::RootTask root, detail::BlockOnBase& st) {
  if (detail::current_executor())
    throw std::logic_error(
        "kio::Runtime::block_on called on a worker thread (it would deadlock); co_await the task "
        "instead");
  st.frame = root.release();
  st.ex = executors_.front().get();
  st.run = [](detail::Injected* w, bool stopped) noexcept {
    auto* s = static_cast<detail::BlockOnBase*>(w);
    detail::RootTask r(std::exchange(s->frame, {}));
    if (!stopped) std::move(r).start_on(*s->ex);
    // else: r's destructor frees the frame, which reports `abandoned`
  };
  if (!st.ex->inject(&st)) {
    detail::RootTask unstarted(std::exchange(st.frame, {}));  // frees it: reports `abandoned`
  }
  std::unique_lock lock(st.mu);
  st.cv.wait(lock, [&] { return st.status != detail::BlockOnBase::running; });
  if (st.status == detail::BlockOnBase::abandoned)
    throw std::system_error(std::make_error_code(std::errc::operation_canceled),
                            "kio: the runtime stopped before block_on's task finished");
}

void Runtime::request_stop() noexcept {
  // One deadline for every core, fixed before any of them sees the request.
  detail::Executor::arm_grace_deadline(shutdown_sync_, detail::Clock::now() + opts_.shutdown_grace);
  for (auto& e : executors_)
    e->request_stop();
}

bool Runtime::stop_requested() const noexcept {
  return shutdown_sync_.deadline.load(std::memory_order_acquire) != 0;
}

void Runtime::stop() {
  request_stop();
  join();
}

void Runtime::wait() {
  join();
}

void Runtime::join() {
  if (detail::current_executor() && !threads_.empty())
    throw std::logic_error(
        "kio::Runtime::stop/wait called on a worker thread (it would wait for itself); use "
        "request_stop()");
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

unsigned core_count() noexcept {
  detail::Executor* e = detail::current_executor();
  return e ? e->runtime().workers() : 0;
}

namespace detail {

void log_task_exception(const char* what) noexcept {
  if (what)
    log_error("a detached task ended with an exception: {}", what);
  else
    log_error("a detached task ended with an exception that is not a std::exception");
}

}  // namespace detail

}  // namespace kio
