#include "harness/hosts/hosts.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <stdexcept>

#include "harness/base/build_info.hpp"
#include "harness/base/subprocess.hpp"
#include "net/fd.hpp"

namespace cmb::harness {

namespace {

constexpr std::string_view kNetnsPrefix = "netns:";
constexpr std::string_view kSshPrefix = "ssh:";

// What `ip netns add` accepts: no path separators, not "." or "..".
bool valid_netns_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 200) return false;
  for (char c : name)
    if (c == '/' || c == ' ' || c == ',' || c == '\0') return false;
  return true;
}

HostSpec parse_ssh(std::string_view rest, std::string_view text) {
  HostSpec host;
  host.kind = HostSpec::Kind::kSsh;
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    host.user = std::string(rest.substr(0, at));
    rest.remove_prefix(at + 1);
    if (host.user.empty()) throw std::invalid_argument(fmt::format("'{}': empty user", text));
  }
  if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    const std::string_view digits = rest.substr(colon + 1);
    int port = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size() || port < 1 || port > 65535)
      throw std::invalid_argument(fmt::format("'{}': the port must be 1-65535", text));
    host.port = port;
    rest = rest.substr(0, colon);
  }
  if (rest.empty() || rest.front() == '-' ||
      rest.find_first_of(" /,@'\"") != std::string_view::npos)
    throw std::invalid_argument(fmt::format("'{}': expected ssh:[USER@]HOST[:PORT]", text));
  host.name = std::string(rest);
  return host;
}

}  // namespace

std::string HostSpec::text() const {
  switch (kind) {
    case Kind::kLocal:
      return "local";
    case Kind::kNetns:
      return fmt::format("{}{}", kNetnsPrefix, name);
    case Kind::kSsh:
      return fmt::format("{}{}{}{}{}", kSshPrefix, user, user.empty() ? "" : "@", name,
                         port ? fmt::format(":{}", port) : "");
  }
  return {};
}

HostSpec parse_host(std::string_view text) {
  if (text == "local") return {};
  if (text.starts_with(kNetnsPrefix)) {
    HostSpec host;
    host.kind = HostSpec::Kind::kNetns;
    host.name = std::string(text.substr(kNetnsPrefix.size()));
    if (!valid_netns_name(host.name))
      throw std::invalid_argument(fmt::format("'{}': expected netns:NAME", text));
    return host;
  }
  if (text.starts_with(kSshPrefix)) return parse_ssh(text.substr(kSshPrefix.size()), text);
  throw std::invalid_argument(
      fmt::format("'{}': a host is local, netns:NAME or ssh:[USER@]HOST[:PORT]", text));
}

