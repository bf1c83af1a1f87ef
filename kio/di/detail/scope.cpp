#include "kio/di/detail/scope.hpp"

#include <exception>
#include <system_error>
#include <utility>

#include "kio/core/log.hpp"
#include "kio/di/detail/node.hpp"
#include "kio/sync/task_group.hpp"

namespace kio::di::detail {

TaskScope::~TaskScope() {
  if (running_ != 0 && !kio::detail::frames_being_torn_down()) {
    kio::log_error(
        "kio::di: {}: its Context was destroyed with {} task(s) running; this is a "
        "kio::di bug. Terminating.",
        owner_->name(), running_);
    std::terminate();
  }
  while (Child* c = all_) {
    all_ = c->next_made;
    if (c->frame) c->frame.destroy();  // a suspended child of a stopping runtime
    delete c;
  }
}

TaskScope::Child* TaskScope::new_child() {
  auto* c = new Child(this);
  c->next_made = all_;
  all_ = c;
  return c;
}

void TaskScope::child_failed(kio::detail::FinalHook* hook, std::exception_ptr e) noexcept {
  const ServiceDef* owner = static_cast<Child*>(hook)->scope->owner_;
  try {
    std::rethrow_exception(std::move(e));
  } catch (const std::system_error& err) {
    if (err.code() != std::errc::operation_canceled)  // cancelled by the service's stop: expected
      kio::log_error("kio::di: a task {} spawned through its Context threw: {}", owner->name(),
                     err.what());
  } catch (const std::exception& err) {
    kio::log_error("kio::di: a task {} spawned through its Context threw: {}", owner->name(),
                   err.what());
  } catch (...) {
    kio::log_error("kio::di: a task {} spawned through its Context threw", owner->name());
  }
}

}  // namespace kio::di::detail
