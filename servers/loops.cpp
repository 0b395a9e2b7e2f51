#include "servers/loops.hpp"

#include <algorithm>
#include <exception>
#include <thread>

namespace cmb::servers {

std::vector<net::Fd> reuseport_siblings(const net::Address& address,
                                        const net::ListenOptions& options, int loops) {
  std::vector<net::Fd> siblings;
  for (int i = 1; i < loops; ++i) {
    siblings.push_back(net::listen_tcp(address, options));
    net::set_nonblocking(siblings.back().get());
  }
  return siblings;
}

void run_loops(int loops, const std::function<void(int)>& loop, const Server& server) {
  std::vector<std::exception_ptr> failures(static_cast<size_t>(std::max(loops, 1)));
  const auto guarded = [&](int i) {
    try {
      loop(i);
    } catch (...) {
      failures[static_cast<size_t>(i)] = std::current_exception();
      server.stop();
    }
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < loops; ++i) threads.emplace_back(guarded, i);
  guarded(0);
  for (auto& thread : threads) thread.join();
  for (auto& failure : failures)
    if (failure) std::rethrow_exception(failure);
}

std::chrono::milliseconds sweep_period(std::chrono::milliseconds header_timeout) {
  return std::clamp<std::chrono::milliseconds>(header_timeout / 4, std::chrono::milliseconds(10),
                                               std::chrono::seconds(1));
}

}  // namespace cmb::servers
