// kio::Runtime — N pinned worker threads, each with its own io_uring and scheduler.
//
//   int main() {
//     kio::Runtime rt(kio::RuntimeOptions{.workers = 2});
//     int v = rt.block_on(compute());        // runs on worker 0, returns or rethrows
//   }                                        // ~Runtime stops gracefully and joins
//
// Workers: worker i is pinned to the i-th CPU of the process affinity mask (so taskset and cgroup
// cpusets are respected). Asking for more workers than CPUs is a SetupError unless
// `oversubscribe` is set. Ring creation happens on each worker's own thread; any failure makes the
// constructor throw kio::SetupError with a message that says what to change.
// Threading: block_on, request_stop and stop are safe from any non-worker thread; request_stop
// also from workers. Only the thread that owns the Runtime may destroy it.
// Shutdown: stop() cancels every core's shutdown token (the ambient token of all root tasks) and
// lets tasks finish for up to `shutdown_grace`; meanwhile every core keeps serving cross-core work
// (submit_to, spawn_on, Sharded::stop) until all cores are done, so cleanup that spans cores
// works. Then it cancels all in-flight I/O, waits for the kernel's completions, destroys every
// remaining frame and joins the threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <thread>
#include <vector>

#include "kio/core/detail/executor.hpp"
#include "kio/core/detail/root_task.hpp"
#include "kio/core/error.hpp"
#include "kio/core/result.hpp"
#include "kio/core/runtime_options.hpp"
#include "kio/core/task.hpp"

namespace kio {

namespace detail {

/// Where block_on's result travels from worker 0 back to the blocked caller.
struct BlockOnBase : Injected {
  enum : int { running = 0, finished = 1, abandoned = 2 };
  // The worker notifies while holding `mu`, and the caller returns (destroying this state) only
  // after it re-acquired `mu`: the worker is then done with it.
  std::mutex mu;
  std::condition_variable cv;
  int status = running;
  bool body_done = false;
  std::exception_ptr error;
  RootTask::handle_type frame{};
  Executor* ex = nullptr;
  static void on_exit(void* self) noexcept {
    auto* st = static_cast<BlockOnBase*>(self);
    std::lock_guard lock(st->mu);
    st->status = st->body_done ? finished : abandoned;
    st->cv.notify_one();
  }
};

template <class T>
struct BlockOnState : BlockOnBase {
  std::optional<T> value;
};
template <>
struct BlockOnState<void> : BlockOnBase {};

template <class T>
RootTask block_on_root(Task<T> task, BlockOnState<T>* st) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
    } else {
      st->value.emplace(co_await std::move(task));
    }
  } catch (...) {
    st->error = std::current_exception();
  }
  st->body_done = true;
}

}  // namespace detail

class Runtime {
 public:
  explicit Runtime(RuntimeOptions opts = {});
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  ~Runtime();

  /// Runs `task` on worker 0 and blocks the calling (non-worker) thread until it finishes.
  /// Returns its value or rethrows its exception. Throws std::system_error(operation_canceled)
  /// if the runtime stopped before the task finished.
  template <class T>
  T block_on(Task<T> task) {
    detail::BlockOnState<T> st;
    detail::RootTask root = detail::block_on_root(std::move(task), &st);
    root.promise().on_exit = &detail::BlockOnBase::on_exit;
    root.promise().exit_ctx = &st;
    run_blocking(std::move(root), st);
    if (st.error) std::rethrow_exception(st.error);
    if constexpr (!std::is_void_v<T>) return std::move(*st.value);
  }

  /// Queues `task` detached on worker `core`, from any thread. Returns operation_canceled (and
  /// destroys the task) if that worker has shut down. Throws std::out_of_range for a bad core.
  template <class T>
  Result<void> spawn_on(unsigned core, Task<T> task) {
    if (core >= workers()) throw std::out_of_range("kio::Runtime::spawn_on: no such core");
    if (!detail::detached_root(std::move(task)).launch_on(*executors_[core]))
      return std::errc::operation_canceled;
    return {};
  }

  /// Starts a graceful stop of every worker and returns at once. Safe from any thread.
  void request_stop() noexcept;
  /// True once request_stop (or stop, or a signal) asked this runtime to stop.
  bool stop_requested() const noexcept;
  /// Graceful stop, then joins the workers. Idempotent. Not from a worker thread.
  void stop();
  /// Blocks until the runtime stops (request_stop from anywhere, or a signal with
  /// `stop_on_signals`), then joins the workers. Not from a worker thread.
  void wait();

  unsigned workers() const noexcept { return static_cast<unsigned>(executors_.size()); }
  /// The CPU each worker is pinned to (-1 when pinning is off).
  std::span<const int> cpus() const noexcept { return cpus_; }
  const RuntimeOptions& options() const noexcept { return opts_; }

  /// Internals: the executor of worker `i`.
  detail::Executor& executor(unsigned i) noexcept { return *executors_[i]; }

 private:
  void run_blocking(detail::RootTask root, detail::BlockOnBase& st);
  void worker_main(unsigned i, std::exception_ptr& error);
  void join();

  RuntimeOptions opts_;
  std::vector<int> cpus_;
  std::vector<std::unique_ptr<detail::Executor>> executors_;
  std::vector<std::unique_ptr<detail::MailRing>> rings_;  // [src * workers + dst]
  detail::ShutdownSync shutdown_sync_;
  std::atomic<int> ready_{0};  // workers that finished their setup
  std::atomic<int> go_{0};     // 0: wait, 1: run the loop, 2: setup failed, exit
  std::vector<std::thread> threads_;
};

}  // namespace kio
