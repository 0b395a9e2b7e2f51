#include "harness/sweep/server_process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "net/fd.hpp"
#include "net/spawn.hpp"

namespace cmb::harness {

// One line of a child's output, read within a timeout: the line (empty
// when none came in time), or `closed` when the output ended first (the
// child is exiting, as a rule).
struct LineRead {
  std::string line;
  bool closed = false;
};

namespace {

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), ::strsignal(WTERMSIG(status)));
  return "stopped";
}

LineRead read_line(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  LineRead read;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return {};
    pollfd p{fd, POLLIN, 0};
    if (net::retry_on_eintr([&] { return ::poll(&p, 1, static_cast<int>(left.count())); }) <= 0)
      return {};
    char c;
    const ssize_t n = net::retry_on_eintr([&] { return ::read(fd, &c, 1); });
    if (n <= 0) return {"", true};
    if (c == '\n') return read;
    read.line += c;
    if (read.line.size() > 4096) return read;
  }
}

// "cmbench serve: bind ...: Address already in use" -> "bind ...".
std::string without_program(std::string line) {
  for (const std::string_view prefix : {"cmbench serve: ", "cmbench: "})
    if (line.starts_with(prefix)) return line.substr(prefix.size());
  return line;
}

}  // namespace

// A child's stderr passed on to ours as it comes, its last line kept: serve
// says there why it could not start, and the row should say it too. The
// thread is detached and ends at end of file; it shares its state with the
// relay, so a process the server left holding the pipe cannot hang us.
class StderrRelay {
 public:
  explicit StderrRelay(net::Fd from) : state_(std::make_shared<State>()) {
    std::thread([state = state_, fd = std::move(from)] {
      char buffer[4096];
      ssize_t n;
      std::string line;
      while ((n = net::retry_on_eintr([&] { return ::read(fd.get(), buffer, sizeof buffer); })) >
             0) {
        [[maybe_unused]] const ssize_t w = ::write(STDERR_FILENO, buffer, static_cast<size_t>(n));
        std::lock_guard lock(state->mutex);
        for (const char c : std::string_view(buffer, static_cast<size_t>(n))) {
          if (c != '\n') {
            line += c;
          } else if (!line.empty()) {
            state->last = std::move(line);
            line.clear();
          }
        }
      }
      std::lock_guard lock(state->mutex);
      state->closed = true;
      state->changed.notify_all();
    }).detach();
  }

  // The last whole line, once the output has ended (or `wait` has passed).
  std::string last_line(std::chrono::milliseconds wait) const {
    std::unique_lock lock(state_->mutex);
    state_->changed.wait_for(lock, wait, [&] { return state_->closed; });
    return state_->last;
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable changed;
    std::string last;
    bool closed = false;
  };
  std::shared_ptr<State> state_;
};

namespace {

// `cmbench serve`'s arguments for `options` (its binary's path first, on
// the host it runs on); a remote server is driven through its stdin, a
// local one keeps its counters in `counters_fd`.
std::vector<std::string> serve_arguments(const ServerProcess::Options& options, bool remote,
                                         int counters_fd) {
  std::vector<std::string> args = {"cmbench", "serve", "--host", options.host, "--port", "0"};
  if (options.command.empty())
    args.insert(args.end(), {"--model", options.model});
  else
    args.insert(args.end(), {"--command", options.command});
  if (options.threads > 0) args.insert(args.end(), {"--threads", std::to_string(options.threads)});
  if (remote)
    args.push_back("--control-stdin");
  else
    args.insert(args.end(), {"--counters-fd", std::to_string(counters_fd)});
  if (options.header_timeout.count() > 0)
    args.insert(args.end(),
                {"--header-timeout", std::to_string(options.header_timeout.count()) + "ms"});
  if (options.attribution) args.push_back("--attribution");
  if (!options.uring.empty()) args.insert(args.end(), {"--uring", options.uring});
  if (options.max_connections > 0)
    args.insert(args.end(), {"--max-connections", std::to_string(options.max_connections)});
  // `ip netns exec` runs the binary by its path: /proc/self/exe would be ip's.
  args[0] = remote ? cmbench_on(options.where) : executable_path(options.binary);
  return command_on(options.where, args);
}

}  // namespace

