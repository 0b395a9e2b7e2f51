#include "harness/sweep/perf_control.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "harness/base/proc_stats.hpp"

namespace cmb::harness {

std::filesystem::path make_perf_dir(const std::string& name) {
  std::string pattern = fmt::format("/tmp/cmbench-{}-XXXXXX", name);
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error(fmt::format("mkdtemp: {}", std::strerror(errno)));
  return pattern;
}

std::string tree_pid_list(pid_t root) {
  std::string pids;
  for (const pid_t member : process_tree(root))
    pids += (pids.empty() ? "" : ",") + std::to_string(member);
  return pids;
}

PerfControl::PerfControl(const std::filesystem::path& dir) : fifo_(dir / "control") {
  if (::mkfifo(fifo_.c_str(), 0600) != 0)
    throw std::runtime_error(fmt::format("mkfifo: {}", std::strerror(errno)));
  // Read-write, so opening does not wait for perf to open its end.
  fd_ = net::Fd(::open(fifo_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd_) throw std::runtime_error(fmt::format("open fifo: {}", std::strerror(errno)));
}

void PerfControl::send(const char* text) noexcept {
  const ssize_t written = ::write(fd_.get(), text, std::strlen(text));
  (void)written;
}

}  // namespace cmb::harness
