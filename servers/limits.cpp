#include "servers/limits.hpp"

#include <sys/socket.h>

#include <string>

#include "net/http_response.hpp"
#include "servers/counters.hpp"

namespace cmb::servers {
namespace {

// Built at start-up: a 503 is often sent when memory or threads have run out,
// when it could not be allocated.
const std::string k503 = [] {
  std::string response;
  net::append_error_response(response, 503);
  return response;
}();

}  // namespace

void refuse_unavailable(int fd) {
  count(Counter::kRefused);
  (void)::send(fd, k503.data(), k503.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  // Take what the client already sent, without waiting for more: a close
  // with unread bytes is a reset, which can destroy the 503 before it is read.
  ::shutdown(fd, SHUT_WR);
  char discard[4096];
  while (::recv(fd, discard, sizeof discard, MSG_DONTWAIT) > 0) {
  }
}

}  // namespace cmb::servers
