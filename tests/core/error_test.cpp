// Description: every std::error_code kio produces is in one category (generic), whether it came
// from the kernel (a CQE, a failed system call), from kio itself (timeouts, cancellation) or
// from a SetupError, so codes compare equal to each other and print alike.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <string>
#include <system_error>

#include "kio/kio.hpp"
#include "one_worker.hpp"

using namespace std::chrono_literals;

namespace {

using kio_test::rt;

std::string printed(std::error_code ec) {
  return std::string(ec.category().name()) + ":" + std::to_string(ec.value());
}

TEST(Error, ErrnoCodeIsGeneric) {
  const std::error_code ec = kio::errno_code(-ECONNREFUSED);
  EXPECT_EQ(&ec.category(), &std::generic_category());
  EXPECT_EQ(ec, std::errc::connection_refused);
  EXPECT_EQ(ec, std::make_error_code(std::errc::connection_refused));  // code == code
  EXPECT_EQ(printed(ec), "generic:" + std::to_string(ECONNREFUSED));
}

TEST(Error, KernelAndLibraryErrorsShareTheCategory) {
  auto body = []() -> kio::Task<void> {
    // From a CQE: read on a closed descriptor.
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    ::close(fds[0]);
    ::close(fds[1]);
    std::array<std::byte, 8> buf{};
    auto r = co_await kio::read(fds[0], buf);
    EXPECT_FALSE(r);
    EXPECT_EQ(r.error(), std::errc::bad_file_descriptor);
    // From kio: a timeout and a cancelled sleep.
    auto t = co_await kio::timeout(1ms, kio::sleep_for(10s));
    EXPECT_FALSE(t);
    kio::CancelSource src;
    src.request_cancel();
    auto c = co_await kio::with_cancel(src.token(), kio::sleep_for(10s));
    EXPECT_FALSE(c);
    // From a failed system call: bind on a port in use.
    auto l = kio::net::TcpListener::bind(kio::net::Address::loopback_v4(0), {.reuse_port = false});
    EXPECT_TRUE(l);
    auto taken = kio::net::TcpListener::bind(*l->local_address());
    EXPECT_FALSE(taken);
    // From the kernel through connect: nobody listens on the port any more.
    const auto addr = *l->local_address();
    l->close();
    auto refused = co_await kio::net::TcpStream::connect(addr);
    EXPECT_FALSE(refused);
    for (std::error_code ec : {r.error(), t.error(), c.error(), taken.error(), refused.error()}) {
      EXPECT_EQ(&ec.category(), &std::generic_category()) << printed(ec) << " " << ec.message();
    }
    EXPECT_EQ(t.error(), std::make_error_code(std::errc::timed_out));
    EXPECT_EQ(taken.error(), std::make_error_code(std::errc::address_in_use));
    EXPECT_EQ(refused.error(), std::make_error_code(std::errc::connection_refused));
  };
  rt().block_on(body());
}

TEST(Error, SetupErrorCodeIsGeneric) {
  try {
    kio::Runtime bad(kio::RuntimeOptions{.workers = 2, .mailbox_capacity = 3});
    ADD_FAILURE() << "a mailbox capacity of 3 was accepted";
  } catch (const kio::SetupError& e) {
    EXPECT_EQ(&e.code().category(), &std::generic_category());
    EXPECT_EQ(e.code(), std::errc::invalid_argument);
  }
  try {
    kio::Runtime bad(kio::RuntimeOptions{.workers = 1, .queue_depth = 3});
    ADD_FAILURE() << "a queue depth of 3 was accepted";
  } catch (const kio::SetupError& e) {
    EXPECT_EQ(&e.code().category(), &std::generic_category());
  }
}

}  // namespace
