// A busy runtime for signal_test: timers, yields and cross-core calls on both cores until a
// signal stops it. Prints "ready" once running. With --stubborn a task on core 0 ignores
// cancellation, so only a second signal ends the process; --stubborn-remote puts that task on
// core 1 (core 0, which used to read the signals, then has nothing left to do).
#include <cstdio>
#include <cstring>

#include "kio/kio.hpp"

using namespace std::chrono_literals;

kio::Task<void> busy(unsigned peer) {
  for (;;) {
    if (!co_await kio::sleep_for(1ms)) co_return;  // cancelled: the runtime is stopping
    try {
      co_await kio::submit_to(peer, [] { return 1; });
    } catch (const std::system_error&) {
      co_return;
    }
    co_await kio::yield();
  }
}

kio::Task<void> stubborn() {
  co_await kio::with_cancel(kio::CancelToken{}, kio::sleep_for(1h));
}

kio::Task<void> start(bool with_stubborn, bool remote) {
  for (int i = 0; i < 8; ++i) {
    kio::spawn(busy(1));
    co_await kio::spawn_on(1, busy(0));
  }
  if (with_stubborn && remote)
    co_await kio::spawn_on(1, stubborn());
  else if (with_stubborn)
    kio::spawn(stubborn());
}

int main(int argc, char** argv) {
  const bool remote = argc > 1 && std::strcmp(argv[1], "--stubborn-remote") == 0;
  const bool with_stubborn = remote || (argc > 1 && std::strcmp(argv[1], "--stubborn") == 0);
  kio::Runtime rt(kio::RuntimeOptions{
      .workers = 2, .oversubscribe = true, .shutdown_grace = 60s, .stop_on_signals = true});
  rt.block_on(start(with_stubborn, remote));
  std::puts("ready");
  std::fflush(stdout);
  rt.wait();
  return 0;
}
