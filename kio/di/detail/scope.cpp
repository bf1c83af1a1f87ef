#include "kio/di/detail/scope.hpp"

#include <exception>
#include <system_error>

#include "kio/core/log.hpp"
#include "kio/di/detail/node.hpp"
#include "kio/sync/task_group.hpp"

namespace kio::di::detail {

TaskScope::~TaskScope() {
  if (running_ == 0) return;
  if (!kio::detail::frames_being_torn_down()) {
    kio::log_error(
        "kio::di: {}: its Context was destroyed with {} task(s) running; this is a "
        "kio::di bug. Terminating.",
        owner_->name(), running_);
    std::terminate();
  }
  while (head_)  // the promise destructor unlinks
    std::coroutine_handle<ScopeChildPromise>::from_promise(*head_).destroy();
}

std::coroutine_handle<> TaskScope::child_done(std::coroutine_handle<ScopeChildPromise> h) noexcept {
  ScopeChildPromise& p = h.promise();
  unlink(p);
  if (p.error) {
    try {
      std::rethrow_exception(p.error);
    } catch (const std::system_error& e) {
      if (e.code() != std::errc::operation_canceled)  // cancelled by the service's stop: expected
        kio::log_error("kio::di: a task {} spawned through its Context threw: {}", owner_->name(),
                       e.what());
    } catch (const std::exception& e) {
      kio::log_error("kio::di: a task {} spawned through its Context threw: {}", owner_->name(),
                     e.what());
    } catch (...) {
      kio::log_error("kio::di: a task {} spawned through its Context threw", owner_->name());
    }
  }
  h.destroy();
  if (running_ == 0 && joiner_) return std::exchange(joiner_, {});
  return std::noop_coroutine();
}

}  // namespace kio::di::detail
