// Running a short-lived program (ip, tc, ssh) and reading what it said.
// Everything has a timeout; the child dies with the harness.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "net/fd.hpp"

namespace cmb::harness {

struct CommandResult {
  int exit_code = -1;  // -1: it did not exit by itself (a signal, the timeout, no such program)
  std::string out;
  std::string err;
  bool timed_out = false;
  bool ok() const { return exit_code == 0; }
  // "ip netns add x: exit 1: RTNETLINK answers: File exists" -- for messages.
  std::string describe(const std::vector<std::string>& argv) const;
};

// The shell's exit code for a program that could not be run.
inline constexpr int kCannotRun = 127;

// Runs argv[0] (found on PATH) with its stdout, stderr and stdin on these
// descriptors (-1: /dev/null), through net::spawn_process; the child is
// killed when the harness dies. Returns its pid, or -1 when it could not be
// started, and then `why` says so ("cannot run perf: No such file or
// directory").
pid_t spawn(const std::vector<std::string>& argv, int out_fd, int err_fd, int in_fd = -1,
            std::string* why = nullptr);

// Several children at once, each one's stdout and stderr read into strings
// as they come.
class OutputCollector {
 public:
  // Spawns argv with `in_fd` as its stdin (-1: /dev/null); its output goes
  // to *out and *err, which must outlive this. Returns the pid, or -1 with
  // why in *err.
  pid_t start(const std::vector<std::string>& argv, int in_fd, std::string* out, std::string* err);
  // Reads what has come until `deadline` or until every output is closed.
  void pump(std::chrono::steady_clock::time_point deadline);
  // Outputs not yet at their end.
  size_t open() const;
  // Whether the output read into `sink` has ended (its writer exited).
  bool finished(const std::string* sink) const;

 private:
  struct Stream {
    net::Fd fd;  // invalid once at its end
    std::string* sink;
  };
  std::vector<Stream> streams_;
};

// Waits for `pid` up to `timeout`, then kills it (SIGKILL) and reaps it.
// Its exit status, or -1 when a signal (or the timeout) ended it.
int wait_child(pid_t pid, std::chrono::milliseconds timeout);

// Runs argv[0] (found on PATH) with argv, stdin from /dev/null, and collects
// its output. Killed (SIGKILL) once `timeout` passes. A program that cannot
// be run has exit code kCannotRun and says why in `err`.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The interpreter the charts and the report run under (Debian's: the
// python3 first on PATH may lack its packages), whether it has them
// (matplotlib and pandas), and what to say when it has not.
inline constexpr const char* kChartPython = "/usr/bin/python3";
bool chart_python_ready();
inline constexpr const char* kChartPythonMissing =
    "/usr/bin/python3 lacks matplotlib or pandas (apt-get install python3-matplotlib "
    "python3-pandas)";

// One argument quoted for a POSIX shell (for ssh, whose remote side runs a
// command line through the user's shell).
std::string shell_quote(const std::string& argument);

}  // namespace cmb::harness
