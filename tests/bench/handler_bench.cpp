// The handler's dispatch: reading the work from a query string, and one
// whole request through the shared per-connection session (parse, dispatch,
// respond) as every model runs it.
#include <benchmark/benchmark.h>

#include <string>

#include "servers/handler/handler.hpp"
#include "servers/http_session.hpp"

namespace {

void BM_ParseWork(benchmark::State& state) {
  for (auto _ : state) {
    cmb::servers::Work work;
    benchmark::DoNotOptimize(cmb::servers::parse_work("cpu_us=0&sleep_us=0&bytes=13", work));
  }
}
BENCHMARK(BM_ParseWork);

void BM_SessionRequestToResponse(benchmark::State& state) {
  const std::string request = "GET /?bytes=13 HTTP/1.1\r\nHost: bench\r\n\r\n";
  cmb::servers::HttpSession session({});
  for (auto _ : state) {
    session.input().append(request);
    session.process(cmb::servers::HttpSession::WaitPolicy::kDefer);
    session.consume_output(session.pending_output().size());
  }
}
BENCHMARK(BM_SessionRequestToResponse);

}  // namespace

BENCHMARK_MAIN();
