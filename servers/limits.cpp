#include "servers/limits.hpp"

#include <sys/socket.h>

#include <string>

#include "net/http_response.hpp"
#include "servers/counters.hpp"

namespace cmb::servers {

void refuse_unavailable(int fd) {
  count(Counter::kRefused);
  std::string response;
  net::append_error_response(response, 503);
  (void)::send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  // Take what the client already sent, without waiting for more: a close
  // with unread bytes is a reset, which can destroy the 503 before it is read.
  ::shutdown(fd, SHUT_WR);
  char discard[4096];
  while (::recv(fd, discard, sizeof discard, MSG_DONTWAIT) > 0) {
  }
}

}  // namespace cmb::servers
