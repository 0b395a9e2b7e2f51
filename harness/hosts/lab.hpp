// `cmbench lab up|down`: a testbed of hosts on one machine. Network
// namespaces PREFIX-server and PREFIX-load1..N each have one veth link
// (`eth0`, and a loopback) to a bridge that lives in a namespace of its own,
// PREFIX-switch, so the lab touches nothing of the machine's own network.
// Addresses come from 198.18.0.0/15, the range RFC 2544 reserves for
// benchmarking: the server is 198.18.0.1, load host k is 198.18.0.(1+k).
// With a link rate, a token bucket (tbf) shapes both directions of every
// link. Root only (CAP_NET_ADMIN).
#pragma once

#include <string>
#include <vector>

namespace cmb::harness {

struct LabOptions {
  std::string prefix = "cmb";
  int load_hosts = 2;
  std::string link_rate;  // tc's syntax ("1gbit", "100mbit"); empty: unshaped
};

inline constexpr int kMaxLabLoadHosts = 64;

struct Lab {
  std::string server_host;     // netns:PREFIX-server
  std::string server_address;  // 198.18.0.1
  std::vector<std::string> load_hosts;
  std::vector<std::string> load_addresses;
  std::vector<std::string> namespaces;  // every namespace of the lab, the switch's too
};

// The names and addresses a lab with these options has (nothing is run).
Lab lab_layout(const LabOptions& options);

// Which link-shaping queueing disciplines the kernel offers here:
// "tbf yes, htb yes, netem no". Tried in the lab's switch namespace.
std::string probe_qdiscs(const std::string& switch_namespace);

// The commands. `up` rebuilds the lab from nothing (after `down`), prints
// its hosts and the flags to pass to `cmbench run`; `down` ends every
// process in the lab's namespaces and deletes them. Both are idempotent.
// A bad prefix, count or link rate throws std::invalid_argument.
int lab_up_command(const LabOptions& options);
int lab_down_command(const std::string& prefix);

// The bits per second in tc's rate syntax ("100mbit", "1gbit", "500kbit",
// "1000000bit"); throws std::invalid_argument.
double parse_link_rate(const std::string& rate);

}  // namespace cmb::harness
