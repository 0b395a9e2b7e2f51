#include "servers/child_processes.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

namespace cmb::servers {

pid_t ChildProcesses::spawn(const std::function<void()>& body) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(0);  // the parent is already gone
    body();
    ::_exit(0);
  }
  if (pid > 0) pids_.insert(pid);
  return pid;
}

int ChildProcesses::reap() {
  int reaped = 0;
  for (auto it = pids_.begin(); it != pids_.end();) {
    if (::waitpid(*it, nullptr, WNOHANG) == *it) {
      it = pids_.erase(it);
      ++reaped;
    } else {
      ++it;
    }
  }
  return reaped;
}

void ChildProcesses::stop_all(std::chrono::milliseconds grace) {
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (reap() >= 0 && !pids_.empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (pid_t pid : pids_) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  pids_.clear();
}

}  // namespace cmb::servers
