// Running a short-lived program (ip, tc, ssh) and reading what it said.
// Everything has a timeout; the child dies with the harness.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

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

// Forks and runs argv[0] (found on PATH) with stdin from /dev/null and its
// stdout and stderr on these descriptors (-1: /dev/null); the child is
// killed when the harness dies. Returns its pid, or -1 when fork failed.
// A program that cannot be run exits 127 saying so on `err_fd`.
pid_t spawn(const std::vector<std::string>& argv, int out_fd, int err_fd);

// Runs argv[0] (found on PATH) with argv, stdin from /dev/null, and collects
// its output. Killed (SIGKILL) once `timeout` passes.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

// One argument quoted for a POSIX shell (for ssh, whose remote side runs a
// command line through the user's shell).
std::string shell_quote(const std::string& argument);

}  // namespace cmb::harness
