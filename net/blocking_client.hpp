// A small blocking HTTP/1.1 client: connect, send bytes, read whole
// responses with the load generator's response parser. Timeouts everywhere,
// so a broken server fails its caller instead of hanging it. The tests'
// client (tests/support/test_client.hpp) and `cmbench verify`'s checks
// (harness/verify/checks.hpp) are this one.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "net/fd.hpp"
#include "net/http_response.hpp"
#include "net/socket.hpp"

namespace cmb::net {

struct ClientResponse {
  int status = 0;
  bool keep_alive = false;
  uint64_t body_bytes = 0;
};

class BlockingClient {
 public:
  explicit BlockingClient(uint16_t port,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10),
                          const std::string& host = "127.0.0.1")
      : timeout_(timeout) {
    const Address address = resolve(host, port);
    fd_.reset(::socket(address.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    connected_ = fd_ && ::connect(fd_.get(), address.get(), address.length) == 0;
    set_timeout(timeout);
  }

  bool connected() const { return connected_; }
  // For each read, and for each send (a server that reads nothing cannot
  // block a send for longer).
  void set_timeout(std::chrono::milliseconds timeout) {
    timeout_ = timeout;
    if (!fd_) return;
    const timeval send_timeout{static_cast<time_t>(timeout.count() / 1000),
                               static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  }
  int fd() const { return fd_.get(); }

  bool send_all(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response; std::nullopt on timeout, EOF or a parse error.
  std::optional<ClientResponse> read_response(bool head_only = false) {
    parser_.reset(head_only);
    const auto parsed = [this] {
      return ClientResponse{parser_.status(), parser_.keep_alive(), parser_.body_bytes()};
    };
    for (;;) {
      if (!pending_.empty()) {
        const size_t used = parser_.feed(pending_);
        pending_.erase(0, used);
        if (parser_.state() == ResponseParser::State::kComplete) return parsed();
        if (parser_.state() == ResponseParser::State::kError) return std::nullopt;
      }
      char buffer[65536];
      const ssize_t n = read_some(buffer, sizeof buffer);
      if (n < 0) return std::nullopt;
      if (n == 0) {
        parser_.on_eof();
        if (parser_.state() == ResponseParser::State::kComplete) return parsed();
        return std::nullopt;
      }
      pending_.append(buffer, static_cast<size_t>(n));
    }
  }

  std::optional<ClientResponse> get(std::string_view target) {
    std::string request = "GET ";
    request.append(target).append(" HTTP/1.1\r\nHost: test\r\n\r\n");
    if (!send_all(request)) return std::nullopt;
    return read_response();
  }

  // Every byte until the server closes (what a response parser has not
  // taken first); std::nullopt when it does not close within the timeout.
  std::optional<std::string> read_to_eof() {
    std::string all = std::move(pending_);
    pending_.clear();
    char buffer[65536];
    for (;;) {
      const ssize_t n = read_some(buffer, sizeof buffer);
      if (n == 0) return all;
      if (n < 0) return std::nullopt;
      all.append(buffer, static_cast<size_t>(n));
    }
  }

  // True when the server closed the connection (EOF or reset) within the timeout.
  bool closed_by_peer() {
    char buffer[4096];
    for (;;) {
      const ssize_t n = read_some(buffer, sizeof buffer);
      if (n == 0 || (n < 0 && errno != ETIMEDOUT)) return true;
      if (n < 0) return false;
    }
  }

 private:
  // -1 with errno ETIMEDOUT when nothing came in time.
  ssize_t read_some(char* buffer, size_t size) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout_.count())) <= 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    return ::recv(fd_.get(), buffer, size, 0);
  }

  Fd fd_;
  bool connected_ = false;
  std::chrono::milliseconds timeout_;
  ResponseParser parser_;
  std::string pending_;
};

}  // namespace cmb::net
