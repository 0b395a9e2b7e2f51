// A server model running in a child process (`/proc/self/exe serve ...`),
// pinned to its own CPUs and killed by the kernel if the harness dies.
// Used from the harness's main thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace cmb::harness {

class ServerProcess {
 public:
  struct Options {
    std::string model;
    std::string host = "127.0.0.1";
    int threads = 0;
    std::vector<int> cpus;                        // empty: not pinned
    std::chrono::milliseconds header_timeout{0};  // 0: the server's default
    std::chrono::milliseconds ready_timeout{10'000};
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

  // SIGTERM, then SIGKILL after `grace`. Returns how the child ended
  // ("exited with status 0", "killed by signal 9").
  std::string stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string ended_;
};

}  // namespace cmb::harness
