// A deliberately misbehaving HTTP server for load generator tests: each
// mode produces one kind of failure. A thread per connection, loopback only,
// everything bounded by timeouts; the destructor stops it.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "net/fd.hpp"
#include "net/socket.hpp"

namespace cmb::testing {

class FaultServer {
 public:
  enum class Mode {
    kOk,              // 200 "ok" to every request, keep-alive
    kReset,           // reads a request, then resets the connection
    kEofMidResponse,  // sends half a response, then closes
    kSilent,          // reads requests, never answers
    kStatus500,       // answers 500
    kGarbage,         // answers bytes that are not HTTP
    kStallOnce,       // like kOk, but the first request after `stall_after` stalls `stall`
  };

  explicit FaultServer(Mode mode, std::chrono::milliseconds stall = {}, int stall_after = 0)
      : mode_(mode), stall_(stall), stall_after_(stall_after) {
    listener_ = net::listen_tcp(net::resolve("127.0.0.1", 0));
    port_ = net::local_address(listener_.get()).port();
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~FaultServer() {
    stopping_ = true;
    ::shutdown(listener_.get(), SHUT_RDWR);
    acceptor_.join();
    std::lock_guard lock(mutex_);
    for (auto& t : workers_) t.join();
  }

  uint16_t port() const { return port_; }
  std::string url(const std::string& target = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + target;
  }
  // Requests read completely (ended by an empty line).
  uint64_t requests_seen() const { return requests_; }
  // The longest wait of any connection between its accept and the end of
  // its first request: how long clients hold connections open unused.
  std::chrono::nanoseconds longest_idle_after_accept() const {
    return std::chrono::nanoseconds(longest_idle_ns_.load());
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      const int fd = ::accept(listener_.get(), nullptr, nullptr);
      if (fd < 0) return;
      // Like every real server: without it Nagle holds each small response
      // back until the client's delayed ACK, and pipelined runs time out.
      net::set_nodelay(fd);
      std::lock_guard lock(mutex_);
      workers_.emplace_back([this, fd, accepted = std::chrono::steady_clock::now()] {
        serve(net::Fd(fd), accepted);
      });
    }
  }

  void serve(net::Fd fd, std::chrono::steady_clock::time_point accepted) {
    bool first = true;
    std::string pending;
    char buffer[4096];
    while (!stopping_) {
      pollfd p{fd.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) == 0) continue;
      const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
      if (n <= 0) return;
      pending.append(buffer, static_cast<size_t>(n));
      for (size_t end; (end = pending.find("\r\n\r\n")) != std::string::npos;) {
        pending.erase(0, end + 4);
        if (std::exchange(first, false)) {
          const int64_t idle = (std::chrono::steady_clock::now() - accepted).count();
          for (int64_t longest = longest_idle_ns_.load(); idle > longest;)
            if (longest_idle_ns_.compare_exchange_weak(longest, idle)) break;
        }
        const uint64_t seen = ++requests_;
        if (!respond(fd.get(), seen)) return;
      }
    }
  }

  // False when the connection is to be dropped.
  bool respond(int fd, uint64_t seen) {
    static constexpr std::string_view kOkResponse =
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    switch (mode_) {
      case Mode::kReset: {
        linger l{1, 0};  // close with a reset
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        return false;
      }
      case Mode::kEofMidResponse:
        send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part");
        return false;
      case Mode::kSilent:
        return true;
      case Mode::kStatus500:
        return send_all(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
      case Mode::kGarbage:
        return send_all(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
      case Mode::kStallOnce:
        if (seen == static_cast<uint64_t>(stall_after_)) std::this_thread::sleep_for(stall_);
        return send_all(fd, kOkResponse);
      case Mode::kOk:
        return send_all(fd, kOkResponse);
    }
    return false;
  }

  static bool send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  Mode mode_;
  std::chrono::milliseconds stall_;
  int stall_after_;
  net::Fd listener_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> requests_{0};
  std::atomic<int64_t> longest_idle_ns_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> workers_;
};

}  // namespace cmb::testing
