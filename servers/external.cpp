#include "servers/external.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "net/spawn.hpp"

namespace cmb::servers {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kStopGrace{5000};

// How the command ended. In a PID namespace of its own, its status comes
// through our init, which reports a death by signal N as 128 + N.
std::string describe(int status, bool contained) {
  if (WIFEXITED(status)) {
    const int code = WEXITSTATUS(status);
    if (contained && code > 128 && code < 128 + NSIG)
      return "was killed by signal " + std::to_string(code - 128);
    return "exited with status " + std::to_string(code);
  }
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "stopped";
}

bool port_accepts(const net::Address& address) {
  net::Fd probe(::socket(address.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return probe && ::connect(probe.get(), address.get(), address.length) == 0;
}

class ExternalServer final : public Server {
 public:
  ExternalServer(const ServerConfig& config, const ExternalCommand& command)
      : Server(config), command_(command) {
    dir_ = make_directory();
    try {
      for (const auto& [name, content] : command.files) {
        std::ofstream file(fs::path(dir_) / name);
        file << expand_placeholders(content, config, address(), dir_);
        if (!file) throw std::runtime_error("cannot write " + (fs::path(dir_) / name).string());
      }
      std::vector<std::string> args;
      for (const auto& arg : command.argv)
        args.push_back(expand_placeholders(arg, config, address(), dir_));
      if (args.empty()) throw std::invalid_argument("an external server needs a command");
      // The port is ours until the command binds it: free it just before.
      close_listener();
      start(args);
      wait_ready(args.front());
    } catch (...) {
      clean_up();  // no destructor runs for a constructor that throws
      throw;
    }
  }

  ~ExternalServer() override { clean_up(); }

  void run() override {
    // Until stop(), or until the command ends on its own (then the row
    // records the failure, as for a model that crashed).
    pollfd p{stop_signal().fd(), POLLIN, 0};
    while (net::retry_on_eintr([&] { return ::poll(&p, 1, 100); }) == 0) {
      int status = 0;
      if (::waitpid(child_, &status, WNOHANG) == child_) {
        child_ = -1;
        throw std::runtime_error("the external server " + describe(status, contained_));
      }
    }
    end_child();
  }

 private:
  void clean_up() {
    end_child();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // cmbench-external-PID-XXXXXX, PID being this process's. A serve killed
  // with SIGKILL cannot remove its own: the next one removes those whose
  // process is gone.
  static std::string make_directory() {
    const fs::path tmp = fs::temp_directory_path();
    std::error_code ignored;
    for (const auto& entry : fs::directory_iterator(tmp, ignored)) {
      const std::string name = entry.path().filename().string();
      int pid = 0;
      if (std::sscanf(name.c_str(), "cmbench-external-%d-", &pid) == 1 && pid > 0 &&
          ::kill(pid, 0) != 0 && errno == ESRCH)
        fs::remove_all(entry.path(), ignored);
    }
    std::string path = (tmp / fmt::format("cmbench-external-{}-XXXXXX", ::getpid())).string();
    if (::mkdtemp(path.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    return path;
  }

  void start(const std::vector<std::string>& args) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
      throw std::system_error(errno, std::generic_category(), "pipe2");
    net::Fd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
    // Its own process group, so that stopping it reaches its workers too,
    // and where we may, its own PID namespace, so that nothing it started
    // outlives it even when we are killed (docs/models.md); its stdout to
    // our pipe (ours is the harness's), then on to stderr; every signal
    // unblocked (serve blocks them for sigwait).
    net::SpawnOptions options;
    options.stdout_fd = write_end.get();
    options.new_process_group = true;
    options.clear_signal_mask = true;
    options.own_pid_namespace = contained_ = net::pid_namespaces_available();
    try {
      child_ = net::spawn_process(args, options);
    } catch (const std::system_error& e) {
      throw std::runtime_error(fmt::format("{} failed before it was ready: cannot run it: {}",
                                           args.front(), e.code().message()));
    }
    out_ = std::move(read_end);
  }

  // Ready when the port accepts (or the line appears); stdout is passed on
  // to stderr meanwhile and after, so that the harness reads only ours.
  void wait_ready(const std::string& program) {
    const auto deadline = Clock::now() + command_.ready_timeout;
    std::string pending;
    bool line_seen = command_.ready_line.empty();
    for (;;) {
      int status = 0;
      if (::waitpid(child_, &status, WNOHANG) == child_) {
        child_ = -1;
        throw std::runtime_error(
            program + " " + describe(status, contained_) + " before it was ready" +
            (WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " (could it be run?)" : ""));
      }
      pollfd p{out_.get(), POLLIN, 0};
      if (::poll(&p, 1, 10) > 0) {
        char buffer[4096];
        const ssize_t n = ::read(out_.get(), buffer, sizeof buffer);
        if (n > 0) {
          [[maybe_unused]] const ssize_t w = ::write(STDERR_FILENO, buffer, static_cast<size_t>(n));
          pending.append(buffer, static_cast<size_t>(n));
          if (!line_seen && pending.find(command_.ready_line) != std::string::npos)
            line_seen = true;
          if (pending.size() > 65536) pending.erase(0, pending.size() - 4096);
        } else if (n == 0) {
          out_.reset();  // it closed its stdout: only the port can tell now
        }
      }
      if (line_seen && port_accepts(address())) break;
      if (Clock::now() >= deadline) {
        end_child();
        throw std::runtime_error(fmt::format(
            "{} was not ready within {} ms: {}", program, command_.ready_timeout.count(),
            line_seen ? fmt::format("nothing accepted on {} (does the command bind {{port}}, "
                                    "which was {}?)",
                                    address().to_string(), address().port())
                      : fmt::format("no line with '{}' on its stdout", command_.ready_line)));
      }
      if (!out_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (out_) {
      // Forward the rest of its stdout to stderr for as long as it writes.
      forwarder_ = std::thread([fd = out_.release()] {
        char buffer[4096];
        ssize_t n;
        while ((n = net::retry_on_eintr([&] { return ::read(fd, buffer, sizeof buffer); })) > 0)
          [[maybe_unused]] const ssize_t w = ::write(STDERR_FILENO, buffer, static_cast<size_t>(n));
        ::close(fd);
      });
    }
  }

  void end_child() {
    if (child_ > 0) {
      ::kill(-child_, SIGTERM);
      const auto deadline = Clock::now() + kStopGrace;
      int status = 0;
      while (::waitpid(child_, &status, WNOHANG) == 0 && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (Clock::now() >= deadline) {
        ::kill(-child_, SIGKILL);
        ::waitpid(child_, &status, 0);
      }
      ::kill(-child_, SIGKILL);  // workers the command left behind
      child_ = -1;
    }
    if (forwarder_.joinable()) forwarder_.join();  // its pipe closed with the group
  }

  ExternalCommand command_;
  std::string dir_;
  pid_t child_ = -1;
  bool contained_ = false;  // in a PID namespace of its own
  net::Fd out_;
  std::thread forwarder_;
};

}  // namespace

std::string expand_placeholders(const std::string& text, const ServerConfig& config,
                                const net::Address& address, const std::string& dir) {
  // A placeholder is {word} with a lower-case word; any other brace (an
  // nginx block, a shell's ${VAR}) is left as it is.
  std::string out;
  for (size_t at = 0; at < text.size();) {
    const size_t open = text.find('{', at);
    if (open == std::string::npos) {
      out.append(text, at);
      break;
    }
    size_t close = open + 1;
    while (close < text.size() &&
           ((text[close] >= 'a' && text[close] <= 'z') || text[close] == '_'))
      ++close;
    if (close == open + 1 || close == text.size() || text[close] != '}' ||
        (open > 0 && text[open - 1] == '$')) {
      out.append(text, at, open + 1 - at);
      at = open + 1;
      continue;
    }
    out.append(text, at, open - at);
    const std::string name = text.substr(open + 1, close - open - 1);
    if (name == "host")
      out += config.host;
    else if (name == "port")
      out += std::to_string(address.port());
    else if (name == "address")
      out += address.to_string();
    else if (name == "threads")
      out += std::to_string(thread_count(config, DefaultThreads::kLoopPerCore));
    else if (name == "dir")
      out += dir;
    else if (name == "max_connections")
      out += std::to_string(config.limits.max_connections);
    else if (name == "header_timeout_ms")
      out += std::to_string(config.limits.header_timeout.count());
    else
      throw std::invalid_argument("unknown placeholder {" + name +
                                  "}: use {host}, {port}, {address}, {threads}, {dir}, "
                                  "{max_connections} or {header_timeout_ms}");
    at = close + 1;
  }
  return out;
}

std::unique_ptr<Server> make_external_server(const ServerConfig& config,
                                             const ExternalCommand& command) {
  return std::make_unique<ExternalServer>(config, command);
}

std::vector<std::string> split_command_line(const std::string& line) {
  std::vector<std::string> argv;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote != 0) {
      if (c == quote)
        quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < line.size())
        word += line[++i];
      else
        word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) argv.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote != 0) throw std::invalid_argument("unbalanced quotes in the command '" + line + "'");
  if (in_word) argv.push_back(std::move(word));
  if (argv.empty()) throw std::invalid_argument("an empty command");
  return argv;
}

std::string find_program(const std::string& program) {
  if (program.find('/') != std::string::npos)
    return ::access(program.c_str(), X_OK) == 0 ? program : "";
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin";
  for (size_t at = 0; at <= path.size();) {
    size_t end = path.find(':', at);
    if (end == std::string::npos) end = path.size();
    const std::string candidate = path.substr(at, end - at) + "/" + program;
    if (end > at && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    at = end + 1;
  }
  return "";
}

}  // namespace cmb::servers
