// Every limit a client meets, each a `cmbench serve` flag. A client that
// exceeds one gets an error status or is closed; it never takes the server
// down or holds it forever.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <utility>

#include "net/http_request.hpp"
#include "servers/counters.hpp"

namespace cmb::servers {

struct Limits {
  size_t max_header_bytes = 8 * 1024;   // request line + headers; over it: 431
  size_t max_body_bytes = 1024 * 1024;  // over it: 413
  // A connection that makes no progress for this long is closed: no
  // complete request arrived since it opened or since the last response
  // (slowloris, idle keep-alive), or the client does not read its
  // responses. A partial request is answered 408 first. Waits the handler
  // itself asked for (wait_us, sleep_us, cpu_us) do not count.
  std::chrono::milliseconds header_timeout{10'000};
  // Open connections per server process; one more is answered 503 and closed.
  int max_connections = 10'000;
  // Each answered request's time split into stages (servers/stages.hpp):
  // the kernel's receive time on every read, and four stamps in the
  // session. About half a microsecond a request (docs/models.md), so off
  // unless asked for (`serve --attribution`).
  bool attribution = false;

  net::RequestLimits request() const { return {max_header_bytes, max_body_bytes}; }
};

// Answers 503 Service Unavailable without blocking, for a connection that no
// thread or process can be found to serve (or that is over
// max_connections); the caller then closes it.
void refuse_unavailable(int fd);

// Counts a process's open connections against Limits::max_connections.
// Thread-safe; a Ticket holds one place until it is destroyed.
class ConnectionGate {
 public:
  explicit ConnectionGate(int max) : max_(max) {}
  ConnectionGate(const ConnectionGate&) = delete;
  ConnectionGate& operator=(const ConnectionGate&) = delete;

  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
    Ticket& operator=(Ticket&& other) noexcept {
      if (this != &other) {
        release();
        gate_ = std::exchange(other.gate_, nullptr);
      }
      return *this;
    }
    ~Ticket() { release(); }
    explicit operator bool() const { return gate_ != nullptr; }

   private:
    friend class ConnectionGate;
    explicit Ticket(ConnectionGate* gate) : gate_(gate) {}
    void release() {
      if (gate_ != nullptr) gate_->open_.fetch_sub(1, std::memory_order_relaxed);
      gate_ = nullptr;
    }
    ConnectionGate* gate_ = nullptr;
  };

  // A place for the connection on `fd`; when all are taken, an empty ticket
  // and a 503 sent on `fd` (the caller closes it).
  Ticket admit(int fd) {
    count(Counter::kAccepted);  // by the accepting thread: every model admits where it accepts
    Ticket ticket = enter();
    if (!ticket) refuse_unavailable(fd);
    return ticket;
  }

  // A place for one more connection, or an empty ticket when all are taken.
  Ticket enter() {
    if (open_.fetch_add(1, std::memory_order_relaxed) >= max_) {
      open_.fetch_sub(1, std::memory_order_relaxed);
      return Ticket();
    }
    return Ticket(this);
  }

 private:
  const int max_;
  std::atomic<int> open_{0};
};

}  // namespace cmb::servers
