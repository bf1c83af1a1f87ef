// Description: the leveled logger — levels, line format, the core id, KIO_LOG parsing, the
// RuntimeOptions level, and that a disabled level formats and allocates nothing.
#include "kio/core/log.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "alloc_counter.hpp"
#include "kio/core/runtime.hpp"
#include "kio/core/submit_to.hpp"
#include "kio/core/task.hpp"
#include "kio/core/this_core.hpp"

namespace {

std::atomic<int> g_formatted{0};

struct Counted {};  // counts how often fmt formats it
struct Throws {};   // its formatter throws

}  // namespace

// Plain formatters (no format specs): inheriting formatter<string_view> pulls in fmt 9's spec
// parser, which g++ 12 -O3 flags with a false -Wstringop-overflow.
template <>
struct fmt::formatter<Counted> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  template <class Ctx>
  auto format(const Counted&, Ctx& ctx) const {
    g_formatted.fetch_add(1, std::memory_order_relaxed);
    return fmt::format_to(ctx.out(), "counted");
  }
};

template <>
struct fmt::formatter<Throws> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  template <class Ctx>
  auto format(const Throws&, Ctx& ctx) const -> decltype(ctx.out()) {
    throw std::runtime_error("boom");
  }
};

namespace {

std::mutex g_mu;
std::vector<std::string> g_lines;
std::vector<kio::LogLevel> g_levels;

void capture(kio::LogLevel level, std::string_view line) noexcept {
  std::lock_guard lock(g_mu);
  g_lines.emplace_back(line);
  g_levels.push_back(level);
}

// Counts lines without allocating (for the allocation tests).
std::atomic<int> g_sunk{0};
char g_last[1024];
void count_only(kio::LogLevel, std::string_view line) noexcept {
  const std::size_t n = std::min(line.size(), sizeof g_last - 1);
  std::memcpy(g_last, line.data(), n);
  g_last[n] = '\0';
  g_sunk.fetch_add(1, std::memory_order_relaxed);
}

// Counts lines only: safe from several threads at once.
void count_lines(kio::LogLevel, std::string_view) noexcept {
  g_sunk.fetch_add(1, std::memory_order_relaxed);
}

class Log : public testing::Test {
 protected:
  void SetUp() override {
    saved_ = kio::log_level();
    std::lock_guard lock(g_mu);
    g_lines.clear();
    g_levels.clear();
    kio::set_log_sink(capture);
  }
  void TearDown() override {
    kio::set_log_sink(nullptr);
    kio::set_log_level(saved_);
    ::unsetenv("KIO_LOG");
  }
  static std::vector<std::string> lines() {
    std::lock_guard lock(g_mu);
    return g_lines;
  }
  // Forgets the level, so the next use reads KIO_LOG again (as at process start).
  static kio::LogLevel reread_env(const char* value) {
    if (value)
      ::setenv("KIO_LOG", value, 1);
    else
      ::unsetenv("KIO_LOG");
    kio::detail::log_level_now.store(-1);
    return kio::log_level();
  }
  kio::LogLevel saved_ = kio::LogLevel::info;
};

TEST_F(Log, LevelsFilterMessages) {
  kio::set_log_level(kio::LogLevel::warn);
  kio::log_error("e {}", 1);
  kio::log_warn("w {}", 2);
  kio::log_info("i {}", 3);
  kio::log_debug("d {}", 4);
  EXPECT_EQ(lines(),
            (std::vector<std::string>{"kio[no core] error: e 1", "kio[no core] warn: w 2"}));
  EXPECT_EQ(g_levels, (std::vector<kio::LogLevel>{kio::LogLevel::error, kio::LogLevel::warn}));

  kio::set_log_level(kio::LogLevel::debug);
  kio::log_debug("d {}", 5);
  kio::log(kio::LogLevel::info, "i {}", 6);
  EXPECT_EQ(lines().size(), 4u);
  EXPECT_EQ(lines().back(), "kio[no core] info: i 6");

  kio::set_log_level(kio::LogLevel::off);
  kio::log_error("nothing");
  EXPECT_EQ(lines().size(), 4u);
  EXPECT_FALSE(kio::log_enabled(kio::LogLevel::error));
  kio::set_log_level(kio::LogLevel::error);
  EXPECT_TRUE(kio::log_enabled(kio::LogLevel::error));
  EXPECT_FALSE(kio::log_enabled(kio::LogLevel::warn));
  EXPECT_FALSE(kio::log_enabled(kio::LogLevel::off));  // "off" is not a level to write at
}

TEST_F(Log, FormatsWithFmtAndSurvivesAThrowingFormatter) {
  kio::set_log_level(kio::LogLevel::info);
  kio::log_info("{:>5}|{:.2f}|{}|{}", 42, 3.14159, std::string("str"), std::string_view("sv"));
  kio::log_info("bad arg: {}", Throws{});
  const std::string long_text(3000, 'x');  // past the 500 bytes kept on the stack
  kio::log_info("{}", long_text);
  auto l = lines();
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0], "kio[no core] info:    42|3.14|str|sv");
  EXPECT_EQ(l[1], "kio[no core] info: (log formatting failed: boom)");
  EXPECT_EQ(l[2], "kio[no core] info: " + long_text);
}

