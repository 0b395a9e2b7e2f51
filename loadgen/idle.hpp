// Connections that connect and then never send, held open for a whole run:
// the idle clients of Banga and Druschel (USENIX 1999) and Gammo et al.
// (OLS 2004), which cost a readiness server O(connections) per call when
// its interface is select or poll, and nothing when it is epoll.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "net/fd.hpp"
#include "net/socket.hpp"

namespace cmb::loadgen {

class IdleConnections {
 public:
  // One address pair has only the ephemeral ports (about 28 000): towards a
  // loopback target, every this many connections take the next source
  // address, 127.0.0.2, 127.0.0.3, ... (the active connections keep
  // 127.0.0.1).
  static constexpr int kPerSourceAddress = 20'000;

  // Connects in waves of this many, each waiting for the last to complete:
  // fewer than a listen backlog (somaxconn is 4096 by default), so that
  // however slowly the server accepts, its queue paces the connects instead
  // of dropping SYNs that would then wait a second or more to be retried.
  static constexpr int kWave = 1024;

  // Opens `count` connections to `address` (non-blocking connects, a wave
  // in flight at once) and waits at most `timeout` for each wave to
  // complete. After the first failure no more are tried.
  IdleConnections(const net::Address& address, int count, std::chrono::milliseconds timeout);

  int open() const { return static_cast<int>(sockets_.size()); }
  int failed() const { return failed_; }
  // Why the first one failed ("connect: Connection refused", "socket: Too
  // many open files", "not connected within 10 s"); empty when none did.
  const std::string& first_error() const { return first_error_; }
  // How many of the open ones the server has closed (or written to) by now.
  int closed_by_server() const;

 private:
  void fail(const std::string& why, int how_many = 1);
  void connect_wave(int epoll, const net::Address& address, int first, int count,
                    std::chrono::milliseconds timeout);

  std::vector<net::Fd> sockets_;
  int failed_ = 0;
  std::string first_error_;
};

}  // namespace cmb::loadgen
