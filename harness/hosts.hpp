// Where a server or a load agent runs: this machine (`local`), a network
// namespace on it (`netns:NAME`, entered with `ip netns exec`), or another
// machine over OpenSSH (`ssh:[USER@]HOST[:PORT]`, the user's ~/.ssh/config
// honoured, BatchMode and a connect timeout). No daemon of our own.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace cmb::harness {

struct HostSpec {
  enum class Kind { kLocal, kNetns, kSsh };
  Kind kind = Kind::kLocal;
  std::string name;  // the namespace, or the SSH host
  std::string user;  // ssh: empty for ~/.ssh/config's or the current user
  int port = 0;      // ssh: 0 for the default

  // As the user wrote it, normalised: "local", "netns:lab-load1", "ssh:bob@h:2222".
  std::string text() const;
  bool operator==(const HostSpec&) const = default;
};

// Throws std::invalid_argument naming what is wrong with `text`.
HostSpec parse_host(std::string_view text);

// Several, comma-separated.
std::vector<HostSpec> parse_hosts(std::string_view list);

// How long an unreachable SSH host may take to fail.
inline constexpr std::chrono::seconds kSshConnectTimeout{5};

// argv that runs `command` on `host`. For ssh the remote side gets one shell
// command line, each argument quoted.
std::vector<std::string> command_on(const HostSpec& host, const std::vector<std::string>& command);

// Empty when `host` can be used now; else one sentence saying why not
// ("netns:x: no such network namespace (cmbench lab up makes one)",
// "ssh:h: ssh: connect to host h port 22: Connection refused").
// Runs `true` there, so for ssh it costs a connection.
std::string host_unreachable_reason(const HostSpec& host);

}  // namespace cmb::harness