TEST_F(Log, WritesToStderrByDefault) {
  kio::set_log_sink(nullptr);
  kio::set_log_level(kio::LogLevel::info);
  testing::internal::CaptureStderr();
  kio::log_warn("to stderr {}", 7);
  kio::log_debug("not written");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "kio[no core] warn: to stderr 7\n");
}

TEST_F(Log, EachLineNamesTheCore) {
  kio::set_log_level(kio::LogLevel::info);
  {
    kio::Runtime rt(kio::RuntimeOptions{.workers = 2, .oversubscribe = true});
    rt.block_on([]() -> kio::Task<void> {
      kio::log_info("from core {}", 0);
      co_await kio::submit_to(1, [] { kio::log_info("from core {}", 1); });
    }());
  }
  kio::log_info("after the runtime");
  EXPECT_EQ(lines(), (std::vector<std::string>{"kio[core 0] info: from core 0",
                                               "kio[core 1] info: from core 1",
                                               "kio[no core] info: after the runtime"}));
}

TEST_F(Log, ParsesLevelNames) {
  using L = kio::LogLevel;
  EXPECT_EQ(kio::parse_log_level("error"), L::error);
  EXPECT_EQ(kio::parse_log_level("warn"), L::warn);
  EXPECT_EQ(kio::parse_log_level("info"), L::info);
  EXPECT_EQ(kio::parse_log_level("debug"), L::debug);
  EXPECT_EQ(kio::parse_log_level("off"), L::off);
  EXPECT_EQ(kio::parse_log_level("DEBUG"), L::debug);
  EXPECT_EQ(kio::parse_log_level("Warn"), L::warn);
  EXPECT_EQ(kio::parse_log_level("warning"), std::nullopt);
  EXPECT_EQ(kio::parse_log_level(""), std::nullopt);
  EXPECT_EQ(kio::parse_log_level("debug "), std::nullopt);
  for (L l : {L::off, L::error, L::warn, L::info, L::debug})
    EXPECT_EQ(kio::parse_log_level(kio::to_string(l)), l);
}

TEST_F(Log, LevelComesFromKioLogOnFirstUse) {
  EXPECT_EQ(reread_env(nullptr), kio::LogLevel::info);  // the default
  EXPECT_EQ(reread_env("debug"), kio::LogLevel::debug);
  EXPECT_EQ(reread_env("error"), kio::LogLevel::error);
  EXPECT_EQ(reread_env("off"), kio::LogLevel::off);
  EXPECT_EQ(reread_env(""), kio::LogLevel::info);
  EXPECT_TRUE(lines().empty());

  EXPECT_EQ(reread_env("verbose"), kio::LogLevel::info);
  EXPECT_EQ(lines(), (std::vector<std::string>{
                         "kio[no core] warn: KIO_LOG=verbose is not a log level; use one of "
                         "error, warn, info, debug, off (using info)"}));
  EXPECT_EQ(kio::log_level(), kio::LogLevel::info);  // read once: no second warning
  EXPECT_EQ(lines().size(), 1u);

  // The first log call reads it too, not only log_level().
  ::setenv("KIO_LOG", "warn", 1);
  kio::detail::log_level_now.store(-1);
  kio::log_info("hidden");
  kio::log_warn("shown");
  EXPECT_EQ(lines().back(), "kio[no core] warn: shown");
  EXPECT_EQ(kio::log_level(), kio::LogLevel::warn);
}

