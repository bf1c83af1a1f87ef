// Fuzz target: differential parsing, kio against http_parser, on whatever libFuzzer makes of the
// seed requests. The comparison and the table of intentional differences are those of
// tests/http/differential.hpp (see it for the rules): a disagreement no row explains stops the run.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "differential.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  kio_diff::Tally t;
  if (auto why = kio_diff::compare(in, t)) {
    std::fprintf(stderr, "differential: %s\n", why->c_str());
    std::abort();
  }
  return 0;
}
