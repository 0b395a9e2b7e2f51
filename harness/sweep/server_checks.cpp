#include "harness/sweep/server_checks.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <stdexcept>

#include "harness/sweep/workloads.hpp"
#include "harness/verify/checks.hpp"

namespace cmb::harness {

std::string describe(const ServerFindings& found) {
  if (!found.checked) return "not checked (--no-verify): measured as it answered";
  std::string line = found.measurement.empty() ? "measurement checks passed"
                                               : fmt::format("measurement FAILED: {}",
                                                             fmt::join(found.measurement, "; "));
  if (found.hardening_run == 0) return line + "; hardening not checked (a static server)";
  if (found.hardening.empty())
    return line + fmt::format("; hardening: {} checks passed", found.hardening_run);
  return line + fmt::format("; hardening: {} of {} failed (reported, not refused): {}",
                            found.hardening.size(), found.hardening_run,
                            fmt::join(found.hardening, "; "));
}

void ServerChecks::print() const {
  if (findings_.empty()) return;
  fmt::print("\nChecked before measuring (cmbench verify):\n");
  for (const auto& [model, found] : findings_) fmt::print("  {:<20} {}\n", model, describe(found));
}

void ServerChecks::refuse_if_failed(const SweepModel& model) const {
  const auto found = findings_.find(model.text);
  if (found == findings_.end() || found->second.measurement.empty()) return;
  throw std::runtime_error(
      fmt::format("failed cmbench verify: {} (run --no-verify to measure it anyway)",
                  found->second.measurement.front()));
}

void ServerChecks::check_once(const SweepModel& model, uint16_t port) {
  if (model.command.empty() || findings_.contains(model.text)) {
    refuse_if_failed(model);
    return;
  }
  ServerFindings& found = findings_[model.text];
  if (!config_.verify_externals) return;  // measured as it answers, and said so
  VerifyTarget target;
  target.host = config_.host;
  target.port = port;
  target.workload = model.workload;  // false: run --static
  target.keys = workload_keys(config_.workloads);
  target.concurrent = false;  // an external claims nothing: those checks are not required
  target.pipelined = false;   // the sweep's load never pipelines
  const std::vector<CheckResult> results = run_checks(target);
  found.checked = true;
  found.measurement = failures(results, CheckGroup::kMeasurement);
  found.hardening = failures(results, CheckGroup::kHardening);
  found.hardening_run =
      static_cast<int>(std::count_if(results.begin(), results.end(), [](const CheckResult& r) {
        return r.group == CheckGroup::kHardening && r.outcome != CheckOutcome::kSkip;
      }));
  refuse_if_failed(model);
}

}  // namespace cmb::harness