TEST_F(Log, RuntimeOptionsSetTheLevel) {
  reread_env("error");
  {
    kio::Runtime rt(kio::RuntimeOptions{.workers = 1, .log_level = kio::LogLevel::debug});
    EXPECT_EQ(kio::log_level(), kio::LogLevel::debug);
    rt.block_on([]() -> kio::Task<void> {
      kio::log_debug("debug on core {}", kio::this_core());
      co_return;
    }());
  }
  EXPECT_EQ(lines(), (std::vector<std::string>{"kio[core 0] debug: debug on core 0"}));
  {
    kio::Runtime rt(kio::RuntimeOptions{.workers = 1});  // unset: leaves the level alone
    EXPECT_EQ(kio::log_level(), kio::LogLevel::debug);
  }
}

TEST_F(Log, DisabledLevelFormatsNothing) {
  kio::set_log_sink(count_only);
  kio::set_log_level(kio::LogLevel::warn);
  g_formatted = 0;
  g_sunk = 0;
  for (int i = 0; i < 1000; ++i) {
    kio::log_debug("debug {} {}", i, Counted{});
    kio::log_info("info {}", Counted{});
  }
  EXPECT_EQ(g_formatted.load(), 0) << "arguments formatted while the level was off";
  EXPECT_EQ(g_sunk.load(), 0);

  // Sanity: the same call does format (and reach the sink) once the level is on.
  kio::set_log_level(kio::LogLevel::debug);
  kio::log_debug("debug {} {}", 1, Counted{});
  EXPECT_EQ(g_formatted.load(), 1);
  EXPECT_EQ(g_sunk.load(), 1);
  EXPECT_STREQ(g_last, "kio[no core] debug: debug 1 counted");
}

TEST_F(Log, DisabledLevelAllocatesNothing) {
#if !KIO_TEST_COUNTS_ALLOCATIONS
  GTEST_SKIP() << "allocations are not counted under TSan (its runtime owns operator new)";
#else
  kio::set_log_sink(count_only);
  kio::set_log_level(kio::LogLevel::warn);
  const std::string s = "a string argument";
  g_sunk = 0;
  const long before = g_news.load();
  for (int i = 0; i < 10'000; ++i) {
    kio::log_debug("debug {} {} {} {}", i, s, Counted{}, 2.5);
    kio::log_info("info {} {}", Counted{}, std::string_view(s));
  }
  EXPECT_EQ(g_news.load() - before, 0) << "allocations while the level was off";
  EXPECT_EQ(g_sunk.load(), 0);

  // Sanity: the counter sees the allocation a long enabled line needs.
  kio::set_log_level(kio::LogLevel::debug);
  kio::log_debug("{}", std::string_view(std::string(2000, 'y')));
  EXPECT_GT(g_news.load() - before, 0);
  EXPECT_EQ(g_sunk.load(), 1);
#endif
}

TEST_F(Log, ShortEnabledLineAllocatesNothing) {
#if !KIO_TEST_COUNTS_ALLOCATIONS
  GTEST_SKIP() << "allocations are not counted under TSan (its runtime owns operator new)";
#else
  kio::set_log_sink(count_only);
  kio::set_log_level(kio::LogLevel::info);
  g_sunk = 0;
  const long before = g_news.load();
  for (int i = 0; i < 1000; ++i)
    kio::log_info("request {} took {} us on {}", i, 12.5, std::string_view("GET /"));
  EXPECT_EQ(g_news.load() - before, 0);
  EXPECT_EQ(g_sunk.load(), 1000);
  EXPECT_STREQ(g_last, "kio[no core] info: request 999 took 12.5 us on GET /");
#endif
}

TEST_F(Log, ThreadsLogWhileTheLevelChanges) {
  kio::set_log_sink(count_lines);
  g_sunk = 0;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&stop, t] {
      while (!stop.load(std::memory_order_relaxed))
        kio::log_warn("thread {}", t);
    });
  for (int i = 0; i < 2000; ++i)
    kio::set_log_level(i % 2 ? kio::LogLevel::warn : kio::LogLevel::error);
  kio::set_log_level(kio::LogLevel::warn);
  while (g_sunk.load() == 0)
    std::this_thread::yield();
  stop = true;
  for (auto& th : threads)
    th.join();
  EXPECT_GT(g_sunk.load(), 0);
}

}  // namespace
