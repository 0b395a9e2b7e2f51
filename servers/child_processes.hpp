// Forked children of a process-based model (prefork, fork-per-connection):
// start, reap without blocking, and stop. Children die with their parent
// (PR_SET_PDEATHSIG) and leave through _exit, never returning into the
// parent's code. Used from the parent's serving thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <unordered_set>

namespace cmb::servers {

class ChildProcesses {
 public:
  ~ChildProcesses() { stop_all(std::chrono::milliseconds(0)); }

  // Forks a child that runs `body` and exits. Returns its pid, or -1 with
  // errno when fork failed.
  pid_t spawn(const std::function<void()>& body);

  // Collects children that have exited; returns how many.
  int reap();

  // Waits up to `grace` for every child to exit (they watch the shared stop
  // signal), then kills the rest.
  void stop_all(std::chrono::milliseconds grace);

  size_t running() const { return pids_.size(); }

 private:
  std::unordered_set<pid_t> pids_;
};

}  // namespace cmb::servers
