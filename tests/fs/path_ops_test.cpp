// Description: kio::fs::mkdir / rename / unlink / remove_dir on the ring: the operations and each
// error code (file_exists, no_such_file_or_directory, is_a_directory, directory_not_empty,
// not_a_directory), the *_at forms, and a path kept alive only by the co_await expression.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "co_assert.hpp"
#include "fs_util.hpp"
#include "kio/kio.hpp"
#include "one_worker.hpp"

using kio_test::rt;

namespace {

bool exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

TEST(PathOps, MkdirRenameUnlinkRemoveDir) {
  fs_test::TempDir dir;
  rt().block_on([&]() -> kio::Task<void> {
    std::string d = dir / "d";
    CO_ASSERT(co_await kio::fs::mkdir(d.c_str(), 0750));
    struct stat st;
    CO_ASSERT(::stat(d.c_str(), &st) == 0 && S_ISDIR(st.st_mode));
    auto again = co_await kio::fs::mkdir(d.c_str());
    CO_ASSERT(!again);
    CO_ASSERT_EQ(again.error(), std::errc::file_exists);

    std::string a = d + "/a", b = d + "/b";
    {
      kio::fs::File f(::open(a.c_str(), O_WRONLY | O_CREAT, 0644));
    }
    CO_ASSERT(co_await kio::fs::rename(a.c_str(), b.c_str()));
    CO_ASSERT(!exists(a) && exists(b));
    auto gone = co_await kio::fs::rename(a.c_str(), b.c_str());
    CO_ASSERT(!gone);
    CO_ASSERT_EQ(gone.error(), std::errc::no_such_file_or_directory);
    {
      kio::fs::File f(::open(a.c_str(), O_WRONLY | O_CREAT, 0644));
    }
    auto noreplace = co_await kio::fs::rename(a.c_str(), b.c_str(), RENAME_NOREPLACE);
    CO_ASSERT(!noreplace);
    CO_ASSERT_EQ(noreplace.error(), std::errc::file_exists);

    auto notempty = co_await kio::fs::remove_dir(d.c_str());
    CO_ASSERT(!notempty);
    CO_ASSERT_EQ(notempty.error(), std::errc::directory_not_empty);
    auto isdir = co_await kio::fs::unlink(d.c_str());
    CO_ASSERT(!isdir);
    CO_ASSERT_EQ(isdir.error(), std::errc::is_a_directory);
    auto notdir = co_await kio::fs::remove_dir(b.c_str());
    CO_ASSERT(!notdir);
    CO_ASSERT_EQ(notdir.error(), std::errc::not_a_directory);

    CO_ASSERT(co_await kio::fs::unlink(a.c_str()));
    CO_ASSERT(co_await kio::fs::unlink(b.c_str()));
    auto missing = co_await kio::fs::unlink(b.c_str());
    CO_ASSERT(!missing);
    CO_ASSERT_EQ(missing.error(), std::errc::no_such_file_or_directory);
    CO_ASSERT(co_await kio::fs::remove_dir(d.c_str()));
    CO_ASSERT(!exists(d));
  }());
}

TEST(PathOps, AtFormsResolveRelativeToTheDirectory) {
  fs_test::TempDir dir;
  kio::fs::File base(::open(dir.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(base);
  rt().block_on([&]() -> kio::Task<void> {
    CO_ASSERT(co_await kio::fs::mkdir_at(base.fd(), "sub"));
    auto f = co_await kio::fs::File::open_at(base.fd(), "sub/x", O_WRONLY | O_CREAT, 0644);
    CO_ASSERT(f);
    CO_ASSERT(co_await kio::fs::rename_at(base.fd(), "sub/x", base.fd(), "y"));
    auto st = co_await kio::fs::stat_at(base.fd(), "y");
    CO_ASSERT(st);
    CO_ASSERT(S_ISREG(st->stx_mode));
    CO_ASSERT(co_await kio::fs::unlink_at(base.fd(), "y"));
    CO_ASSERT(co_await kio::fs::remove_dir_at(base.fd(), "sub"));
  }());
  EXPECT_FALSE(exists(dir / "sub"));
  EXPECT_FALSE(exists(dir / "y"));
}

// The path rule: a temporary std::string in the co_await expression lives until the operation's
// completion (the end of the full expression), so this is safe, also under ASan.
TEST(PathOps, TemporaryPathInTheAwaitExpressionIsEnough) {
  fs_test::TempDir dir;
  rt().block_on([&]() -> kio::Task<void> {
    for (int i = 0; i < 100; ++i) {
      auto r =
          co_await kio::fs::mkdir((dir / ("long-directory-name-" + std::to_string(i))).c_str());
      CO_ASSERT(r, r.error().message());
    }
    for (int i = 0; i < 100; ++i)
      CO_ASSERT(co_await kio::fs::remove_dir(
          (dir / ("long-directory-name-" + std::to_string(i))).c_str()));
  }());
}

}  // namespace
