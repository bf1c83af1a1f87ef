// The few Partition entry points public headers need, without partition.hpp.
#pragma once

#include "kio/core/cancel.hpp"

namespace kio::di {
class Registry;
class EventChannel;
}  // namespace kio::di

namespace kio::di::detail {
class Partition;
EventChannel& events_of(Partition* p) noexcept;
Registry& registry_of(Partition* p) noexcept;
CancelToken shutdown_token_of(Partition* p) noexcept;
unsigned core_of(Partition* p) noexcept;
}  // namespace kio::di::detail
