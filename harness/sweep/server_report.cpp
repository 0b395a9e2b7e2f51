#include "harness/sweep/server_report.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace cmb::harness {
namespace {

double seconds(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

}  // namespace

ProcessUsage read_own_usage() {
  rusage self{}, children{};
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_CHILDREN, &children);
  ProcessUsage usage;
  usage.user_s = seconds(self.ru_utime) + seconds(children.ru_utime);
  usage.system_s = seconds(self.ru_stime) + seconds(children.ru_stime);
  usage.max_rss_kb = static_cast<uint64_t>(std::max(self.ru_maxrss, children.ru_maxrss));
  usage.voluntary_switches = static_cast<uint64_t>(self.ru_nvcsw + children.ru_nvcsw);
  usage.involuntary_switches = static_cast<uint64_t>(self.ru_nivcsw + children.ru_nivcsw);
  return usage;
}

TreeFigures read_own_tree(const TcpCounters& at_start) {
  TreeFigures tree;
  const pid_t self = ::getpid();
  tree.cpu = read_tree_cpu(self).value_or(TreeCpu{});
  tree.memory = read_tree_memory(self).value_or(TreeMemory{});
  for (const auto& [tid, counts] : read_tree_switches(self)) {
    tree.voluntary_switches += counts.first;
    tree.involuntary_switches += counts.second;
  }
  const TcpCounters now = read_tcp_counters(self);
  tree.tcp = now.since(at_start);
  return tree;
}

namespace {
constexpr std::string_view kReadyPrefix = "listening on ";
}  // namespace

std::string format_ready_line(const std::string& address) {
  return std::string(kReadyPrefix) + address;
}

std::optional<uint16_t> parse_ready_line(std::string_view line) {
  if (!line.starts_with(kReadyPrefix)) return std::nullopt;
  const size_t colon = line.rfind(':');
  if (colon == std::string_view::npos || colon < kReadyPrefix.size()) return std::nullopt;
  const std::string_view digits = line.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || port == 0 ||
      port > 65535)
    return std::nullopt;
  return static_cast<uint16_t>(port);
}

std::string format_server_report(const ServerReport& report) {
  nlohmann::ordered_json json;
  json["event"] = report.event;
  json["counters"] = {{"requests", report.counters.requests},
                      {"refused", report.counters.refused},
                      {"timed_out", report.counters.timed_out},
                      {"rejected", report.counters.rejected},
                      {"accepted", report.counters.accepted},
                      {"accepted_by_thread", report.counters.accepted_by_thread()}};
  // Each stage's histogram: its count, its sum and its non-empty buckets
  // as [bucket, count] pairs (most of the 512 are empty).
  for (int i = 0; i < servers::kStages; ++i) {
    const servers::StageHistogram& stage = report.counters.stages[static_cast<size_t>(i)];
    nlohmann::ordered_json buckets = nlohmann::ordered_json::array();
    for (int b = 0; b < servers::kStageBuckets; ++b)
      if (const uint64_t n = stage.buckets[static_cast<size_t>(b)]; n > 0)
        buckets.push_back({b, n});
    const servers::WaitingWork& waiting = report.counters.waiting[static_cast<size_t>(i)];
    json["counters"]["stages"][std::string(servers::kStageNames[static_cast<size_t>(i)])] = {
        {"count", stage.count},
        {"sum_ns", stage.sum_ns},
        {"buckets", buckets},
        {"waiting", waiting.count},
        {"waiting_age_ns", waiting.age_ns}};
  }
  if (report.usage) {
    const ProcessUsage& u = *report.usage;
    json["usage"] = {{"user_s", u.user_s},
                     {"system_s", u.system_s},
                     {"max_rss_kb", u.max_rss_kb},
                     {"voluntary_switches", u.voluntary_switches},
                     {"involuntary_switches", u.involuntary_switches}};
  }
  if (report.tree) {
    const TreeFigures& t = *report.tree;
    json["tree"] = {{"user_s", t.cpu.user_s},
                    {"system_s", t.cpu.system_s},
                    {"rss_kb", t.memory.rss_kb},
                    {"threads", t.memory.threads},
                    {"processes", t.memory.processes},
                    {"voluntary_switches", t.voluntary_switches},
                    {"involuntary_switches", t.involuntary_switches},
                    {"listen_overflows", t.tcp.listen_overflows},
                    {"listen_drops", t.tcp.listen_drops},
                    {"retransmits", t.tcp.retransmits},
                    {"resets", t.tcp.resets}};
  }
  return json.dump();
}

std::optional<ServerReport> parse_server_report(std::string_view line) {
  const nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("event") || !json.contains("counters")) return {};
  try {
    ServerReport report;
    report.event = json.at("event").get<std::string>();
    const auto& c = json.at("counters");
    report.counters.requests = c.at("requests").get<uint64_t>();
    report.counters.refused = c.at("refused").get<uint64_t>();
    report.counters.timed_out = c.at("timed_out").get<uint64_t>();
    report.counters.rejected = c.at("rejected").get<uint64_t>();
    report.counters.accepted = c.value("accepted", uint64_t{0});
    // The acceptor threads again, as the first slots.
    const auto by_thread = c.value("accepted_by_thread", std::vector<uint64_t>{});
    for (size_t i = 0; i < by_thread.size() && i < servers::kCounterSlots; ++i) {
      report.counters.accepted_by_slot[i] = by_thread[i];
      report.counters.acceptor_slots |= uint64_t{1} << i;
    }
    if (c.contains("stages"))
      for (size_t i = 0; i < servers::kStages; ++i) {
        const std::string name(servers::kStageNames[i]);
        if (!c.at("stages").contains(name)) continue;
        const auto& from = c.at("stages").at(name);
        servers::StageHistogram& to = report.counters.stages[i];
        to.count = from.at("count").get<uint64_t>();
        to.sum_ns = from.at("sum_ns").get<uint64_t>();
        for (const auto& pair : from.at("buckets")) {
          const auto bucket = pair.at(0).get<size_t>();
          if (bucket < to.buckets.size()) to.buckets[bucket] = pair.at(1).get<uint64_t>();
        }
        report.counters.waiting[i] = {from.value("waiting", uint64_t{0}),
                                      from.value("waiting_age_ns", uint64_t{0})};
      }
    if (json.contains("usage")) {
      const auto& u = json.at("usage");
      report.usage = ProcessUsage{u.at("user_s").get<double>(), u.at("system_s").get<double>(),
                                  u.at("max_rss_kb").get<uint64_t>(),
                                  u.at("voluntary_switches").get<uint64_t>(),
                                  u.at("involuntary_switches").get<uint64_t>()};
    }
    if (json.contains("tree")) {
      const auto& t = json.at("tree");
      TreeFigures tree;
      tree.cpu = {t.at("user_s").get<double>(), t.at("system_s").get<double>()};
      tree.memory = {t.at("rss_kb").get<uint64_t>(), t.at("threads").get<int>(),
                     t.at("processes").get<int>()};
      tree.voluntary_switches = t.at("voluntary_switches").get<uint64_t>();
      tree.involuntary_switches = t.at("involuntary_switches").get<uint64_t>();
      tree.tcp = {t.at("listen_overflows").get<uint64_t>(), t.at("listen_drops").get<uint64_t>(),
                  t.at("retransmits").get<uint64_t>(), t.at("resets").get<uint64_t>()};
      report.tree = tree;
    }
    return report;
  } catch (const nlohmann::json::exception&) {
    return {};
  }
}

}  // namespace cmb::harness
