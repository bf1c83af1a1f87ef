// demo/flags.hpp — the demos' command-line flags (a demo helper, not part of kio).
//
//   demo::Flags flags("tcp_demo", "[--port N] [--workers N] [--echo]");
//   unsigned port = 8080, workers = 0;
//   bool echo = false;
//   flags.number("--port", port, 1, 65535).number("--workers", workers, 0, 1024);
//   const char* dir = nullptr;
//   flags.flag("--echo", echo).text("--static", dir);
//   flags.parse(argc, argv);
//
// `--name VALUE` (or `--name=VALUE`) sets a whole number within its range, or a text value;
// `--name` sets a switch;
// `--help` prints the usage and exits 0. Anything else — an unknown flag, a missing, malformed or
// out-of-range value — prints one line saying what is wrong and the usage to stderr, and exits
// with status 2.
#pragma once

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace demo {

class Flags {
 public:
  Flags(const char* program, const char* usage) : program_(program), usage_(usage) {}

  /// `name VALUE`: a whole number in [lo, hi], stored in `out`.
  Flags& number(std::string_view name, unsigned& out, unsigned lo, unsigned hi) {
    options_.push_back({name, &out, nullptr, nullptr, lo, hi});
    return *this;
  }

  /// `name VALUE`: any non-empty text, stored in `out` (it points into argv).
  Flags& text(std::string_view name, const char*& out) {
    options_.push_back({name, nullptr, nullptr, &out, 0, 0});
    return *this;
  }

  /// `name`: sets `out` to true.
  Flags& flag(std::string_view name, bool& out) {
    options_.push_back({name, nullptr, &out, nullptr, 0, 0});
    return *this;
  }

  void parse(int argc, char** argv) const {
    for (int i = 1; i < argc; ++i) {
      const std::string_view full = argv[i];
      std::string_view arg = full, value;
      const bool inline_value = arg.find('=') != std::string_view::npos;
      if (inline_value) {
        value = arg.substr(arg.find('=') + 1);
        arg = arg.substr(0, arg.find('='));
      }
      if (arg == "--help" || arg == "-h") {
        std::printf("usage: %s %s\n", program_, usage_);
        std::exit(0);
      }
      const Option* o = find(arg);
      if (o == nullptr)
        fail(full.starts_with("-") ? "unknown option '" + std::string(full) + "'"
                                   : "unexpected argument '" + std::string(full) + "'");
      if (o->flag != nullptr) {
        if (inline_value) fail(std::string(arg) + " takes no value");
        *o->flag = true;
        continue;
      }
      if (!inline_value) {
        if (i + 1 >= argc) fail(std::string(arg) + " needs a value");
        value = argv[++i];
      }
      if (o->text != nullptr) {
        if (value.empty()) fail(std::string(arg) + " needs a value");
        *o->text = value.data();  // a suffix of an argv string: NUL-terminated
        continue;
      }
      long long v = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || ec == std::errc::invalid_argument || end != value.data() + value.size())
        fail(std::string(arg) + " needs a whole number, got '" + std::string(value) + "'");
      if (ec == std::errc::result_out_of_range || v < o->lo || v > o->hi)
        fail(std::string(arg) + " " + std::string(value) + " is out of range (" +
             std::to_string(o->lo) + " to " + std::to_string(o->hi) + ")");
      *o->number = static_cast<unsigned>(v);
    }
  }

  /// Prints "<program>: <what>" and the usage to stderr; exits with status 2.
  [[noreturn]] void fail(const std::string& what) const {
    std::fprintf(stderr, "%s: %s\nusage: %s %s\n", program_, what.c_str(), program_, usage_);
    std::exit(2);
  }

 private:
  struct Option {
    std::string_view name;
    unsigned* number;
    bool* flag;
    const char** text;
    long long lo, hi;
  };

  const Option* find(std::string_view name) const {
    for (const Option& o : options_)
      if (o.name == name) return &o;
    return nullptr;
  }

  const char* program_;
  const char* usage_;
  std::vector<Option> options_;
};

}  // namespace demo
