#include "harness/hosts/lab.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "harness/base/exit_codes.hpp"
#include "harness/base/subprocess.hpp"

namespace cmb::harness {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSubnet = "198.18.0";  // /24 inside RFC 2544's 198.18.0.0/15
constexpr std::string_view kBridge = "br0";
constexpr std::string_view kLink = "eth0";

std::string server_namespace(const std::string& prefix) { return prefix + "-server"; }
std::string switch_namespace(const std::string& prefix) { return prefix + "-switch"; }
std::string load_namespace(const std::string& prefix, int k) {
  return fmt::format("{}-load{}", prefix, k);
}

void check_prefix(const std::string& prefix) {
  const bool ok = !prefix.empty() && prefix.size() <= 32 && prefix.front() != '-' &&
                  std::all_of(prefix.begin(), prefix.end(), [](unsigned char c) {
                    return std::isalnum(c) || c == '-' || c == '_';
                  });
  if (!ok)
    throw std::invalid_argument(fmt::format(
        "lab prefix '{}': use up to 32 letters, digits, '-' and '_', not starting with '-'",
        prefix));
}

// Runs one set-up step; throws std::runtime_error saying which failed.
void step(const std::vector<std::string>& argv) {
  const CommandResult result = run_command(argv);
  if (!result.ok()) throw std::runtime_error(result.describe(argv));
}

bool tc_works(const std::string& ns, const std::vector<std::string>& qdisc) {
  std::vector<std::string> add = {"ip",    "netns", "exec", ns,   "tc",
                                  "qdisc", "add",   "dev",  "lo", "root"};
  add.insert(add.end(), qdisc.begin(), qdisc.end());
  const bool ok = run_command(add).ok();
  if (ok) run_command({"ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "lo", "root"});
  return ok;
}

// The lab's namespaces that exist now: its server, switch and load hosts.
std::vector<std::string> existing_namespaces(const std::string& prefix) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/run/netns", ec)) {
    const std::string name = entry.path().filename().string();
    const std::string load = prefix + "-load";
    const bool numbered = name.starts_with(load) && name.size() > load.size() &&
                          std::all_of(name.begin() + static_cast<std::ptrdiff_t>(load.size()),
                                      name.end(), [](unsigned char c) { return std::isdigit(c); });
    if (numbered || name == server_namespace(prefix) || name == switch_namespace(prefix))
      found.push_back(name);
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::vector<pid_t> pids_in(const std::string& ns) {
  std::vector<pid_t> pids;
  const CommandResult result = run_command({"ip", "netns", "pids", ns});
  size_t start = 0;
  while (start < result.out.size()) {
    const size_t end = std::min(result.out.find('\n', start), result.out.size());
    pid_t pid = 0;
    const auto [ptr, ec] = std::from_chars(result.out.data() + start, result.out.data() + end, pid);
    if (ec == std::errc() && pid > 1) pids.push_back(pid);
    start = end + 1;
  }
  return pids;
}

// Ends every process in the lab (SIGTERM, then SIGKILL after a second) and
// deletes its namespaces. Returns the names it deleted.
std::vector<std::string> take_down(const std::string& prefix) {
  const auto namespaces = existing_namespaces(prefix);
  for (int signal : {SIGTERM, SIGKILL}) {
    bool any = false;
    for (const auto& ns : namespaces)
      for (pid_t pid : pids_in(ns)) any |= ::kill(pid, signal) == 0;
    if (!any) break;
    for (int i = 0; i < 20 && any; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      any = false;
      for (const auto& ns : namespaces) any |= !pids_in(ns).empty();
    }
  }
  for (const auto& ns : namespaces) step({"ip", "netns", "delete", ns});
  return namespaces;
}

bool is_root() { return ::geteuid() == 0; }

constexpr std::string_view kNeedsRoot =
    "creating and deleting network namespaces needs root (CAP_NET_ADMIN); run it as root";

}  // namespace

double parse_link_rate(const std::string& rate) {
  double value = 0;
  const auto [end, ec] = std::from_chars(rate.data(), rate.data() + rate.size(), value);
  std::string unit(end, rate.data() + rate.size());
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  struct Unit {
    std::string_view name;
    double bits;
  };
  constexpr Unit kUnits[] = {{"bit", 1},    {"kbit", 1e3},  {"mbit", 1e6},
                             {"gbit", 1e9}, {"tbit", 1e12}, {"bps", 8},
                             {"kbps", 8e3}, {"mbps", 8e6},  {"gbps", 8e9}};
  if (ec == std::errc() && value > 0)
    for (const auto& u : kUnits)
      if (unit == u.name) return value * u.bits;
  throw std::invalid_argument(fmt::format(
      "link rate '{}': expected a number and one of bit, kbit, mbit, gbit, tbit, bps, kbps, "
      "mbps, gbps (tc's units: 100mbit, 1gbit)",
      rate));
}

Lab lab_layout(const LabOptions& options) {
  check_prefix(options.prefix);
  if (options.load_hosts < 1 || options.load_hosts > kMaxLabLoadHosts)
    throw std::invalid_argument(
        fmt::format("--load-hosts {}: a lab has 1 to {}", options.load_hosts, kMaxLabLoadHosts));
  Lab lab;
  lab.server_host = "netns:" + server_namespace(options.prefix);
  lab.server_address = fmt::format("{}.1", kSubnet);
  lab.namespaces = {server_namespace(options.prefix), switch_namespace(options.prefix)};
  for (int k = 1; k <= options.load_hosts; ++k) {
    lab.load_hosts.push_back("netns:" + load_namespace(options.prefix, k));
    lab.load_addresses.push_back(fmt::format("{}.{}", kSubnet, 1 + k));
    lab.namespaces.push_back(load_namespace(options.prefix, k));
  }
  return lab;
}

std::string probe_qdiscs(const std::string& switch_ns) {
  const bool tbf =
      tc_works(switch_ns, {"tbf", "rate", "1mbit", "burst", "32kbit", "latency", "50ms"});
  const bool htb = tc_works(switch_ns, {"handle", "1:", "htb"});
  const bool netem = tc_works(switch_ns, {"netem", "delay", "1ms"});
  auto yes = [](bool b) { return b ? "yes" : "no"; };
  return fmt::format("tbf {}, htb {}, netem {}", yes(tbf), yes(htb), yes(netem));
}

int lab_up_command(const LabOptions& options) {
  // A bad prefix, count or rate throws std::invalid_argument: a usage error (exit 2).
  const Lab lab = lab_layout(options);
  const double rate_bits = options.link_rate.empty() ? 0 : parse_link_rate(options.link_rate);
  if (!is_root()) {
    fmt::print(stderr, "cmbench lab up: {}\n", kNeedsRoot);
    return kExitFailure;
  }
  const std::string sw = switch_namespace(options.prefix);
  try {
    take_down(options.prefix);
    for (const auto& ns : lab.namespaces) step({"ip", "netns", "add", ns});
    step({"ip", "-n", sw, "link", "add", std::string(kBridge), "type", "bridge"});
    step({"ip", "-n", sw, "link", "set", std::string(kBridge), "up"});
    step({"ip", "-n", sw, "link", "set", "lo", "up"});
    // Hosts in order: the server, then the load hosts; the switch side of
    // each link is named after its host.
    std::vector<std::pair<std::string, std::string>> hosts = {
        {server_namespace(options.prefix), lab.server_address}};
    for (int k = 1; k <= options.load_hosts; ++k)
      hosts.emplace_back(load_namespace(options.prefix, k), lab.load_addresses[k - 1]);
    const std::string burst =
        fmt::format("{}b", std::max<uint64_t>(static_cast<uint64_t>(rate_bits / 8 / 100),
                                              32 * 1024));  // 10 ms of the rate
    for (const auto& [ns, address] : hosts) {
      const std::string port = ns.substr(options.prefix.size() + 1);  // "server", "load1"
      step({"ip", "-n", ns, "link", "add", std::string(kLink), "type", "veth", "peer", "name", port,
            "netns", sw});
      step({"ip", "-n", sw, "link", "set", port, "master", std::string(kBridge)});
      step({"ip", "-n", sw, "link", "set", port, "up"});
      step({"ip", "-n", ns, "addr", "add", address + "/24", "dev", std::string(kLink)});
      step({"ip", "-n", ns, "link", "set", std::string(kLink), "up"});
      step({"ip", "-n", ns, "link", "set", "lo", "up"});
      if (rate_bits > 0) {
        for (const auto& [where, device] : {std::pair{ns, std::string(kLink)}, std::pair{sw, port}})
          step({"ip", "netns", "exec", where, "tc", "qdisc", "replace", "dev", device, "root",
                "tbf", "rate", options.link_rate, "burst", burst, "latency", "100ms"});
      }
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "cmbench lab up: {}\n", e.what());
    try {
      take_down(options.prefix);
    } catch (const std::exception&) {
    }
    return kExitFailure;
  }

  fmt::print("lab {}: a server and {} load host{} on one bridge, {}.0/24, links {}\n",
             options.prefix, options.load_hosts, options.load_hosts == 1 ? "" : "s", kSubnet,
             rate_bits > 0 ? fmt::format("shaped to {} each way (tbf)", options.link_rate)
                           : std::string("unshaped"));
  fmt::print("  server  {:<24} {}\n", lab.server_host, lab.server_address);
  for (size_t k = 0; k < lab.load_hosts.size(); ++k)
    fmt::print("  load    {:<24} {}\n", lab.load_hosts[k], lab.load_addresses[k]);
  fmt::print("link shaping this kernel offers: {}\n", probe_qdiscs(sw));
  fmt::print(
      "sweep across it with:\n  cmbench run ... --server-host {} --server-address {} "
      "--load-hosts {}\n",
      lab.server_host, lab.server_address, fmt::join(lab.load_hosts, ","));
  fmt::print("and end it with: cmbench lab down{}\n",
             options.prefix == LabOptions{}.prefix ? "" : " --prefix " + options.prefix);
  return kExitOk;
}

int lab_down_command(const std::string& prefix) {
  check_prefix(prefix);  // std::invalid_argument: a usage error (exit 2)
  if (!is_root()) {
    fmt::print(stderr, "cmbench lab down: {}\n", kNeedsRoot);
    return kExitFailure;
  }
  try {
    const auto deleted = take_down(prefix);
    if (deleted.empty())
      fmt::print("lab {}: nothing to take down\n", prefix);
    else
      fmt::print("lab {}: deleted {}\n", prefix, fmt::join(deleted, ", "));
  } catch (const std::exception& e) {
    fmt::print(stderr, "cmbench lab down: {}\n", e.what());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace cmb::harness
