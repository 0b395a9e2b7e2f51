// Counts a server's system calls over the measured window with `perf stat
// -e raw_syscalls:sys_enter` attached to every process of its tree: their
// threads, and the threads and children they start later, are counted
// (perf's counters inherit). Counting happens in the kernel, without strace's ptrace stops,
// which slow a server several-fold and change how its calls batch. perf
// starts with its counter off; enable() and disable() switch it through
// perf's control FIFO at the window's edges, in microseconds.
// Used from the harness's threads: enable() from the load thread that
// opens the window, the rest from the main thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "harness/sweep/perf_control.hpp"

namespace cmb::harness {

class SyscallCounter {
 public:
  // Empty when perf can count system calls here; otherwise why not (no
  // perf, no tracepoint access). Probed once per process.
  static const std::string& unavailable_reason();

  // Starts perf on `pid`, counting nothing yet. Throws std::runtime_error.
  explicit SyscallCounter(pid_t pid);
  ~SyscallCounter();
  SyscallCounter(const SyscallCounter&) = delete;
  SyscallCounter& operator=(const SyscallCounter&) = delete;

  void enable() noexcept { control_.send("enable\n"); }
  void disable() noexcept { control_.send("disable\n"); }
  // Stops perf and returns what it counted while enabled; std::nullopt if
  // it did not say.
  std::optional<uint64_t> finish();

 private:
  std::filesystem::path dir_;  // the control FIFO and perf's output
  PerfControl control_;
  pid_t perf_ = -1;
};

}  // namespace cmb::harness
