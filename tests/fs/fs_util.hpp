// Helpers for the kio/fs tests: a temporary directory removed at the end, byte patterns.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace fs_test {

/// A fresh directory under `base` (default: $TMPDIR or /tmp), removed with its contents.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& base = "") {
    std::string b = base;
    if (b.empty()) {
      const char* t = std::getenv("TMPDIR");
      b = t && *t ? t : "/tmp";
    }
    std::string tmpl = b + "/kio-fs-test-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp in " + b);
    path = tmpl;
  }
  TempDir(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

/// A deterministic pattern that differs at every offset (catches misplaced chunks).
inline std::vector<std::byte> pattern(std::size_t n, std::uint32_t seed = 1) {
  std::vector<std::byte> v(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    v[i] = static_cast<std::byte>(x >> 24);
  }
  return v;
}

}  // namespace fs_test
