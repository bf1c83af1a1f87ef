// Test helper: a blocking loopback HTTP client socket with timeouts, for tests of the server over
// real sockets.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>

#include "response_reader.hpp"

namespace http_test {

/// A blocking client socket with receive and send timeouts (tests never hang on a silent server).
class Client {
 public:
  /// `rcvbuf` > 0: SO_RCVBUF set before connecting (a small window makes the server's sends
  /// short).
  explicit Client(std::uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }

  bool send(std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  /// Reads until `responses` complete responses arrived, EOF, an error or the timeout. Parsing
  /// starts once `min_bytes` arrived (large transfers are not re-parsed after every read).
  std::string read_responses(std::size_t responses, std::size_t min_bytes = 0) {
    std::string got;
    while (got.size() < min_bytes)
      if (!read_some(got)) return got;
    while (parse_responses(got, -1, true).size() < responses)
      if (!read_some(got)) break;
    return got;
  }
  /// Reads until EOF; returns the bytes, and in `error` the errno that ended it (0 for EOF).
  std::string read_to_eof(int* error = nullptr) {
    std::string got;
    int e = 0;
    while (read_some(got, &e)) {
    }
    if (error) *error = e;
    return got;
  }

 private:
  bool read_some(std::string& into, int* error = nullptr) {
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      if (error) *error = n < 0 ? errno : 0;
      return false;
    }
    into.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
};

inline std::string get(std::string_view path, std::string_view extra = "") {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n";
}

}  // namespace http_test
