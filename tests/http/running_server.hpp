// RunningServer — an http::Server on its own runtime, run by a background thread (tests).
//
//   http_test::RunningServer srv({.workers = 1}, make_router(), options);
//   Client c(srv.port());                    // 0 if the server did not bind within 5 s
//
// Threading: constructed and destroyed on the test's thread; run() blocks the background thread.
// Lifetime: the destructor stops the server and joins the thread, so run() has returned (every
// handler finished) before the router and runtime go.
#pragma once

#include <chrono>
#include <cstdint>
#include <system_error>
#include <thread>
#include <utility>

#include "kio/core/result.hpp"
#include "kio/core/runtime.hpp"
#include "kio/http/router.hpp"
#include "kio/http/server.hpp"
#include "kio/http/server_options.hpp"

namespace http_test {

class RunningServer {
 public:
  RunningServer(kio::RuntimeOptions ro, kio::http::Router router, kio::http::ServerOptions opts)
      : rt_(ro), server_(std::move(router), std::move(opts)) {
    thread_ = std::thread([this] { result_ = rt_.block_on(server_.run()); });
    for (int i = 0; i < 500 && server_.port() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  RunningServer(const RunningServer&) = delete;
  RunningServer& operator=(const RunningServer&) = delete;
  ~RunningServer() {
    server_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return server_.port(); }
  kio::Runtime& runtime() noexcept { return rt_; }

 private:
  kio::Runtime rt_;
  kio::http::Server server_;
  std::thread thread_;
  kio::Result<void> result_ = std::errc::operation_in_progress;
};

}  // namespace http_test
