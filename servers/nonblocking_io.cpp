#include "servers/nonblocking_io.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "net/fd.hpp"
#include "net/socket.hpp"

namespace cmb::servers {
namespace {

constexpr size_t kReadChunk = 64 * 1024;

}  // namespace

ReadResult read_nonblocking(int fd, HttpSession& session, size_t max_bytes, bool until_eof) {
  size_t total = 0;
  while (total < max_bytes) {
    char* space = session.input().prepare(kReadChunk);
    const size_t asked = session.input().writable();
    const auto [n, kernel_ns] = net::receive(fd, space, asked, 0, session.attributed());
    if (n > 0) {
      session.commit_input(static_cast<size_t>(n), kernel_ns);
      total += static_cast<size_t>(n);
      if (static_cast<size_t>(n) < asked && !until_eof) return {ReadOutcome::kDrained, total};
    } else if (n == 0) {
      return {ReadOutcome::kEof, total};
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return {ReadOutcome::kDrained, total};
    } else {
      return {ReadOutcome::kError, total};
    }
  }
  return {ReadOutcome::kMore, total};
}

FlushOutcome flush_nonblocking(int fd, HttpSession& session) {
  while (session.has_output()) {
    const std::string_view out = session.pending_output();
    const ssize_t n =
        net::retry_on_eintr([&] { return ::send(fd, out.data(), out.size(), MSG_NOSIGNAL); });
    if (n > 0) {
      session.consume_output(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return FlushOutcome::kBlocked;
    } else {
      return FlushOutcome::kError;
    }
  }
  return FlushOutcome::kFlushed;
}

}  // namespace cmb::servers
