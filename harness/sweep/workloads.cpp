#include "harness/sweep/workloads.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <sstream>
#include <utility>

#include "harness/base/exit_codes.hpp"
#include "harness/base/words.hpp"
#include "servers/handler/handler.hpp"

namespace cmb::harness {

namespace {

// A mix's parts, split at '|': each one's query and its "@WEIGHT" ("" when
// it has none).
std::vector<std::pair<std::string, std::string>> workload_parts(const std::string& workload) {
  std::vector<std::pair<std::string, std::string>> found;
  std::stringstream parts(workload);
  for (std::string part; std::getline(parts, part, '|');) {
    const size_t at = part.rfind('@');
    found.emplace_back(part.substr(0, at), at == std::string::npos ? "" : part.substr(at));
  }
  return found;
}

}  // namespace

std::vector<loadgen::Target> workload_targets(const std::string& host, uint16_t port,
                                              const std::string& workload) {
  const std::string where = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::vector<loadgen::Target> targets;
  for (const auto& [query, weight] : workload_parts(workload))
    targets.push_back(loadgen::parse_target(
        fmt::format("http://{}:{}/{}{}{}", where, port, query.empty() ? "" : "?", query, weight)));
  if (targets.empty())
    targets.push_back(loadgen::parse_target(fmt::format("http://{}:{}/", where, port)));
  return targets;
}

std::vector<std::string> workload_keys(const std::vector<std::string>& workloads) {
  std::vector<std::string> keys;
  for (const auto& workload : workloads)
    for (const auto& [query, weight] : workload_parts(workload))
      servers::for_each_query_field(query, [&](std::string_view key, std::string_view) {
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.emplace_back(key);
      });
  return keys;
}

std::string workload_problem(std::string_view query) {
  std::vector<std::string> keys;
  for (const auto& key : servers::kWorkKeys) keys.emplace_back(key.name);
  std::string problem;
  servers::for_each_query_field(query, [&](std::string_view key, std::string_view value) {
    if (!problem.empty()) return;
    servers::Work work;
    switch (servers::parse_work_field(key, value, work)) {
      case servers::WorkField::kRead:
        return;
      case servers::WorkField::kUnknownKey:
        problem = fmt::format("unknown key '{}'{}; the keys are {}", key, did_you_mean(key, keys),
                              fmt::join(keys, ", "));
        return;
      case servers::WorkField::kBadValue:
        for (const auto& known : servers::kWorkKeys)
          if (known.name == key)
            problem = fmt::format("{}='{}' is not a whole number of {} from 0 to {}", key, value,
                                  known.unit, known.max);
        return;
    }
  });
  return problem;
}

void check_workloads(const std::vector<std::string>& workloads) {
  for (const auto& workload : workloads) {
    std::vector<loadgen::Target> targets;
    try {
      targets = workload_targets("127.0.0.1", 1, workload);
    } catch (const std::invalid_argument& e) {
      throw UsageError(fmt::format("workload '{}': {}", workload, e.what()));
    }
    for (const auto& target : targets) {
      const std::string_view path = target.url.target;
      const size_t mark = path.find('?');
      const std::string_view query = mark == path.npos ? "" : path.substr(mark + 1);
      if (const std::string problem = workload_problem(query); !problem.empty())
        throw UsageError(fmt::format("workload '{}': {}", workload, problem));
    }
  }
}

}  // namespace cmb::harness
