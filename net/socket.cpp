#include "net/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/net_tstamp.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <system_error>

namespace cmb::net {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

uint16_t Address::port() const {
  if (storage.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
}

std::string Address::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, text,
                sizeof text);
    return fmt::format("[{}]:{}", text, port());
  }
  ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, text,
              sizeof text);
  return fmt::format("{}:{}", text, port());
}

Address resolve(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr)
    throw std::runtime_error(fmt::format("cannot resolve host '{}': {}", host, gai_strerror(rc)));
  Address address;
  std::memcpy(&address.storage, found->ai_addr, found->ai_addrlen);
  address.length = found->ai_addrlen;
  ::freeaddrinfo(found);
  return address;
}

Fd listen_tcp(const Address& address, const ListenOptions& options) {
  Fd fd(::socket(address.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  const int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    throw_errno("setsockopt SO_REUSEADDR");
  if (options.reuse_port && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    throw_errno("setsockopt SO_REUSEPORT");
  const int stamps = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
  if (options.receive_timestamps &&
      ::setsockopt(fd.get(), SOL_SOCKET, SO_TIMESTAMPING, &stamps, sizeof stamps) != 0)
    throw_errno("setsockopt SO_TIMESTAMPING");
  if (::bind(fd.get(), address.get(), address.length) != 0)
    throw_errno(fmt::format("bind {}", address.to_string()));
  if (::listen(fd.get(), options.backlog) != 0)
    throw_errno(fmt::format("listen {}", address.to_string()));
  return fd;
}

Address local_address(int fd) {
  Address address;
  address.length = sizeof address.storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address.storage), &address.length) != 0)
    throw_errno("getsockname");
  return address;
}

Received receive(int fd, void* data, size_t size, int flags, bool with_time) {
  if (!with_time) return {retry_on_eintr([&] { return ::recv(fd, data, size, flags); }), 0};
  alignas(cmsghdr) char control[kReceiveStampSpace];
  iovec part{data, size};
  msghdr message{};
  message.msg_iov = &part;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  const ssize_t n = retry_on_eintr([&] { return ::recvmsg(fd, &message, flags); });
  int64_t stamp = 0;
  if (n > 0)
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c))
      if (const int64_t at = received_at(*c)) stamp = at;
  return {n, stamp};
}

int64_t received_at(const cmsghdr& message) {
  if (message.cmsg_level != SOL_SOCKET || message.cmsg_type != SO_TIMESTAMPING) return 0;
  timespec stamps[3];  // software, (deprecated), hardware
  std::memcpy(stamps, CMSG_DATA(&message), sizeof stamps);
  return int64_t{stamps[0].tv_sec} * 1'000'000'000 + stamps[0].tv_nsec;
}

int64_t realtime_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw_errno("fcntl O_NONBLOCK");
}

void set_nodelay(int fd) {
  const int one = 1;
  // Fails only on non-TCP sockets; nothing to do about it then.
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void set_quick_ack(int fd) {
  const int one = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

bool is_wildcard(const Address& address) {
  if (address.storage.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
    return IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
  }
  return reinterpret_cast<const sockaddr_in*>(&address.storage)->sin_addr.s_addr == INADDR_ANY;
}

Acceptor::Acceptor(int listen_fd, bool nonblocking, void (*on_shed)())
    : listen_fd_(listen_fd),
      nonblocking_(nonblocking),
      on_shed_(on_shed),
      spare_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

Acceptor::Result Acceptor::accept() {
  const int flags = SOCK_CLOEXEC | (nonblocking_ ? SOCK_NONBLOCK : 0);
  const int fd = retry_on_eintr([&] { return ::accept4(listen_fd_, nullptr, nullptr, flags); });
  if (fd >= 0) {
    set_nodelay(fd);
    return {Outcome::kAccepted, Fd(fd)};
  }
  switch (errno) {
    case EAGAIN:
      return {Outcome::kNone, Fd()};
    case EMFILE:
    case ENFILE: {
      // The kernel reserves a descriptor before it looks for a connection,
      // so EMFILE comes even with none pending: only the accept through the
      // spare descriptor tells (EAGAIN then means there was none to shed).
      if (!spare_) spare_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      if (!spare_) return {Outcome::kExhausted, Fd()};
      spare_.reset();
      Fd pending(::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC));
      const int shed_errno = errno;
      const bool shed = static_cast<bool>(pending);
      pending.reset();  // closed at once: that is the shedding
      spare_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      if (!shed) {
        if (shed_errno == EAGAIN) return {Outcome::kNone, Fd()};
        // Another thread took the freed slot first.
        if (shed_errno == EMFILE || shed_errno == ENFILE) return {Outcome::kExhausted, Fd()};
        return {Outcome::kFailed, Fd()};
      }
      if (on_shed_ != nullptr) on_shed_();
      return {Outcome::kShed, Fd()};
    }
    default:
      // ECONNABORTED, EPROTO, ENOBUFS, ...: this connection is lost, the
      // listener is fine.
      return {Outcome::kFailed, Fd()};
  }
}

std::string connect_problem(const Address& address) {
  Fd fd(::socket(address.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return std::strerror(errno);
  if (::connect(fd.get(), address.get(), address.length) == 0) return {};
  if (errno != EINPROGRESS) return std::strerror(errno);
  pollfd p{fd.get(), POLLOUT, 0};
  if (::poll(&p, 1, 2000) <= 0) return "no answer within 2 s";
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
  return error == 0 ? std::string() : std::strerror(error);
}

}  // namespace cmb::net
