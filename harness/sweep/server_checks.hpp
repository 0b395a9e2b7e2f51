// What `run` checks of a server of the user's (--external) before it
// measures it: verify's measurement checks, for the workload keys the
// sweep gives, must pass, or its points are error rows naming the check;
// the hardening checks are reported (the manifest, the summary) and never
// refuse it. With --no-verify nothing is checked, and the findings say so.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "harness/sweep/config.hpp"

namespace cmb::harness {

struct ServerFindings {
  bool checked = false;                  // false: --no-verify
  std::vector<std::string> measurement;  // the failed measurement checks, "NAME: SEEN"
  std::vector<std::string> hardening;    // the failed hardening checks, "NAME: SEEN"
  int hardening_run = 0;                 // hardening checks that ran (not skipped)
};

// One line: what the checks found, or that none ran.
std::string describe(const ServerFindings& found);

class ServerChecks {
 public:
  explicit ServerChecks(const SweepConfig& config) : config_(config) {}

  // Throws std::runtime_error naming the failed measurement check when the
  // model's server has failed one: its later points are not started.
  void refuse_if_failed(const SweepModel& model) const;
  // Checks the model's server, listening on `port`, the first time only
  // (nothing for a model that is ours), then refuses as above.
  void check_once(const SweepModel& model, uint16_t port);

  // Per checked model, as swept ("mine@B").
  const std::map<std::string, ServerFindings>& findings() const { return findings_; }
  // "Checked before measuring" and a line per checked model; nothing when
  // the sweep had no server to check.
  void print() const;

 private:
  const SweepConfig& config_;
  std::map<std::string, ServerFindings> findings_;
};

}  // namespace cmb::harness
