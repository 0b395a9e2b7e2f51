// What the sweep's two uses of Linux perf share (SyscallCounter, Profiler):
// a fresh directory for perf's files, perf's control FIFO, and the list of
// a server's processes for perf's -p.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "net/fd.hpp"

namespace cmb::harness {

// A fresh directory /tmp/cmbench-NAME-XXXXXX. Throws std::runtime_error.
std::filesystem::path make_perf_dir(const std::string& name);

// "PID,PID,...": every process of the tree `root` heads. A server started
// before perf (an external one's command, prefork's children) is no child
// perf would follow, so each is named.
std::string tree_pid_list(pid_t root);

// perf's control FIFO in `dir` (perf stat/record --control): a perf
// started with argument() switches its events on when sent "enable\n" and
// off with "disable\n". Throws std::runtime_error.
class PerfControl {
 public:
  explicit PerfControl(const std::filesystem::path& dir);
  std::string argument() const { return "fifo:" + fifo_.string(); }
  // A command lost leaves perf's figures short or missing: its reader says so.
  void send(const char* text) noexcept;

 private:
  std::filesystem::path fifo_;
  net::Fd fd_;
};

}  // namespace cmb::harness
