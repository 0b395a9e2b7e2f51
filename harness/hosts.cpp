#include "harness/hosts.hpp"

#include <fmt/format.h>

#include <charconv>
#include <filesystem>
#include <stdexcept>

#include "harness/subprocess.hpp"

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

}  // namespace cmb::harness
