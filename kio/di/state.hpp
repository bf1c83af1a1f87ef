// kio::di::State — where one service instance is in its lifecycle.
//
//   waiting   a required slot has no active provider (snapshot() says which and why)
//   starting  its factory and start() run
//   active    started; its dependents may bind it
//   stopping  its dependents are released, then its Context tasks, stop() and destructor run
//   stopped   stopped on request (Registry::stop); stays so until Registry::start(id)
//   failed    its factory threw or start() failed (the message is kept); start(id) retries
//   blocked   waits on a provider that failed (or is blocked itself)
//
// Threading: a plain value.
#pragma once

#include <cstdint>
#include <string_view>

namespace kio::di {

enum class State : std::uint8_t { waiting, starting, active, stopping, stopped, failed, blocked };

constexpr std::string_view to_string(State s) noexcept {
  switch (s) {
    case State::waiting:
      return "waiting";
    case State::starting:
      return "starting";
    case State::active:
      return "active";
    case State::stopping:
      return "stopping";
    case State::stopped:
      return "stopped";
    case State::failed:
      return "failed";
    case State::blocked:
      return "blocked";
  }
  return "?";
}

}  // namespace kio::di
