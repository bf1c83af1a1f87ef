// Fuzz target: the split-anywhere oracle. The input (a pipelined stream) is parsed whole, then in
// two pieces at a boundary the input chooses, then (short inputs) byte by byte — each piece in a
// fresh buffer, as a connection delivers them. Every way must give exactly the same outcomes:
// state, status, consumed bytes, method, target, path, query, version, headers, body, flags; and
// the same unfinished tail.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"

using namespace kio_fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const http::Limits lim = pick_limits(data[0]);
  const std::size_t pick = static_cast<std::size_t>(data[1]) << 8 | data[2];
  std::string_view in(reinterpret_cast<const char*>(data) + 3, size - 3);

  Feeder whole(lim);
  whole.feed(in);

  const std::size_t k = pick % (in.size() + 1);
  Feeder two(lim);
  two.feed(in.substr(0, k));
  two.feed(in.substr(k));
  KIO_FUZZ_CHECK(two.same_as(whole), "split at " + std::to_string(k) + "\nwhole:\n" +
                                         whole.summary() + "\nsplit:\n" + two.summary());

  if (in.size() <= 512) {
    Feeder bytes(lim);
    for (char c : in)
      bytes.feed(std::string_view(&c, 1));
    KIO_FUZZ_CHECK(bytes.same_as(whole),
                   "byte by byte\nwhole:\n" + whole.summary() + "\nbytes:\n" + bytes.summary());
  }
  return 0;
}
