#include "net/spawn.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "net/fd.hpp"

extern char** environ;

namespace cmb::net {
namespace {

bool executable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// execvp's search, done in the parent: the child may not allocate.
std::string resolve(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const size_t colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    std::string candidate = std::string(dir.empty() ? "." : dir) + "/" + program;
    if (executable(candidate)) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return {};  // not found: the child reports ENOENT
}

// Tells the parent errno through `report`, and ends the child.
[[noreturn]] void fail(int report) {
  const int error = errno;
  [[maybe_unused]] const ssize_t n = ::write(report, &error, sizeof error);
  ::_exit(127);
}

// The child, from fork to exec: async-signal-safe calls only. On failure it
// writes errno to `report` and exits 127.
[[noreturn]] void become(const char* path, char* const* argv, const SpawnOptions& o,
                         const cpu_set_t* cpus, pid_t parent, int report) {
  if (o.new_process_group && ::setpgid(0, 0) != 0) fail(report);
  if (o.die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died already
  }
  if (o.clear_signal_mask) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
  }
  if (cpus != nullptr && ::sched_setaffinity(0, sizeof *cpus, cpus) != 0) fail(report);
  const int fds[3] = {o.stdin_fd, o.stdout_fd, o.stderr_fd};
  for (int target = 0; target < 3; ++target) {
    int fd = fds[target];
    if (fd == SpawnOptions::kInherit) continue;
    if (fd == SpawnOptions::kDevNull && (fd = ::open("/dev/null", O_RDWR)) < 0) fail(report);
    if (fd == target) {
      if (::fcntl(fd, F_SETFD, 0) != 0) fail(report);
    } else if (::dup2(fd, target) < 0) {
      fail(report);
    }
  }
  for (int fd : o.keep_fds)
    if (::fcntl(fd, F_SETFD, 0) != 0) fail(report);
  if (path[0] == '\0') {
    errno = ENOENT;
    fail(report);
  }
  ::execve(path, argv, environ);
  fail(report);
}

// fork() without glibc's fork handlers, which take locks (malloc's among
// them) that another thread of the parent may have held at the first
// fork: the init below forks again. `flags` adds clone flags.
pid_t raw_fork(unsigned long flags) {
  return static_cast<pid_t>(::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, 0));
}

// PID 1 of the child's own PID namespace (SpawnOptions::own_pid_namespace):
// starts the program as its child and exits with its status, reaping
// whatever else is orphaned into the namespace meanwhile. Signals without a
// handler do not reach a namespace's init, so a SIGTERM to the group stops
// the program and leaves the init to follow it. Async-signal-safe calls only.
[[noreturn]] void contain(const char* path, char* const* argv, const SpawnOptions& o,
                          const SpawnOptions& program_options, const cpu_set_t* cpus, int report) {
  if (o.new_process_group && ::setpgid(0, 0) != 0) fail(report);
  // The parent is outside the namespace (getppid() says 0), so unlike
  // become() there is no check that it is still alive.
  if (o.die_with_parent) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  struct sigaction reap {};  // an inherited SIG_IGN would make waitpid wait for every child
  reap.sa_handler = SIG_DFL;
  ::sigaction(SIGCHLD, &reap, nullptr);
  const pid_t self = ::getpid();  // 1
  const pid_t program = raw_fork(0);
  if (program < 0) fail(report);
  if (program == 0) become(path, argv, program_options, cpus, self, report);
  ::close(report);  // the parent reads end of file once the program has exec'd
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(-1, &status, 0);
    if (done == program) break;
    if (done < 0 && errno != EINTR) ::_exit(127);
  }
  ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

}  // namespace

bool pid_namespaces_available() {
  static const bool available = [] {
    const pid_t probe = raw_fork(CLONE_NEWPID);
    if (probe == 0) ::_exit(0);
    if (probe < 0) return false;
    int status = 0;
    while (::waitpid(probe, &status, 0) < 0 && errno == EINTR) {
    }
    return true;
  }();
  return available;
}

pid_t spawn_process(const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) throw std::invalid_argument("spawn_process: no program");
  // Everything the child touches, made before the fork.
  const std::string path = resolve(argv[0]);
  std::vector<std::string> copy = argv;
  std::vector<char*> args;
  for (auto& arg : copy) args.push_back(arg.data());
  args.push_back(nullptr);
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  for (int cpu : options.cpus) CPU_SET(cpu, &cpus);
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "cannot run " + argv[0] + ": pipe2");
  Fd report_read(report[0]), report_write(report[1]);
  const pid_t parent = ::getpid();
  SpawnOptions program_options = options;  // in the init's group, as its child
  program_options.new_process_group = false;
  const pid_t pid = options.own_pid_namespace ? raw_fork(CLONE_NEWPID) : ::fork();
  if (pid < 0)
    throw std::system_error(errno, std::generic_category(), "cannot run " + argv[0] + ": fork");
  const cpu_set_t* pinned = options.cpus.empty() ? nullptr : &cpus;
  if (pid == 0 && options.own_pid_namespace)
    contain(path.c_str(), args.data(), options, program_options, pinned, report_write.get());
  if (pid == 0) become(path.c_str(), args.data(), options, pinned, parent, report_write.get());
  if (options.new_process_group) ::setpgid(pid, pid);  // also here: no race with the exec
  report_write.reset();
  // The exec closes the report's write end (O_CLOEXEC): end of file means it
  // succeeded; an int means it failed, with that errno.
  int error = 0;
  ssize_t n;
  do {
    n = ::read(report_read.get(), &error, sizeof error);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof error)) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw std::system_error(error, std::generic_category(), "cannot run " + argv[0]);
  }
  return pid;
}

}  // namespace cmb::net
