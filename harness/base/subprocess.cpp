#include "harness/base/subprocess.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "net/fd.hpp"
#include "net/spawn.hpp"

namespace cmb::harness {

std::string CommandResult::describe(const std::vector<std::string>& argv) const {
  std::string why = timed_out       ? "timed out"
                    : exit_code < 0 ? "did not run to its end"
                                    : fmt::format("exit {}", exit_code);
  std::string said = err.empty() ? out : err;
  while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
  return fmt::format("{}: {}{}{}", fmt::join(argv, " "), why, said.empty() ? "" : ": ", said);
}

pid_t spawn(const std::vector<std::string>& argv, int out_fd, int err_fd, int in_fd,
            std::string* why) {
  const auto or_null = [](int fd) { return fd >= 0 ? fd : net::SpawnOptions::kDevNull; };
  net::SpawnOptions options;
  options.stdin_fd = or_null(in_fd);
  options.stdout_fd = or_null(out_fd);
  options.stderr_fd = or_null(err_fd);
  try {
    return net::spawn_process(argv, options);
  } catch (const std::exception& e) {
    if (why != nullptr) *why = e.what();
    return -1;
  }
}

pid_t OutputCollector::start(const std::vector<std::string>& argv, int in_fd, std::string* out,
                             std::string* err) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return -1;
  net::Fd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return -1;
  net::Fd err_read(err_pipe[0]), err_write(err_pipe[1]);
  std::string why;
  const pid_t pid = spawn(argv, out_write.get(), err_write.get(), in_fd, &why);
  if (pid < 0) {
    *err += why + "\n";
    return -1;
  }
  streams_.push_back({std::move(out_read), out});
  streams_.push_back({std::move(err_read), err});
  return pid;
}

size_t OutputCollector::open() const {
  return static_cast<size_t>(
      std::count_if(streams_.begin(), streams_.end(), [](const Stream& s) { return bool(s.fd); }));
}

bool OutputCollector::finished(const std::string* sink) const {
  return std::none_of(streams_.begin(), streams_.end(),
                      [sink](const Stream& s) { return s.sink == sink && bool(s.fd); });
}

void OutputCollector::pump(std::chrono::steady_clock::time_point deadline) {
  while (open() > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    std::vector<pollfd> fds;
    std::vector<Stream*> owners;
    for (auto& stream : streams_)
      if (stream.fd) {
        fds.push_back({stream.fd.get(), POLLIN, 0});
        owners.push_back(&stream);
      }
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) return;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      char buffer[16384];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0)
        owners[i]->sink->append(buffer, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR)
        owners[i]->fd.reset();
    }
  }
}

int wait_child(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return -1;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  CommandResult result;
  if (argv.empty()) return result;
  OutputCollector collector;
  const pid_t pid = collector.start(argv, -1, &result.out, &result.err);
  if (pid < 0) {
    result.exit_code = kCannotRun;
    return result;
  }
  collector.pump(std::chrono::steady_clock::now() + timeout);
  result.timed_out = collector.open() > 0;
  result.exit_code = wait_child(pid, std::chrono::milliseconds(result.timed_out ? 0 : 5000));
  return result;
}

bool chart_python_ready() {
  return run_command({kChartPython, "-c", "import matplotlib, pandas"}, std::chrono::minutes(1))
      .ok();
}

std::string shell_quote(const std::string& argument) {
  std::string quoted = "'";
  for (char c : argument) {
    if (c == '\'')
      quoted += "'\\''";
    else
      quoted += c;
  }
  return quoted + "'";
}

}  // namespace cmb::harness
