// HTTP/1.1 request parsing: a typical browser request, wrk's minimal request, and a batch of 16
// pipelined requests in one buffer. Reports requests/s (items) and bytes/s.
// BM_Serve*: the whole per-request user-space path of a connection (parse, route, handler,
// serialise, hand to the stream) over an in-memory stream, with tcp_demo's routes: what the
// server's own code costs per request, without the kernel.
#include <benchmark/benchmark.h>
#include <sys/uio.h>

#include <coroutine>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "kio/core/runtime.hpp"
#include "kio/http/detail/connection.hpp"
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

// ---- the connection path over an in-memory stream -------------------------------------------

/// Hands out the same batch of request bytes `batches` times, then EOF; counts what is sent.
struct BenchStream {
  struct Buf {
    char* p = nullptr;
    std::size_t n = 0;
    char* data() noexcept { return p; }
    std::size_t size() const noexcept { return n; }
  };
  struct Ready {  // completes at once: no frame, no suspension
    kio::Result<Buf> value;
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    kio::Result<Buf> await_resume() noexcept { return std::move(value); }
  };
  std::string batch;
  std::string copy;  // the parser may decode in place: every batch gets a fresh copy
  long batches = 0;
  std::size_t sent = 0;

  Ready recv() {
    if (batches-- <= 0) return Ready{Buf{}};
    copy.assign(batch);
    return Ready{Buf{copy.data(), copy.size()}};
  }
  struct Sent {
    std::size_t n;
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    kio::Result<std::size_t> await_resume() const noexcept { return n; }
  };
  Sent send(std::span<const std::byte> data) noexcept {
    sent += data.size();
    return Sent{data.size()};
  }
  kio::Task<kio::Result<void>> send_all(std::span<const iovec> iov) {
    for (const iovec& v : iov)
      sent += v.iov_len;
    co_return kio::Result<void>{};
  }
  kio::Result<void> shutdown_write() { return {}; }
  kio::Task<void> close() { co_return; }
};

kio::http::Response hello(kio::http::Request&) {
  return kio::http::Response::text("Hello, World!");
}

kio::Runtime& bench_runtime() {
  static kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  return rt;
}

/// `fixed`: tcp_demo's routes ("/" and "/*path" a fixed response); otherwise a function handler
/// on "/*path" (the trie walk, a Response built and serialised per request).
void serve_batches(benchmark::State& state, const std::string& request, int per_batch,
                   bool fixed = false) {
  kio::http::Router router;
  if (fixed) router.get("/", kio::http::Response::text("Hello, World!"));
  router.any("/echo",
             [](kio::http::Request& q) { return kio::http::Response().body_view(q.body); });
  if (fixed)
    router.get("/*path", kio::http::Response::text("Hello, World!"));
  else
    router.get("/*path", hello);
  const kio::http::ServerOptions opts;
  BenchStream stream;
  for (int i = 0; i < per_batch; ++i)
    stream.batch += request;
  const long batches = 1000;
  for (auto _ : state) {
    stream.batches = batches;
    stream.sent = 0;
    bench_runtime().block_on([&]() -> kio::Task<void> {
      kio::http::detail::ConnRegistry registry;
      kio::http::detail::Connection<BenchStream> conn(stream, router, opts, registry);
      co_await conn.run();
    }());
    if (stream.sent < static_cast<std::size_t>(batches * per_batch * 100)) {
      kio_bench::fail(state, "responses missing");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * batches * per_batch);
}

void BM_ServeWrkPipelined16(benchmark::State& state) {
  serve_batches(state, wrk_request, 16);
}
BENCHMARK(BM_ServeWrkPipelined16)->UseRealTime();

void BM_ServeWrkOneRequest(benchmark::State& state) {
  serve_batches(state, wrk_request, 1);
}
BENCHMARK(BM_ServeWrkOneRequest)->UseRealTime();

void BM_ServeWrkPipelined16Fixed(benchmark::State& state) {
  serve_batches(state, wrk_request, 16, true);
}
BENCHMARK(BM_ServeWrkPipelined16Fixed)->UseRealTime();

void BM_ServeWrkOneRequestFixed(benchmark::State& state) {
  serve_batches(state, wrk_request, 1, true);
}
BENCHMARK(BM_ServeWrkOneRequestFixed)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  return kio_bench::main(argc, argv);
}
