// Starting a child program: the one door every part of cmbench goes through
// (the harness's helpers and server children, the external-server model).
// Between fork and exec the child calls only async-signal-safe functions --
// no allocation, no formatting -- since the parent may have threads holding
// the allocator's lock. Everything the child needs is prepared before the
// fork, the program is found on PATH before it too, and a failed exec is
// reported to the parent through a pipe, with its errno. Any thread may call.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace cmb::net {

struct SpawnOptions {
  static constexpr int kInherit = -1;  // the parent's own descriptor
  static constexpr int kDevNull = -2;  // /dev/null
  int stdin_fd = kInherit;
  int stdout_fd = kInherit;
  int stderr_fd = kInherit;
  std::vector<int> keep_fds;       // kept open across exec (their FD_CLOEXEC cleared)
  std::vector<int> cpus;           // pinned to these CPUs; empty: the parent's set
  bool new_process_group = false;  // its own group, so a signal reaches its children too
  bool die_with_parent = true;     // SIGKILL when the parent dies (PR_SET_PDEATHSIG)
  // Unblock every signal: a parent that blocks some for sigwait (serve)
  // would pass its mask on. Off: the child inherits the mask, as exec does.
  bool clear_signal_mask = false;
};

// Starts argv[0] (a path, or a name found on PATH) with argv. Returns its
// pid once the exec has succeeded. Throws std::system_error with the errno
// and "cannot run ARGV0" when the program cannot be run (not found, not
// executable) or the fork fails; std::invalid_argument for an empty argv.
pid_t spawn_process(const std::vector<std::string>& argv, const SpawnOptions& options = {});

}  // namespace cmb::net
