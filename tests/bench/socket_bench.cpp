// What a read costs with the kernel's receive time (the `inbound` stage,
// net::receive) against a plain recv(): a loopback TCP pair, each
// iteration one 40-byte send and its read. The difference is what reading
// the stamp adds to every request of every own model.
#include <benchmark/benchmark.h>
#include <sys/socket.h>

#include <cstring>

#include "net/fd.hpp"
#include "net/socket.hpp"

namespace {

using cmb::net::Fd;

struct Pair {
  Fd client, server;
};

// A connected pair through a listener asked for receive stamps, or not.
Pair connected(bool stamps) {
  Fd listener = cmb::net::listen_tcp(cmb::net::resolve("127.0.0.1", 0),
                                     {.backlog = 1, .receive_timestamps = stamps});
  const cmb::net::Address address = cmb::net::local_address(listener.get());
  Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(client.get(), address.get(), address.length) != 0) return {};
  Fd server(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  return {std::move(client), std::move(server)};
}

constexpr char kRequest[] = "GET /?bytes=13 HTTP/1.1\r\nHost: bench\r\n\r\n";

// Argument 0: a plain recv() on a socket without stamps (every own model's
// read without --attribution); 1: recvmsg with room for the stamp on that
// socket (the control message's share); 2: recvmsg on a socket whose
// listener asked for stamps, the stamp read (a read with --attribution).
void BM_Read(benchmark::State& state) {
  const auto kind = state.range(0);
  Pair pair = connected(kind == 2);
  char buffer[4096];
  for (auto _ : state) {
    (void)::send(pair.client.get(), kRequest, sizeof kRequest - 1, 0);
    const auto read =
        cmb::net::receive(pair.server.get(), buffer, sizeof buffer, 0, /*with_time=*/kind > 0);
    if (kind == 2 && read.kernel_ns == 0) state.SkipWithError("no receive time");
    benchmark::DoNotOptimize(read);
  }
}
BENCHMARK(BM_Read)->Arg(0)->Arg(1)->Arg(2);

}  // namespace

BENCHMARK_MAIN();
