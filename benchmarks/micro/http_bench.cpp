// HTTP/1.1 request parsing: a typical browser request, wrk's minimal request, and a batch of 16
// pipelined requests in one buffer. Reports requests/s (items) and bytes/s.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "kio/http/parser.hpp"

namespace {

const std::string browser_request =
    "GET /static/app/index.html?lang=en&v=3 HTTP/1.1\r\n"
    "Host: localhost:8080\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "\r\n";

const std::string wrk_request = "GET / HTTP/1.1\r\nHost: localhost:8080\r\n\r\n";

void parse_all(benchmark::State& state, const std::string& stream, int per_buffer) {
  std::vector<char> buf(stream.begin(), stream.end());
  kio::http::RequestParser parser;
  for (auto _ : state) {
    std::span<char> data(buf);
    for (int i = 0; i < per_buffer; ++i) {
      kio::http::ParseResult r = parser.parse(data);
      if (r.state != kio::http::ParseState::complete) {
        state.SkipWithError("parse failed");
        return;
      }
      benchmark::DoNotOptimize(parser.request().headers.size());
      data = data.subspan(r.consumed);
      parser.reset();
    }
  }
  state.SetItemsProcessed(state.iterations() * per_buffer);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(stream.size()));
}

void BM_ParseBrowserRequest(benchmark::State& state) {
  parse_all(state, browser_request, 1);
}
BENCHMARK(BM_ParseBrowserRequest);

void BM_ParseWrkRequest(benchmark::State& state) {
  parse_all(state, wrk_request, 1);
}
BENCHMARK(BM_ParseWrkRequest);

void BM_ParsePipelined16Browser(benchmark::State& state) {
  std::string batch;
  for (int i = 0; i < 16; ++i)
    batch += browser_request;
  parse_all(state, batch, 16);
}
BENCHMARK(BM_ParsePipelined16Browser);

void BM_ParsePipelined16Wrk(benchmark::State& state) {
  std::string batch;
  for (int i = 0; i < 16; ++i)
    batch += wrk_request;
  parse_all(state, batch, 16);
}
BENCHMARK(BM_ParsePipelined16Wrk);

}  // namespace

BENCHMARK_MAIN();
