// What the kernel says about a running process, read from /proc/PID.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace cmb::harness {

struct ProcessCpu {
  double user_s = 0;  // all threads, live and exited
  double system_s = 0;
};

struct ProcessMemory {
  uint64_t rss_kb = 0;  // VmRSS
  int threads = 0;
};

// std::nullopt when the process is gone.
std::optional<ProcessCpu> read_process_cpu(pid_t pid);
std::optional<ProcessMemory> read_process_memory(pid_t pid);

}  // namespace cmb::harness
