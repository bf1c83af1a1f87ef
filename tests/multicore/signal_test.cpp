// Description: SIGTERM/SIGINT stop a busy runtime gracefully (exit 0 long before its grace ends); a second
// signal forces the exit when a task ignores cancellation, whichever core it runs on; signal masks
// are left alone (child processes still get Ctrl-C).
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "kio/core/runtime.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

extern char** environ;

namespace {

struct Child {
  pid_t pid = -1;
  int out = -1;
};

Child start_child(const char* flag) {
  const char* path = std::getenv("KIO_SIGNAL_CHILD");
  if (!path) return {};
  int fds[2];
  if (pipe(fds) != 0) return {};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::string p = path;
  char* argv[] = {p.data(), const_cast<char*>(flag), nullptr};
  Child c;
  if (posix_spawn(&c.pid, path, &fa, nullptr, argv, environ) != 0) c.pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  c.out = fds[0];
  return c;
}

bool wait_ready(const Child& c) {
  char buf[16] = {};
  std::size_t got = 0;
  while (got < 6) {
    ssize_t r = read(c.out, buf + got, sizeof buf - 1 - got);
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return std::string(buf, 5) == "ready";
}

// Waits up to `limit` for the child; returns its wait status, or -1 on timeout.
int wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  int status = 0;
  while (Clock::now() < deadline) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    std::this_thread::sleep_for(5ms);
  }
  return -1;
}

void check_graceful(int sig) {
  Child c = start_child(nullptr);
  ASSERT_GT(c.pid, 0) << "KIO_SIGNAL_CHILD not set or spawn failed";
  ASSERT_TRUE(wait_ready(c));
  std::this_thread::sleep_for(50ms);  // let it get busy
  const auto t0 = Clock::now();
  kill(c.pid, sig);
  // The grace period is 60 s: exiting well before it means the runtime saw every task finish
  // (a runtime that waited out its grace, or hung, is caught here on any machine speed).
  int status = wait_exit(c.pid, 20000ms);
  const auto took = Clock::now() - t0;
  if (status == -1) kill(c.pid, SIGKILL), waitpid(c.pid, &status, 0);
  close(c.out);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_LT(took, 20s);
}

TEST(Signal, SigtermStopsGracefully) {
  check_graceful(SIGTERM);
}
TEST(Signal, SigintStopsGracefully) {
  check_graceful(SIGINT);
}

void check_second_signal_forces_exit(const char* flag) {
  Child c = start_child(flag);
  ASSERT_GT(c.pid, 0);
  ASSERT_TRUE(wait_ready(c));
  kill(c.pid, SIGTERM);
  // The stubborn task ignores cancellation and the grace period is 60 s: still running.
  EXPECT_EQ(wait_exit(c.pid, 300ms), -1);
  kill(c.pid, SIGTERM);
  int status = wait_exit(c.pid, 5000ms);
  if (status == -1) kill(c.pid, SIGKILL), waitpid(c.pid, &status, 0);
  close(c.out);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
}

TEST(Signal, SecondSignalForcesExit) {
  check_second_signal_forces_exit("--stubborn");
}

// The stubborn task is on core 1 and core 0 has nothing left to do: the second signal must
// still end the process (it used to be swallowed while core 0 waited for core 1).
TEST(Signal, SecondSignalForcesExitWhileAnotherCoreIsInItsGracePeriod) {
  check_second_signal_forces_exit("--stubborn-remote");
}

// stop_on_signals must not leave SIGINT/SIGTERM blocked: a child process would inherit the mask
// and ignore Ctrl-C.
TEST(Signal, ChildProcessesDoNotInheritBlockedSignals) {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1, .stop_on_signals = true});
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  // grep itself reads its own mask (a shell in between might reset it).
  char grep[] = "grep", pattern[] = "SigBlk", file[] = "/proc/self/status";
  char* argv[] = {grep, pattern, file, nullptr};
  pid_t pid = -1;
  ASSERT_EQ(posix_spawnp(&pid, "grep", &fa, nullptr, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  std::string out;
  char buf[256];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  const auto colon = out.find(':');
  ASSERT_NE(colon, std::string::npos) << out;
  const unsigned long long blocked = std::stoull(out.substr(colon + 1), nullptr, 16);
  EXPECT_EQ(blocked & (1ull << (SIGINT - 1)), 0u) << out;
  EXPECT_EQ(blocked & (1ull << (SIGTERM - 1)), 0u) << out;
}

}  // namespace
