// RootTask — the coroutine at the bottom of every task tree a runtime owns (spawn, block_on).
//
// A RootTask frame is registered in its executor's root list while it runs and destroys itself
// when its body ends (final_suspend never suspends), unlinking itself in the promise destructor.
// The executor destroys roots still registered at teardown, after all in-flight I/O completed.
// Bodies catch every exception; the ambient cancel token is the core's shutdown token.
// Threading: started and destroyed on its executor's thread.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "kio/core/detail/executor.hpp"
#include "kio/core/detail/mailbox.hpp"
#include "kio/core/task.hpp"

namespace kio::detail {

class [[nodiscard]] RootTask {
 public:
  struct promise_type : PromiseBase {
    RootNode node;
    Executor* owner = nullptr;
    /// Carries the frame to another core: from a non-worker thread (Injected) or from a worker
    /// through the cross-core rings (Message). Either way it is started on arrival. A frame
    /// travels at most once and one way, so the two share their storage (constructed by
    /// launch_on or release_as_message; both are trivially destructible).
    struct LaunchNode : Injected {
      Executor* target = nullptr;
      promise_type* self = nullptr;
    };
    struct MailNode : Message {
      promise_type* self = nullptr;
    };
    union Transit {
      Transit() noexcept {}
      LaunchNode launch;
      MailNode mail;
    } via;
    static_assert(std::is_trivially_destructible_v<LaunchNode> &&
                  std::is_trivially_destructible_v<MailNode>);
    void (*on_exit)(void* ctx) noexcept = nullptr;  // runs last, when the frame goes away
    void* exit_ctx = nullptr;

    RootTask get_return_object() noexcept {
      return RootTask(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }  // bodies catch everything
    ~promise_type() {
      if (owner) owner->remove_root(&node);
      if (on_exit) on_exit(exit_ctx);
    }
  };
  using handle_type = std::coroutine_handle<promise_type>;

  explicit RootTask(handle_type h) noexcept : h_(h) {}
  RootTask(RootTask&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  RootTask& operator=(RootTask&&) = delete;
  ~RootTask() {
    if (h_) h_.destroy();  // never started
  }

  promise_type& promise() noexcept { return h_.promise(); }
  handle_type release() noexcept { return std::exchange(h_, {}); }

  /// Queues the frame on `target`, from any thread. Returns false (the frame is then destroyed)
  /// when the target has already shut down.
  bool launch_on(Executor& target) && {
    promise_type& p = h_.promise();
    auto& launch = *::new (&p.via.launch) promise_type::LaunchNode{};
    launch.target = &target;
    launch.self = &p;
    launch.run = [](Injected* n, bool stopped) noexcept {
      auto* l = static_cast<typename promise_type::LaunchNode*>(n);
      RootTask r(handle_type::from_promise(*l->self));
      if (!stopped) std::move(r).start_on(*l->target);
    };
    if (!target.inject(&launch)) return false;
    h_ = {};
    return true;
  }

  /// Turns the frame into a message that starts it on whichever core handles it (spawn_on from
  /// a worker). The message owns the frame from now on.
  Message* release_as_message() noexcept {
    promise_type& p = h_.promise();
    auto& mail = *::new (&p.via.mail) promise_type::MailNode{};
    mail.self = &p;
    mail.handle = [](Message* m, Executor& here, bool stopped) noexcept {
      RootTask r(
          handle_type::from_promise(*static_cast<typename promise_type::MailNode*>(m)->self));
      if (!stopped) std::move(r).start_on(here);
    };
    mail.discard = [](Message* m) noexcept {
      handle_type::from_promise(*static_cast<typename promise_type::MailNode*>(m)->self).destroy();
    };
    h_ = {};
    return &mail;
  }

  /// Hands the frame to `ex` (call on ex's thread): registered as a root, queued to run.
  void start_on(Executor& ex) && {
    promise_type& p = h_.promise();
    p.owner = &ex;
    p.node.frame = h_;
    p.token = ex.shutdown_token();
    ex.add_root(&p.node);
    ex.schedule(std::exchange(h_, {}));
  }

 private:
  handle_type h_;
};

void log_task_exception(const char* what) noexcept;

/// The body of a detached task: awaits it and reports an escaping exception.
template <class T>
RootTask detached_root(Task<T> task) {
  try {
    co_await std::move(task);
  } catch (const std::exception& e) {
    log_task_exception(e.what());
  } catch (...) {
    log_task_exception(nullptr);
  }
}

}  // namespace kio::detail
