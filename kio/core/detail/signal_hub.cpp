// SignalHub: handler, delivery thread and bookkeeping (see signal_hub.hpp for the design).
#include "kio/core/detail/signal_hub.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "kio/core/error.hpp"
#include "kio/core/log.hpp"
#include "kio/core/runtime.hpp"

namespace kio::detail {

namespace {

// ---- touched by the signal handler: lock-free atomics only
std::atomic<std::uint64_t> g_raised[max_signal + 1];
std::atomic<int> g_pipe_write{-1};
// Set once a signal stopped a runtime: the next SIGINT/SIGTERM exits from the handler itself.
std::atomic<bool> g_exit_on_next{false};

extern "C" void kio_signal_handler(int sig) {
  if ((sig == SIGINT || sig == SIGTERM) && g_exit_on_next.load(std::memory_order_relaxed)) {
    static const char msg[] = "kio: received a second SIGINT/SIGTERM; exiting now\n";
    [[maybe_unused]] ssize_t w = ::write(2, msg, sizeof msg - 1);
    ::_exit(128 + sig);
  }
  const int saved = errno;
  g_raised[sig].fetch_add(1, std::memory_order_relaxed);
  const char byte = 0;
  [[maybe_unused]] ssize_t w = ::write(g_pipe_write.load(std::memory_order_relaxed), &byte, 1);
  errno = saved;
}

bool catchable(int sig) noexcept {
  return sig > 0 && sig <= max_signal && sig != SIGKILL && sig != SIGSTOP;
}

constexpr std::uint64_t stop_signals = (std::uint64_t{1} << SIGINT) | (std::uint64_t{1} << SIGTERM);

}  // namespace

struct SignalHub::Impl {
  std::mutex mu;
  struct Interest {
    Runtime* rt;
    std::uint64_t mask;
  };
  std::vector<Runtime*> stoppers;
  std::vector<Interest> interests;
  unsigned refs[max_signal + 1] = {};
  struct sigaction previous[max_signal + 1] = {};
  bool pending[max_signal + 1] = {};
  std::uint64_t seen[max_signal + 1] = {};
  SignalWaiter* waiters = nullptr;
  int pipe_read = -1;
  bool thread_started = false;

