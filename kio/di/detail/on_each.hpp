// on_each — runs body(c) for each core in `cores` concurrently (as tasks of the calling core) and
// waits for all of them; rethrows the first exception once every one has finished.
#pragma once

#include <coroutine>
#include <exception>

#include "kio/core/detail/executor.hpp"
#include "kio/core/spawn.hpp"
#include "kio/core/task.hpp"

namespace kio::di::detail {

/// A contiguous range of core numbers (no allocation).
struct Cores {
  unsigned first = 0;
  unsigned count = 0;
  struct iterator {
    unsigned c;
    unsigned operator*() const noexcept { return c; }
    iterator& operator++() noexcept {
      ++c;
      return *this;
    }
    bool operator==(const iterator&) const = default;
  };
  iterator begin() const noexcept { return {first}; }
  iterator end() const noexcept { return {first + count}; }
  std::size_t size() const noexcept { return count; }
};

template <class Body>
Task<void> on_each(Cores cores, Body body) {
  if (cores.size() == 0) co_return;
  if (cores.size() == 1) {  // the common single-core case: no extra task
    co_await body(cores.first);
    co_return;
  }
  struct Join {
    std::size_t pending;
    std::exception_ptr error;
    std::coroutine_handle<> waiter;
  } join{cores.size(), nullptr, {}};
  auto one = [](Body& b, unsigned c, Join& j) -> Task<void> {
    try {
      co_await b(c);
    } catch (...) {
      if (!j.error) j.error = std::current_exception();
    }
    if (--j.pending == 0 && j.waiter) kio::detail::this_executor("kio::di").schedule(j.waiter);
  };
  for (unsigned c : cores)
    kio::spawn(one(body, c, join));
  struct Wait {
    Join& j;
    bool await_ready() const noexcept { return j.pending == 0; }
    void await_suspend(std::coroutine_handle<> h) noexcept { j.waiter = h; }
    void await_resume() const noexcept {}
  };
  co_await Wait{join};
  if (join.error) std::rethrow_exception(join.error);
}

}  // namespace kio::di::detail
