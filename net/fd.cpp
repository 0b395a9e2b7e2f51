#include "net/fd.hpp"

#include <unistd.h>

namespace cmb::net {

void Fd::reset(int fd) noexcept {
  // close() is not retried on EINTR: on Linux the descriptor is gone either way.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

}  // namespace cmb::net
