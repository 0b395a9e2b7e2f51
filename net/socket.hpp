// Socket helpers shared by every server model and the load generator.
// Setup failures throw std::system_error naming the call and the address.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "net/fd.hpp"

namespace cmb::net {

// A resolved IPv4 or IPv6 socket address.
struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  uint16_t port() const;
  // "127.0.0.1:8080" or "[::1]:8080".
  std::string to_string() const;
};

// Resolves a host name or numeric address; throws std::system_error or
// std::runtime_error with the host in the message.
Address resolve(const std::string& host, uint16_t port);

struct ListenOptions {
  int backlog = 1024;
  // One listen socket per event loop on the same port (SO_REUSEPORT).
  bool reuse_port = false;
  // The kernel stamps every segment as it queues it, and accepted sockets
  // inherit the setting (SO_TIMESTAMPING, software receive time): see
  // receive().
  bool receive_timestamps = false;
};

// socket + SO_REUSEADDR + bind + listen. The socket is blocking; callers that
// poll it make it non-blocking themselves.
Fd listen_tcp(const Address& address, const ListenOptions& options = {});

// The address a socket is bound to (after binding port 0, the chosen port).
Address local_address(int fd);

// Why a TCP connection to `address` cannot be made now ("Connection
// refused", "no answer within 2 s"), or "" when one can (it is closed at
// once).
std::string connect_problem(const Address& address);

// recv(2), and with `with_time` when the kernel queued what it read: the
// software receive timestamp of the last segment read (CLOCK_REALTIME
// nanoseconds), from the control message recvmsg() brings on a socket
// whose listener set ListenOptions::receive_timestamps; 0 on any other
// socket, and without `with_time` (a plain recv, a little cheaper).
// (TCP sockets answer SIOCGSTAMPNS with ENOENT: the control message is the
// only way.)
struct Received {
  ssize_t bytes;  // as recv() returns it (errno set when negative)
  int64_t kernel_ns;
};
Received receive(int fd, void* data, size_t size, int flags, bool with_time);

// The room a receive needs for its timestamp's control message.
inline constexpr size_t kReceiveStampSpace = CMSG_SPACE(sizeof(timespec) * 3);
// The kernel's receive time in one control message; 0 when it holds none.
int64_t received_at(const cmsghdr& message);
// The current CLOCK_REALTIME in nanoseconds: the clock received_at() reads.
int64_t realtime_ns();

void set_nonblocking(int fd);
void set_nodelay(int fd);
// Acknowledges what arrives next at once instead of delaying the ACK (Linux
// keeps this only for a while: set it before each exchange).
void set_quick_ack(int fd);

// True when the host is a wildcard address (0.0.0.0 or ::).
bool is_wildcard(const Address& address);

// Accepts connections without spinning when descriptors run out: at EMFILE or
// ENFILE it frees a reserved descriptor, accepts and closes the pending
// connection, and reserves again (libev's and nginx's trick). Each thread
// that accepts owns its own Acceptor.
class Acceptor {
 public:
  // Accepted sockets get TCP_NODELAY, and O_NONBLOCK when `nonblocking`.
  // `on_shed`, when given, is called for every connection shed.
  Acceptor(int listen_fd, bool nonblocking, void (*on_shed)() = nullptr);

  enum class Outcome { kAccepted, kNone, kShed, kFailed, kExhausted };
  struct Result {
    Outcome outcome;
    Fd fd;
  };
  // kNone: nothing pending (EAGAIN on a non-blocking listener).
  // kShed: a connection was dropped for lack of descriptors.
  // kFailed: the pending connection failed (ECONNABORTED and the like).
  // kExhausted: out of descriptors with no spare to shed through (another
  // thread took its slot): connections may be pending; retry once a
  // descriptor has been freed, not in a loop.
  Result accept();

 private:
  int listen_fd_;
  bool nonblocking_;
  void (*on_shed_)();
  Fd spare_;
};

}  // namespace cmb::net
