// Description: SIGTERM/SIGINT stop a busy runtime gracefully (exit 0 within 1 s); a second
// signal forces the exit when a task ignores cancellation.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

extern char** environ;

namespace {

struct Child {
  pid_t pid = -1;
  int out = -1;
};

Child start_child(bool stubborn) {
  const char* path = std::getenv("KIO_SIGNAL_CHILD");
  if (!path) return {};
  int fds[2];
  if (pipe(fds) != 0) return {};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::string p = path;
  char* argv[] = {p.data(), const_cast<char*>(stubborn ? "--stubborn" : nullptr), nullptr};
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
  Child c = start_child(false);
  ASSERT_GT(c.pid, 0) << "KIO_SIGNAL_CHILD not set or spawn failed";
  ASSERT_TRUE(wait_ready(c));
  std::this_thread::sleep_for(50ms);  // let it get busy
  const auto t0 = Clock::now();
  kill(c.pid, sig);
  int status = wait_exit(c.pid, 5000ms);
  const auto took = Clock::now() - t0;
  if (status == -1) kill(c.pid, SIGKILL), waitpid(c.pid, &status, 0);
  close(c.out);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_LT(took, 1s);
}

TEST(Signal, SigtermStopsGracefullyWithinOneSecond) {
  check_graceful(SIGTERM);
}
TEST(Signal, SigintStopsGracefullyWithinOneSecond) {
  check_graceful(SIGINT);
}

TEST(Signal, SecondSignalForcesExit) {
  Child c = start_child(true);
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

}  // namespace
