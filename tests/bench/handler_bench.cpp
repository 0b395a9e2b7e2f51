// The handler's dispatch: reading the work from a query string, and one
// whole request through the shared per-connection session (parse, dispatch,
// respond, and its stages stamped and recorded) as every model runs it.
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

// Argument 1: with Limits::attribution, its stages stamped and recorded.
void BM_SessionRequestToResponse(benchmark::State& state) {
  const std::string request = "GET /?bytes=13 HTTP/1.1\r\nHost: bench\r\n\r\n";
  cmb::servers::HttpSession session({.attribution = state.range(0) == 1});
  for (auto _ : state) {
    session.append_input(request, 1);  // as a read with the kernel's time
    session.process(cmb::servers::HttpSession::WaitPolicy::kDefer);
    session.consume_output(session.pending_output().size());
  }
}
BENCHMARK(BM_SessionRequestToResponse)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
