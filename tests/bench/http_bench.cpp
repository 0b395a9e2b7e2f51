// The per-request protocol path: parsing requests (one, and pipelined),
// writing the response head, and parsing responses in the load generator.
#include <benchmark/benchmark.h>

#include <string>

#include "net/http_request.hpp"
#include "net/http_response.hpp"

namespace {

const std::string kRequest =
    "GET /work?cpu_us=0&bytes=13 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n"
    "Accept: */*\r\nConnection: keep-alive\r\n\r\n";

void BM_ParseRequest(benchmark::State& state) {
  cmb::net::RequestParser parser;
  cmb::net::Request request;
  for (auto _ : state) {
    auto result = parser.parse(kRequest, request);
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRequest.size()));
}
BENCHMARK(BM_ParseRequest);

void BM_ParsePipelinedRequests(benchmark::State& state) {
  std::string batch;
  for (int i = 0; i < 16; ++i) batch += kRequest;
  cmb::net::RequestParser parser;
  cmb::net::Request request;
  for (auto _ : state) {
    std::string_view rest = batch;
    while (!rest.empty()) rest.remove_prefix(parser.parse(rest, request).consumed);
  }
  state.SetItemsProcessed(state.iterations() * 16);
}
BENCHMARK(BM_ParsePipelinedRequests);

void BM_WriteResponseHead(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    out.clear();
    cmb::net::append_response_head(out, {.status = 200, .content_length = 13});
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_WriteResponseHead);

void BM_ParseResponse(benchmark::State& state) {
  std::string response;
  cmb::net::append_response_head(response, {.status = 200, .content_length = 13});
  response += "Hello, World!";
  cmb::net::ResponseParser parser;
  for (auto _ : state) {
    parser.reset();
    benchmark::DoNotOptimize(parser.feed(response));
  }
}
BENCHMARK(BM_ParseResponse);

}  // namespace

BENCHMARK_MAIN();
