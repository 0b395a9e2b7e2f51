#include "harness/sweep/syscall_counter.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "harness/base/subprocess.hpp"

namespace cmb::harness {
namespace {

namespace fs = std::filesystem;

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::optional<uint64_t> read_count(const fs::path& file) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    // CSV (-x,): count,unit,event,...; "<not counted>" when never enabled.
    if (line.find("raw_syscalls:sys_enter") == std::string::npos) continue;
    try {
      return std::stoull(line.substr(0, line.find(',')));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::string probe() {
  const fs::path out = fs::temp_directory_path() / fmt::format("cmbench-perf-probe-{}", ::getpid());
  std::string why;
  const pid_t pid = spawn(
      {"perf", "stat", "-e", "raw_syscalls:sys_enter", "-x,", "-o", out.string(), "--", "true"}, -1,
      -1, -1, &why);  // perf's "Events enabled" and the like go nowhere
  if (pid < 0) return why + " (apt-get install linux-perf)";
  const int status = wait_for(pid);
  const std::optional<uint64_t> count = read_count(out);
  fs::remove(out);
  if (status != 0 || !count || *count == 0)
    return "perf cannot count the raw_syscalls:sys_enter tracepoint here (needs root or "
           "kernel.perf_event_paranoid <= -1, and tracefs)";
  return "";
}

}  // namespace

const std::string& SyscallCounter::unavailable_reason() {
  static const std::string reason = probe();
  return reason;
}

SyscallCounter::SyscallCounter(pid_t pid) : dir_(make_perf_dir("perf")), control_(dir_) {
  std::string why;
  perf_ = spawn({"perf", "stat", "-e", "raw_syscalls:sys_enter", "-x,", "-D", "-1", "--control",
                 control_.argument(), "-o", (dir_ / "count").string(), "-p", tree_pid_list(pid)},
                -1, -1, -1, &why);
  if (perf_ < 0) throw std::runtime_error(why);
  // perf attaches within milliseconds; the warm-up that follows is longer.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

SyscallCounter::~SyscallCounter() {
  if (perf_ > 0) {
    ::kill(perf_, SIGKILL);
    wait_for(perf_);
  }
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

std::optional<uint64_t> SyscallCounter::finish() {
  if (perf_ <= 0) return std::nullopt;
  ::kill(perf_, SIGINT);
  wait_for(perf_);
  perf_ = -1;
  return read_count(dir_ / "count");
}

}  // namespace cmb::harness
