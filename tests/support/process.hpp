// Running the cmbench binary from tests: capture its output and exit code,
// or keep it running as a server child. Everything has a timeout.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace cmb::testing {

struct Finished {
  int exit_code = -1;  // -1: killed (by a signal or the timeout)
  std::string out;
  std::string err;
};

class Child {
 public:
  // `in_child` runs in the child between fork and exec (to set an rlimit, say).
  explicit Child(const std::vector<std::string>& args,
                 const std::function<void()>& in_child = nullptr) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return;
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (auto& arg : copy) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(err[1], STDERR_FILENO);
      if (in_child) in_child();
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
    if (err_ >= 0) ::close(err_);
  }

  pid_t pid() const { return pid_; }

  // One line of stdout (without the newline); empty on timeout or EOF.
  std::string read_line(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{out_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return line;
      char c;
      if (::read(out_, &c, 1) != 1 || c == '\n') return line;
      line += c;
    }
  }

  // Waits for exit (killing it after `timeout`) and collects the rest of
  // its output.
  Finished wait(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    Finished result;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool out_open = true, err_open = true;
    while (out_open || err_open) {
      pollfd fds[2] = {{out_open ? out_ : -1, POLLIN, 0}, {err_open ? err_ : -1, POLLIN, 0}};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ::kill(pid_, SIGKILL);
        break;
      }
      if (::poll(fds, 2, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      for (int i = 0; i < 2; ++i) {
        if (fds[i].revents == 0) continue;
        const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
        if (n <= 0) {
          (i == 0 ? out_open : err_open) = false;
        } else {
          (i == 0 ? result.out : result.err).append(buffer, static_cast<size_t>(n));
        }
      }
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  bool reaped_ = false;
};

// Every process below `pid` now: the children of each of its threads, and
// theirs, from /proc.
inline std::vector<pid_t> descendants(pid_t pid) {
  std::vector<pid_t> found, next{pid};
  while (!next.empty()) {
    const pid_t parent = next.back();
    next.pop_back();
    std::error_code ignored;
    const std::string tasks = "/proc/" + std::to_string(parent) + "/task";
    for (const auto& task : std::filesystem::directory_iterator(tasks, ignored)) {
      std::ifstream children(task.path() / "children");
      for (pid_t child; children >> child;) {
        found.push_back(child);
        next.push_back(child);
      }
    }
  }
  return found;
}

// Whether `pid` is gone: no such process, or a zombie nobody has reaped yet.
inline bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return true;
  const size_t paren = text.rfind(')');
  return paren == std::string::npos || text.substr(paren + 2, 1) == "Z";
}

// The port of a `cmbench serve` child's `listening on 127.0.0.1:PORT` line;
// 0 when the line does not come or says something else.
inline uint16_t read_listening_port(Child& server) {
  const std::string line = server.read_line();
  const std::string prefix = "listening on 127.0.0.1:";
  if (line.rfind(prefix, 0) != 0) return 0;
  try {
    return static_cast<uint16_t>(std::stoi(line.substr(prefix.size())));
  } catch (const std::exception&) {
    return 0;
  }
}

inline Finished run_cmbench(std::vector<std::string> args,
                            std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  args.insert(args.begin(), CMBENCH_BIN);
  return Child(args).wait(timeout);
}

}  // namespace cmb::testing
