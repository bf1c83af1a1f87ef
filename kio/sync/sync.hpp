// kio/sync — per-core synchronisation primitives, structured concurrency, and the cross-core
// channel.
//
// Choosing among the primitives
// -----------------------------
// * kio::Event         a flag to wait for; manual- or auto-reset.             (event.hpp)
// * kio::Semaphore     counting, strictly FIFO.                               (semaphore.hpp)
// * kio::Mutex         exclusive section across co_awaits; RAII MutexLock.    (mutex.hpp)
// * kio::Channel<T>    bounded FIFO queue; close() then drain.                (channel.hpp)
// * kio::CrossChannel<T> the same between cores; thread-safe.              (cross_channel.hpp)
// * kio::when_all      run tasks concurrently, wait for all.                  (when_all.hpp)
// * kio::when_any      race tasks; losers cancelled and finished.             (when_any.hpp)
// * kio::TaskGroup     nursery: spawn children, join them; kio::task_scope    (task_group.hpp)
//                      joins automatically.
//
// Common rules
// ------------
// * Per-core and NOT thread-safe: every object here must be used from one core only (to talk to
//   another core use kio::submit_to or kio::CrossChannel, the one thread-safe type here).
// * Waits are intrusive (the node lives in the awaiting frame) and allocate nothing.
// * A wait that has to suspend observes the ambient cancel token and then returns
//   std::errc::operation_canceled in its Result; it leaves the wait queue at once.
// * Waking a waiter pushes it on the core's ready queue; nothing resumes another task inline.
// * Combinators (when_all, when_any, TaskGroup) never leave a child running behind their back:
//   they return only after every child has finished.
#pragma once

#include "kio/sync/channel.hpp"
#include "kio/sync/cross_channel.hpp"
#include "kio/sync/event.hpp"
#include "kio/sync/mutex.hpp"
#include "kio/sync/semaphore.hpp"
#include "kio/sync/task_group.hpp"
#include "kio/sync/when_all.hpp"
#include "kio/sync/when_any.hpp"
