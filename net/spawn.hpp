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
  // Run the program in a PID namespace of its own under a small init of
  // ours (the pid returned): when the program exits, or the init dies with
  // its parent, the kernel kills every process left in the namespace, so a
  // daemon's workers cannot outlive it. The init exits with the program's
  // status, 128 + N when signal N killed it (as a shell reports it). Needs
  // CAP_SYS_ADMIN: see pid_namespaces_available().
  bool own_pid_namespace = false;
};

// Whether this process may give a child a PID namespace of its own (root,
// or CAP_SYS_ADMIN); probed once, by starting one.
bool pid_namespaces_available();

// Starts argv[0] (a path, or a name found on PATH) with argv. Returns its
// pid once the exec has succeeded. Throws std::system_error with the errno
// and "cannot run ARGV0" when the program cannot be run (not found, not
// executable) or the fork fails; std::invalid_argument for an empty argv.
pid_t spawn_process(const std::vector<std::string>& argv, const SpawnOptions& options = {});

}  // namespace cmb::net
