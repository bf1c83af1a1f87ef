// kio/core — the per-core executor: tasks, the runtime, time, cancellation.
//
// Choosing among the primitives
// -----------------------------
// * kio::Task<T>       a lazy coroutine; compose with co_await.             (task.hpp)
// * kio::Runtime       owns the pinned workers; block_on() enters it.        (runtime.hpp)
// * kio::spawn         runs a task detached on the current core.             (spawn.hpp)
// * kio::spawn_on      runs a task detached on another core.                 (spawn_on.hpp)
// * kio::submit_to     runs a function on another core, awaits its result.   (submit_to.hpp)
// * kio::Sharded<T>    one service instance per core; invoke_on(_all), and
//                      map / map_reduce over every core at once.             (sharded.hpp)
// * kio::yield         lets other ready tasks of this core run first.        (yield.hpp)
// * kio::sleep_for/_until  timers on the core's timer heap.                  (sleep.hpp)
// * kio::interval      periodic ticks without drift; burst/delay/skip for
//                      missed ticks.                                         (interval.hpp)
// * kio::timeout       bounds any awaitable; cancels it and waits for it.    (timeout.hpp)
// * kio::signal/ctrl_c waits for a Unix signal (your own graceful stop).    (signal.hpp)
// * kio::CancelSource  cooperative cancellation; every task has an ambient
//                      token that kio awaitables observe.                    (cancel.hpp)
// * kio::Result<T>     value or std::error_code, returned by fallible ops.   (result.hpp)
//                      Every kio error_code is generic-category errno.       (error.hpp)
// * kio::log_warn, ... leveled log lines naming the core; KIO_LOG=debug.    (log.hpp)
//
// Example
// -------
// clang-format off
//   kio::Task<int> answer() {
//     co_await kio::sleep_for(std::chrono::milliseconds(1));
//     co_return 42;
//   }
//   int main() {
//     kio::Runtime rt;
//     return rt.block_on(answer()) == 42 ? 0 : 1;
//   }
// clang-format on
//
// Limits
// ------
// Per-core objects (tasks, CancelSource, timers) are not thread-safe: they belong to the core that
// created them. Cross-core work goes through the runtime's messaging, never through shared tasks.
#pragma once

#include "kio/core/cancel.hpp"
#include "kio/core/error.hpp"
#include "kio/core/interval.hpp"
#include "kio/core/log.hpp"
#include "kio/core/result.hpp"
#include "kio/core/runtime.hpp"
#include "kio/core/runtime_options.hpp"
#include "kio/core/sharded.hpp"
#include "kio/core/signal.hpp"
#include "kio/core/sleep.hpp"
#include "kio/core/spawn.hpp"
#include "kio/core/spawn_on.hpp"
#include "kio/core/submit_to.hpp"
#include "kio/core/task.hpp"
#include "kio/core/this_core.hpp"
#include "kio/core/timeout.hpp"
#include "kio/core/with_cancel.hpp"
#include "kio/core/yield.hpp"
