#include "harness/proc_stats.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace cmb::harness {

std::optional<ProcessCpu> read_process_cpu(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  // The command name (field 2) may hold spaces: fields count from its ')'.
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(paren + 2));
  std::string skip;
  // After ')': state(3) ... utime is field 14, stime 15.
  for (int field = 3; field < 14; ++field) fields >> skip;
  unsigned long long utime = 0, stime = 0;
  if (!(fields >> utime >> stime)) return std::nullopt;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return ProcessCpu{static_cast<double>(utime) / ticks, static_cast<double>(stime) / ticks};
}

std::optional<ProcessMemory> read_process_memory(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) return std::nullopt;
  ProcessMemory memory;
  bool seen = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) memory.rss_kb = std::stoull(line.substr(6));
    if (line.rfind("Threads:", 0) == 0) {
      memory.threads = std::stoi(line.substr(8));
      seen = true;
    }
  }
  if (!seen) return std::nullopt;
  return memory;
}

}  // namespace cmb::harness