ServerProcess::ServerProcess(const Options& options) {
  if (const std::string why = host_unreachable_reason(options.where); !why.empty())
    throw std::runtime_error(why);
  remote_ = options.where.kind == HostSpec::Kind::kSsh;
  start(serve_arguments(options, remote_, counters_.fd()), options);
  const LineRead read = read_line(out_.get(), options.ready_timeout);
  const std::optional<uint16_t> port = parse_ready_line(read.line);
  if (!port)
    throw std::runtime_error(fmt::format("server '{}' did not start: {}", options.model,
                                         why_not_ready(read, options.ready_timeout)));
  port_ = *port;
}

// The child with its stdout and stderr on pipes of ours (and over ssh its
// stdin), pinned to the server's CPUs.
void ServerProcess::start(const std::vector<std::string>& args, const Options& options) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  net::Fd read_end(pipe_fds[0]);
  net::Fd write_end(pipe_fds[1]);
  int control[2] = {-1, -1};
  if (remote_ && ::pipe2(control, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  net::Fd control_read(control[0]);
  control_.reset(control[1]);
  int errors[2];
  if (::pipe2(errors, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  net::Fd errors_read(errors[0]), errors_write(errors[1]);
  net::SpawnOptions spawn;
  spawn.stdout_fd = write_end.get();
  spawn.stderr_fd = errors_write.get();
  if (control_read) spawn.stdin_fd = control_read.get();
  spawn.keep_fds = {counters_.fd()};  // the server maps it
  spawn.cpus = options.cpus;
  try {
    pid_ = net::spawn_process(args, spawn);
  } catch (const std::system_error& e) {
    throw std::runtime_error(fmt::format("server '{}' did not start: {}", options.model, e.what()));
  }
  out_ = std::move(read_end);
  stderr_ = std::make_shared<StderrRelay>(std::move(errors_read));
}

// Why the child printed no readiness line: how it exited, once reaped (or
// what serve said on stderr as it gave up), else what it printed instead.
std::string ServerProcess::why_not_ready(const LineRead& read, std::chrono::milliseconds timeout) {
  std::string how = poll_exit();
  // Output that ended is a server on its way out: say how it exited, not
  // that it timed out, once it has been reaped.
  for (int waited_ms = 0; how.empty() && read.closed && waited_ms < 1000; waited_ms += 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    how = poll_exit();
  }
  // serve that gave up says why on stderr ("true exited with status 0
  // before it was ready"): that, rather than serve's own exit status.
  if (how.starts_with("exited with status"))
    if (const std::string why = stderr_->last_line(std::chrono::milliseconds(500)); !why.empty())
      how = without_program(why);
  if (!how.empty()) return how;
  stop(std::chrono::milliseconds(1000));
  return read.closed         ? "closed its output without a readiness line"
         : read.line.empty() ? fmt::format("no readiness line within {} ms", timeout.count())
                             : fmt::format("printed '{}' instead of its readiness line", read.line);
}

ServerProcess::~ServerProcess() {
  if (ended_.empty() && pid_ > 0) stop(std::chrono::milliseconds(2000));
}

std::string ServerProcess::poll_exit() {
  if (!ended_.empty()) return ended_;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) ended_ = describe_status(status);
  return ended_;
}

std::optional<servers::CounterValues> ServerProcess::snapshot() {
  if (!poll_exit().empty()) return std::nullopt;
  if (!remote_) return counters_.read();
  if (::write(control_.get(), "snapshot\n", 9) != 9) return std::nullopt;
  // Its answer is the next snapshot line (over a slow link, within seconds).
  for (std::string line; !(line = read_line(out_.get(), std::chrono::seconds(10)).line).empty();)
    if (auto report = parse_server_report(line); report && report->event == "snapshot") {
      last_tree_ = report->tree;
      return report->counters;
    }
  return std::nullopt;
}

std::string ServerProcess::stop(std::chrono::milliseconds grace) {
  if (!poll_exit().empty()) return ended_;
  // Over ssh a signal would reach only the ssh client: end the server's
  // input instead, and it stops as on SIGTERM.
  if (remote_)
    control_.reset();
  else
    ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!poll_exit().empty()) {
      // Its last line is the exit report (the pipe is at EOF after it).
      for (std::string line;
           !(line = read_line(out_.get(), std::chrono::milliseconds(100)).line).empty();)
        if (auto report = parse_server_report(line); report && report->event == "exit")
          exit_report_ = std::move(report);
      return ended_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  ended_ = describe_status(status) +
           fmt::format(" (did not stop within {} ms of SIGTERM)", grace.count());
  return ended_;
}

}  // namespace cmb::harness
