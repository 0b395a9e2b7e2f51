// A model running as users run it: a `cmbench serve --port 0` child process,
// stopped with SIGTERM. (In-process servers would fork from a test process
// full of client threads, which real prefork and fork servers never do.)
#pragma once

#include <signal.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "harness/sweep/server_report.hpp"
#include "support/process.hpp"

namespace cmb::testing {

class ModelServer {
 public:
  explicit ModelServer(const std::string& model, const std::vector<std::string>& extra_args = {},
                       const std::function<void()>& in_child = nullptr) {
    std::vector<std::string> args{CMBENCH_BIN, "serve", "--model", model, "--port", "0"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    child_ = std::make_unique<Child>(args, in_child);
    port_ = read_listening_port(*child_);
  }

  // 0 when the server did not print its readiness line.
  uint16_t port() const { return port_; }
  pid_t pid() const { return child_->pid(); }
  bool stopped() const { return stopped_; }

  struct Stopped {
    int exit_code;
    std::chrono::milliseconds took;
    std::string err;
    std::optional<harness::ServerReport> report;  // its exit line: counters and usage
  };
  // SIGTERM; the exit code (-1: killed after `timeout`) and how long it took.
  Stopped stop(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    stopped_ = true;
    const auto start = std::chrono::steady_clock::now();
    ::kill(child_->pid(), SIGTERM);
    const auto finished = child_->wait(timeout);
    std::optional<harness::ServerReport> report;
    std::istringstream lines(finished.out);
    for (std::string line; std::getline(lines, line);)
      if (auto parsed = harness::parse_server_report(line); parsed && parsed->event == "exit")
        report = parsed;
    return {finished.exit_code,
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start),
            finished.err, report};
  }

 private:
  std::unique_ptr<Child> child_;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace cmb::testing