  std::error_code start_thread() {
    if (thread_started) return {};
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return kio::errno_code(-errno);
    // The handler must never block: a full pipe already means "there is news".
    ::fcntl(fds[1], F_SETFL, ::fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    pipe_read = fds[0];  // before the thread starts reading it
    g_pipe_write.store(fds[1], std::memory_order_relaxed);
    try {
      std::thread([this] { loop(); }).detach();
    } catch (const std::system_error& e) {
      g_pipe_write.store(-1, std::memory_order_relaxed);
      pipe_read = -1;
      ::close(fds[0]);
      ::close(fds[1]);
      return e.code();
    }
    thread_started = true;
    return {};
  }

  // Both under mu.
  std::error_code take(int sig) {
    if (refs[sig]++ > 0) return {};
    if (std::error_code ec = start_thread()) {
      --refs[sig];
      return ec;
    }
    g_raised[sig].store(0, std::memory_order_relaxed);
    seen[sig] = 0;
    struct sigaction sa{};
    sa.sa_handler = &kio_signal_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (::sigaction(sig, &sa, &previous[sig]) != 0) {
      --refs[sig];
      return kio::errno_code(-errno);
    }
    return {};
  }
  void give_back(int sig) {
    if (--refs[sig] > 0) return;
    ::sigaction(sig, &previous[sig], nullptr);
    pending[sig] = false;
  }

  void link(SignalWaiter* w) {
    w->prev = nullptr;
    w->next = waiters;
    if (waiters) waiters->prev = w;
    waiters = w;
    w->linked = true;
  }
  void unlink(SignalWaiter* w) {
    if (w->prev)
      w->prev->next = w->next;
    else
      waiters = w->next;
    if (w->next) w->next->prev = w->prev;
    w->prev = w->next = nullptr;
    w->linked = false;
  }

  // Under mu: one delivery of `sig`.
  void deliver(int sig) {
    bool woke = false;
    for (SignalWaiter* w = waiters; w;) {
      SignalWaiter* next = w->next;
      if (w->mask & signal_bit(sig)) {
        unlink(w);
        w->delivered = sig;
        w->ex->inject(w);  // false: the core has torn down and destroys the frame itself
        woke = true;
      }
      w = next;
    }
    if (woke) return;
    if ((signal_bit(sig) & stop_signals) && !stoppers.empty()) {
      for (Runtime* rt : stoppers) {
        if (rt->stop_requested()) {
          log_warn("received SIG{} while stopping; exiting now", sigabbrev_np(sig));
          std::_Exit(128 + sig);
        }
      }
      log_info("received SIG{}; stopping gracefully (send it again to exit at once)",
               sigabbrev_np(sig));
      g_exit_on_next.store(true, std::memory_order_relaxed);
      for (Runtime* rt : stoppers)
        rt->request_stop();
      return;
    }
    if (refs[sig] > 0) pending[sig] = true;
  }

  void loop() {
    const int fd = pipe_read;  // written before this thread was started
    for (;;) {
      char buf[64];
      const ssize_t r = ::read(fd, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        log_error("signal pipe read failed: {}; kio no longer handles signals",
                  std::strerror(errno));
        return;
      }
      std::lock_guard lock(mu);
      for (int sig = 1; sig <= max_signal; ++sig) {
        const std::uint64_t raised = g_raised[sig].load(std::memory_order_relaxed);
        while (seen[sig] < raised) {
          ++seen[sig];
          if (refs[sig] > 0) deliver(sig);
        }
      }
    }
  }

  Interest& interest_of(Runtime* rt) {
    for (Interest& i : interests)
      if (i.rt == rt) return i;
    interests.push_back({rt, 0});
    return interests.back();
  }
  std::error_code add(Runtime* rt, std::uint64_t mask) {
    Interest& in = interest_of(rt);
    for (int sig = 1; sig <= max_signal; ++sig) {
      if (!(mask & signal_bit(sig)) || (in.mask & signal_bit(sig))) continue;
      if (std::error_code ec = take(sig)) return ec;
      in.mask |= signal_bit(sig);
    }
    return {};
  }
};

SignalHub& SignalHub::get() {
  static SignalHub* hub = new SignalHub;  // never destroyed: the handler may run at any time
  return *hub;
}

SignalHub::Impl& SignalHub::impl() noexcept {
  static Impl* impl = new Impl;
  return *impl;
}

void SignalHub::add_stopper(Runtime* rt) {
  Impl& m = impl();
  std::lock_guard lock(m.mu);
  if (std::error_code ec = m.add(rt, stop_signals))
    throw SetupError(ec, fmt::format("kio: installing the SIGINT/SIGTERM handlers failed: {}; set "
                                     "RuntimeOptions::stop_on_signals = false",
                                     ec.message()));
  m.stoppers.push_back(rt);
}

void SignalHub::remove_runtime(Runtime* rt) noexcept {
  Impl& m = impl();
  std::lock_guard lock(m.mu);
  m.stoppers.erase(std::remove(m.stoppers.begin(), m.stoppers.end(), rt), m.stoppers.end());
  if (m.stoppers.empty()) g_exit_on_next.store(false, std::memory_order_relaxed);
  for (auto it = m.interests.begin(); it != m.interests.end(); ++it) {
    if (it->rt != rt) continue;
    for (int sig = 1; sig <= max_signal; ++sig)
      if (it->mask & signal_bit(sig)) m.give_back(sig);
    m.interests.erase(it);
    break;
  }
}

std::error_code SignalHub::watch(Runtime* rt, std::uint64_t mask) noexcept {
  for (int sig = 1; sig <= max_signal; ++sig)
    if ((mask & signal_bit(sig)) && !catchable(sig))
      return std::make_error_code(std::errc::invalid_argument);
  if (mask == 0) return std::make_error_code(std::errc::invalid_argument);
  Impl& m = impl();
  try {
    std::lock_guard lock(m.mu);
    return m.add(rt, mask);
  } catch (const std::bad_alloc&) {
    return std::make_error_code(std::errc::not_enough_memory);
  }
}

bool SignalHub::wait_or_take(SignalWaiter* w) noexcept {
  Impl& m = impl();
  std::lock_guard lock(m.mu);
  for (int sig = 1; sig <= max_signal; ++sig) {
    if ((w->mask & signal_bit(sig)) && m.pending[sig]) {
      m.pending[sig] = false;
      w->delivered = sig;
      return true;
    }
  }
  m.link(w);
  return false;
}

bool SignalHub::unlink(SignalWaiter* w) noexcept {
  Impl& m = impl();
  std::lock_guard lock(m.mu);
  if (!w->linked) return false;
  m.unlink(w);
  return true;
}

}  // namespace kio::detail
