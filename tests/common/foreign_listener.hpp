// ForeignListener: another process listening on a TCP port of 127.0.0.1, for tests of what kio
// does when a port is already held (or must not be taken over) by someone else.
//
// The child is forked and only makes async-signal-safe system calls (socket, setsockopt, bind,
// listen, write, read, _exit), so it may be created while kio's worker threads run. It reports
// its port (or the bind/listen errno) through a pipe and holds the socket until the object is
// destroyed. It never accepts: connections the kernel gives it wait in its backlog.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace kio_test {

class ForeignListener {
 public:
  /// Listens on 127.0.0.1:`port` (0: a port the kernel picks). `reuse_port`: with SO_REUSEPORT,
  /// as a server that shares its port with others would (SO_REUSEADDR is always set).
  explicit ForeignListener(std::uint16_t port, bool reuse_port) {
    int report[2], hold[2];
    if (::pipe(report) != 0 || ::pipe(hold) != 0) {
      result_ = -errno;
      return;
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(report[0]);
      ::close(hold[1]);
      std::int32_t r = listen_on(port, reuse_port);
      (void)!::write(report[1], &r, sizeof r);
      char c;
      while (::read(hold[0], &c, 1) > 0) {
      }
      ::_exit(0);
    }
    ::close(report[1]);
    ::close(hold[0]);
    hold_ = hold[1];
    if (pid_ < 0) {
      result_ = -errno;
      ::close(report[0]);
      return;
    }
    std::int32_t r = -EPIPE;
    if (::read(report[0], &r, sizeof r) != sizeof r) r = -EPIPE;
    ::close(report[0]);
    result_ = r;
  }
  ForeignListener(const ForeignListener&) = delete;
  ForeignListener& operator=(const ForeignListener&) = delete;
  ~ForeignListener() {
    if (hold_ >= 0) ::close(hold_);  // the child exits on EOF
    if (pid_ > 0) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }

  /// True when the child listens.
  bool listening() const { return result_ > 0; }
  std::uint16_t port() const { return result_ > 0 ? static_cast<std::uint16_t>(result_) : 0; }
  /// The errno of the child's failed bind or listen (0 when it listens).
  int error() const { return result_ < 0 ? -result_ : 0; }

 private:
  static std::int32_t listen_on(std::uint16_t port, bool reuse_port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -errno;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuse_port) ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -errno;
    if (::listen(fd, 64) != 0) return -errno;
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return -errno;
    return ntohs(a.sin_port);
  }

  pid_t pid_ = -1;
  int hold_ = -1;
  std::int32_t result_ = 0;
};

}  // namespace kio_test
