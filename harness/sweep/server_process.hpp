// A server model running in a child process (`/proc/self/exe serve ...`, or
// another cmbench build's),
// pinned to its own CPUs and killed by the kernel if the harness dies.
// Used from the harness's main thread, except snapshot(), which any thread
// may call (it reads shared memory).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/hosts/hosts.hpp"
#include "harness/sweep/server_report.hpp"
#include "net/fd.hpp"

namespace cmb::harness {

class StderrRelay;
struct LineRead;

class ServerProcess {
 public:
  struct Options {
    std::string binary = "/proc/self/exe";  // a cmbench whose `serve` runs the model
    std::string model;
    std::string command;  // not empty: `serve --command` runs it (an external server)
    std::string host = "127.0.0.1";
    int threads = 0;
    std::vector<int> cpus;                        // empty: not pinned
    std::chrono::milliseconds header_timeout{0};  // 0: the server's default
    int max_connections = 0;                      // 0: the server's default
    std::string uring;                            // not empty: --uring (io-uring)
    bool attribution = false;                     // --attribution: the stages
    // Where it runs: here, in a network namespace (`ip netns exec`; the
    // harness still reads its counters and its /proc), or over ssh (driven
    // through `serve --control-stdin`: snapshot() asks it for its counters
    // and its process tree, stop() ends its input).
    HostSpec where;
    // Longer than serve's own wait for an external command to be ready
    // (servers::ExternalCommand::ready_timeout), so that serve, which
    // knows why, is the one to give up.
    std::chrono::milliseconds ready_timeout{12'000};
  };

  // Starts the child and waits for its `listening on HOST:PORT` line. Throws
  // std::runtime_error saying why it did not become ready.
  explicit ServerProcess(const Options& options);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }

  // Empty while the child runs; once it has ended, how it ended.
  std::string poll_exit();

  // The server's counters now, read from the memory it counts in (over
  // ssh: asked for); std::nullopt once it has exited.
  std::optional<servers::CounterValues> snapshot();

  // Over ssh, where /proc is out of reach: pid() is the ssh client's, and
  // the server reports its own process tree with each snapshot.
  bool remote() const { return remote_; }
  const std::optional<TreeFigures>& last_tree() const { return last_tree_; }

  // What the server reported as it exited after stop(): its counters and
  // its process tree's usage. std::nullopt before, or when it died.
  const std::optional<ServerReport>& exit_report() const { return exit_report_; }

  // SIGTERM, then SIGKILL after `grace`. Returns how the child ended
  // ("exited with status 0", "killed by signal 9").
  std::string stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

 private:
  void start(const std::vector<std::string>& args, const Options& options);
  std::string why_not_ready(const LineRead& read, std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string ended_;
  net::Fd out_;  // the child's stdout: its readiness line, then its exit report
  servers::CounterFile counters_;
  std::optional<ServerReport> exit_report_;
  bool remote_ = false;
  net::Fd control_;                      // over ssh: the server's stdin
  std::shared_ptr<StderrRelay> stderr_;  // its stderr, passed on to ours
  std::optional<TreeFigures> last_tree_;
};

}  // namespace cmb::harness
