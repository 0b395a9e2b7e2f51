#include "harness/base/proc_stats.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace cmb::harness {
namespace {

std::string proc(pid_t pid) { return "/proc/" + std::to_string(pid); }

// Fields of /proc/PID/stat after the command name, numbered as in proc(5).
std::optional<std::vector<std::string>> stat_fields(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  const size_t paren = text.rfind(')');  // the name may hold spaces and parens
  if (paren == std::string::npos) return std::nullopt;
  std::vector<std::string> fields = {"", "", ""};  // 1 (pid) and 2 (comm) skipped
  std::istringstream rest(text.substr(paren + 2));
  for (std::string field; rest >> field;) fields.push_back(field);
  return fields;
}

double ticks_to_seconds(const std::string& ticks) {
  return static_cast<double>(std::stoull(ticks)) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Reads "Name: value" lines of a status file into the keys asked for.
std::map<std::string, uint64_t> status_values(const std::string& path) {
  std::map<std::string, uint64_t> values;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    if (key == "VmRSS" || key == "Threads" || key == "voluntary_ctxt_switches" ||
        key == "nonvoluntary_ctxt_switches") {
      try {
        values[key] = std::stoull(line.substr(colon + 1));
      } catch (const std::exception&) {
      }
    }
  }
  return values;
}

// The counters of one /proc/net file: "Prefix: names..." then "Prefix: values...".
std::map<std::string, uint64_t> net_counters(const std::string& path, const std::string& prefix) {
  std::map<std::string, uint64_t> counters;
  std::ifstream in(path);
  std::string names, values;
  while (std::getline(in, names) && std::getline(in, values)) {
    if (names.rfind(prefix, 0) != 0) continue;
    std::istringstream n(names.substr(prefix.size())), v(values.substr(prefix.size()));
    std::string name, value;
    while (n >> name && v >> value) {
      try {
        counters[name] = std::stoull(value);
      } catch (const std::exception&) {
      }
    }
  }
  return counters;
}

}  // namespace

std::vector<pid_t> process_tree(pid_t root) {
  std::vector<pid_t> tree = {root};
  for (size_t i = 0; i < tree.size(); ++i) {
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator(proc(tree[i]) + "/task", ec)) {
      std::ifstream children(task.path() / "children");
      for (pid_t child; children >> child;) tree.push_back(child);
    }
  }
  return tree;
}

std::optional<TreeCpu> read_tree_cpu(pid_t root) {
  TreeCpu cpu;
  bool root_seen = false;
  for (pid_t pid : process_tree(root)) {
    const auto fields = stat_fields(proc(pid) + "/stat");
    if (!fields || fields->size() < 18) continue;
    cpu.user_s += ticks_to_seconds((*fields)[14]);
    cpu.system_s += ticks_to_seconds((*fields)[15]);
    if (pid == root) {  // children it has reaped (fields 16 and 17)
      root_seen = true;
      cpu.user_s += ticks_to_seconds((*fields)[16]);
      cpu.system_s += ticks_to_seconds((*fields)[17]);
    }
  }
  if (!root_seen) return std::nullopt;
  return cpu;
}

std::optional<TreeMemory> read_tree_memory(pid_t root) {
  TreeMemory memory;
  for (pid_t pid : process_tree(root)) {
    const auto values = status_values(proc(pid) + "/status");
    if (!values.count("Threads")) continue;
    memory.rss_kb += values.count("VmRSS") ? values.at("VmRSS") : 0;
    memory.threads += static_cast<int>(values.at("Threads"));
    ++memory.processes;
  }
  if (memory.processes == 0) return std::nullopt;
  return memory;
}

SwitchCounts read_tree_switches(pid_t root) {
  SwitchCounts counts;
  for (pid_t pid : process_tree(root)) {
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator(proc(pid) + "/task", ec)) {
      const auto values = status_values((task.path() / "status").string());
      if (!values.count("voluntary_ctxt_switches")) continue;
      const pid_t tid = static_cast<pid_t>(std::stol(task.path().filename().string()));
      counts[tid] = {values.at("voluntary_ctxt_switches"), values.at("nonvoluntary_ctxt_switches")};
    }
  }
  return counts;
}

void SwitchCounter::sample(const SwitchCounts& now) {
  // Threads that vanished keep what they had at their last sample.
  for (const auto& [tid, counts] : last_) {
    if (now.count(tid)) continue;
    const auto base = first_.count(tid) ? first_.at(tid) : std::pair<uint64_t, uint64_t>{0, 0};
    gone_voluntary_ += counts.first - base.first;
    gone_involuntary_ += counts.second - base.second;
    first_.erase(tid);
  }
  last_ = now;
}

uint64_t SwitchCounter::voluntary() const {
  uint64_t total = gone_voluntary_;
  for (const auto& [tid, counts] : last_)
    total += counts.first - (first_.count(tid) ? first_.at(tid).first : 0);
  return total;
}

uint64_t SwitchCounter::involuntary() const {
  uint64_t total = gone_involuntary_;
  for (const auto& [tid, counts] : last_)
    total += counts.second - (first_.count(tid) ? first_.at(tid).second : 0);
  return total;
}

TcpCounters read_tcp_counters(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/net/";
  const auto ext = net_counters(dir + "netstat", "TcpExt:");
  const auto tcp = net_counters(dir + "snmp", "Tcp:");
  const auto get = [](const std::map<std::string, uint64_t>& m, const char* key) {
    const auto it = m.find(key);
    return it == m.end() ? uint64_t{0} : it->second;
  };
  return {get(ext, "ListenOverflows"), get(ext, "ListenDrops"), get(tcp, "RetransSegs"),
          get(tcp, "OutRsts")};
}

}  // namespace cmb::harness
