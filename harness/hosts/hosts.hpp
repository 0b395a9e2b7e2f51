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
  // Not part of the spec's text: how a run reaches it.
  std::string ssh_config;  // ssh: `ssh -F FILE` instead of ~/.ssh/config
  std::string binary;      // the cmbench there; empty: cmbench_on()'s default

  // As the user wrote it, normalised: "local", "netns:lab-load1", "ssh:bob@h:2222".
  std::string text() const;
  bool operator==(const HostSpec&) const = default;
};

// The cmbench to run on `host`: host.binary, else this very binary on this
// machine (local, netns), else `cmbench` on the remote PATH.
std::string cmbench_on(const HostSpec& host);

// Where --push puts this build's binary on a host, named by the build so
// that hosts and runs share one copy of each: /tmp/cmbench-VERSION-COMMIT.
std::string pushed_binary_path();

// Copies this binary to `host` (ssh: pushed_binary_path()) and sets
// host.binary to it. Throws std::runtime_error naming the host.
void push_binary(HostSpec& host);

// Throws std::invalid_argument naming what is wrong with `text`.
HostSpec parse_host(std::string_view text);

// Several, comma-separated.
std::vector<HostSpec> parse_hosts(std::string_view list);

// How long an unreachable SSH host may take to fail.
inline constexpr std::chrono::seconds kSshConnectTimeout{5};

// argv that runs `command` on `host`. For ssh the remote side gets one shell
// command line, each argument quoted.
std::vector<std::string> command_on(const HostSpec& host, const std::vector<std::string>& command);

// A binary's path that another program can exec: /proc/self/exe resolved
// to the file it names, other paths as they are.
std::string executable_path(const std::string& binary);

// Empty when `host` can be used now; else one sentence saying why not
// ("netns:x: no such network namespace (cmbench lab up makes one)",
// "ssh:h: ssh: connect to host h port 22: Connection refused").
// Runs `true` there, so for ssh it costs a connection.
std::string host_unreachable_reason(const HostSpec& host);

// What a run records of each host in its manifest.
struct HostInfo {
  std::string spec;
  std::string cmbench_version;  // the first line of its `cmbench --version`
  std::string kernel;           // uname -r
  int cpus = 0;                 // nproc
  // Its wall clock minus ours, from the round trip with the least delay of
  // a few (Cristian's method): accurate to half that round trip. Zero for
  // a namespace, which reads this kernel's clock.
  double clock_offset_ms = 0;
  double clock_round_trip_ms = 0;
  std::string error;  // not empty: what could not be learnt, and why
};

// Fills info's clock offset and round trip: Cristian's method over one
// session of `binary clock` on `host`, the best of five round trips. Sets
// info.error when the clock could not be read.
void measure_clock(const HostSpec& host, HostInfo& info, const std::string& binary);

// Why a run cannot use this host, or empty: what describe_host could not
// learn, or a cmbench other than ours (`our_version`, the first line of
// our --version), named with both versions.
std::string host_problem(const HostInfo& info, const std::string& our_version);

// A warning, or empty: when half info's clock round trip exceeds 1 ms, the
// agents' start instants line up only to within that much.
std::string clock_warning(const HostInfo& info);

// Asks `host`: `cmbench --version` (cmbench_on), uname and nproc; over ssh,
// also its clock five times (`cmbench clock`).
HostInfo describe_host(const HostSpec& host);

}  // namespace cmb::harness