std::vector<HostSpec> parse_hosts(std::string_view list) {
  std::vector<HostSpec> hosts;
  while (true) {
    const auto comma = list.find(',');
    hosts.push_back(parse_host(list.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return hosts;
}

std::vector<std::string> command_on(const HostSpec& host, const std::vector<std::string>& command) {
  switch (host.kind) {
    case HostSpec::Kind::kLocal:
      return command;
    case HostSpec::Kind::kNetns: {
      std::vector<std::string> argv = {"ip", "netns", "exec", host.name};
      argv.insert(argv.end(), command.begin(), command.end());
      return argv;
    }
    case HostSpec::Kind::kSsh: {
      std::vector<std::string> argv = {"ssh",
                                       "-o",
                                       "BatchMode=yes",
                                       "-o",
                                       fmt::format("ConnectTimeout={}", kSshConnectTimeout.count()),
                                       "-o",
                                       "ServerAliveInterval=5",
                                       "-o",
                                       "ServerAliveCountMax=3"};
      if (!host.ssh_config.empty()) argv.insert(argv.end(), {"-F", host.ssh_config});
      if (host.port) argv.insert(argv.end(), {"-p", std::to_string(host.port)});
      if (!host.user.empty()) argv.insert(argv.end(), {"-l", host.user});
      argv.insert(argv.end(), {host.name, "--"});
      std::string line;
      for (const auto& arg : command) line += (line.empty() ? "" : " ") + shell_quote(arg);
      argv.push_back(line);
      return argv;
    }
  }
  return command;
}

std::string executable_path(const std::string& binary) {
  if (binary != "/proc/self/exe") return binary;
  std::error_code ec;
  const auto resolved = std::filesystem::read_symlink(binary, ec);
  return ec ? binary : resolved.string();
}

std::string host_unreachable_reason(const HostSpec& host) {
  if (host.kind == HostSpec::Kind::kLocal) return {};
  if (host.kind == HostSpec::Kind::kNetns &&
      !std::filesystem::exists(std::filesystem::path("/run/netns") / host.name))
    return fmt::format("{}: no such network namespace (`cmbench lab up` makes a lab of them)",
                       host.text());
  const auto argv = command_on(host, {"true"});
  const CommandResult result = run_command(argv, kSshConnectTimeout + std::chrono::seconds(5));
  if (result.ok()) return {};
  return fmt::format("{}: {}", host.text(), result.describe(argv));
}

// Cristian's method over one session: the host answers each line we write
// with its clock (`cmbench clock`); offset = its reading - the midpoint of
// our send and receive, from the round trip with the least delay.
void measure_clock(const HostSpec& host, HostInfo& info, const std::string& binary) {
  // `cmbench clock` answers at once; `date` in a shell loop would fork for
  // each answer and read the clock late in the round trip.
  const auto argv = command_on(host, {binary, "clock"});
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return;
  net::Fd in_read(in[0]), in_write(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return;
  net::Fd out_read(out[0]), out_write(out[1]);
  const pid_t pid = spawn(argv, out_write.get(), -1, in_read.get());
  out_write.reset();
  in_read.reset();
  if (pid < 0) return;
  double best_rtt = -1, best_offset = 0;
  std::string pending;
  for (int i = 0; i < 6; ++i) {
    const auto sent = std::chrono::system_clock::now();
    if (::write(in_write.get(), "\n", 1) != 1) break;
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + kSshConnectTimeout * 2;
    while (line.empty() && std::chrono::steady_clock::now() < deadline) {
      const size_t newline = pending.find('\n');
      if (newline != std::string::npos) {
        line = pending.substr(0, newline);
        pending.erase(0, newline + 1);
        break;
      }
      pollfd p{out_read.get(), POLLIN, 0};
      if (::poll(&p, 1, 1000) <= 0) continue;
      char buffer[256];
      const ssize_t n = ::read(out_read.get(), buffer, sizeof buffer);
      if (n <= 0) break;
      pending.append(buffer, static_cast<size_t>(n));
    }
    const auto received = std::chrono::system_clock::now();
    if (line.empty()) break;
    if (i == 0) continue;  // the first answer also waited for the session to start
    const double ours_ns =
        std::chrono::duration<double, std::nano>((sent + (received - sent) / 2).time_since_epoch())
            .count();
    const double rtt = std::chrono::duration<double, std::milli>(received - sent).count();
    try {
      const double theirs_ns = std::stod(line);
      if (best_rtt < 0 || rtt < best_rtt) {
        best_rtt = rtt;
        best_offset = (theirs_ns - ours_ns) / 1e6;
      }
    } catch (const std::exception&) {
      break;
    }
  }
  in_write.reset();
  wait_child(pid, std::chrono::seconds(2));
  if (best_rtt < 0) {
    info.error = "its clock could not be read";
    return;
  }
  info.clock_offset_ms = best_offset;
  info.clock_round_trip_ms = best_rtt;
}

std::string cmbench_on(const HostSpec& host) {
  if (!host.binary.empty()) return host.binary;
  return host.kind == HostSpec::Kind::kSsh ? "cmbench" : executable_path("/proc/self/exe");
}

std::string pushed_binary_path() {
  std::string id;
  for (char c : build_info().commit) id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return fmt::format("/tmp/cmbench-{}-{}", build_info().version, id);
}

void push_binary(HostSpec& host) {
  if (host.kind != HostSpec::Kind::kSsh) return;  // this machine: this binary already
  const std::string ours = executable_path("/proc/self/exe");
  const std::string there = pushed_binary_path();
  const std::string script = fmt::format(
      "set -e; cat > {0}.part; chmod 755 {0}.part; mv -f {0}.part {0}", shell_quote(there));
  const auto argv = command_on(host, {"sh", "-c", script});
  net::Fd file(::open(ours.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file) throw std::runtime_error(fmt::format("--push: cannot read {}", ours));
  std::string out, err;
  OutputCollector collector;
  const pid_t pid = collector.start(argv, file.get(), &out, &err);
  collector.pump(std::chrono::steady_clock::now() + std::chrono::minutes(2));
  const int status = wait_child(pid, std::chrono::seconds(5));
  if (status != 0)
    throw std::runtime_error(fmt::format("--push to {} failed: {}", host.text(),
                                         err.empty() ? fmt::format("exit {}", status) : err));
  host.binary = there;
}

std::string host_problem(const HostInfo& info, const std::string& our_version) {
  if (!info.error.empty()) return info.spec + ": " + info.error;
  if (info.cmbench_version != our_version)
    return fmt::format(
        "{} runs '{}', this harness is '{}': every host must run the same build (--push copies "
        "this one there)",
        info.spec, info.cmbench_version, our_version);
  return {};
}

std::string clock_warning(const HostInfo& info) {
  // Half the round trip bounds how well the agents' starts line up.
  if (info.clock_round_trip_ms / 2 <= 1.0) return {};
  return fmt::format(
      "{}'s clock is known to within {:.1f} ms only (offset {:.1f} ms): the agents' seconds may "
      "not line up that closely",
      info.spec, info.clock_round_trip_ms / 2, info.clock_offset_ms);
}

HostInfo describe_host(const HostSpec& host) {
  const std::string binary = cmbench_on(host);
  HostInfo info;
  info.spec = host.text();
  const auto argv =
      command_on(host, {"sh", "-c", "\"$0\" --version | head -n 1; uname -r; nproc", binary});
  const CommandResult result = run_command(argv, kSshConnectTimeout + std::chrono::seconds(10));
  if (!result.ok()) {
    info.error = result.describe(argv);
    return info;
  }
  std::vector<std::string> lines;
  for (size_t start = 0; start < result.out.size();) {
    const size_t end = std::min(result.out.find('\n', start), result.out.size());
    lines.push_back(result.out.substr(start, end - start));
    start = end + 1;
  }
  if (lines.size() >= 3) {
    info.cmbench_version = lines[0];
    info.kernel = lines[1];
    try {
      info.cpus = std::stoi(lines[2]);
    } catch (const std::exception&) {
    }
  }
  // A namespace shares this kernel's clock: nothing to measure.
  if (host.kind == HostSpec::Kind::kSsh) measure_clock(host, info, binary);
  return info;
}

}  // namespace cmb::harness
