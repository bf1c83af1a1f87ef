#include "kio/core/core_metrics.hpp"

#include "kio/core/detail/executor.hpp"

namespace kio {

CoreMetrics CoreMetrics::this_core() {
  return detail::this_executor("kio::CoreMetrics::this_core").metrics();
}

}  // namespace kio
