// What a server must do before its numbers mean anything: the checks of
// `cmbench verify`, one table. The conformance suite runs them against
// every model (tests/servers/conformance_test.cpp), `cmbench verify`
// against any server (--model, --external, --url), and `cmbench run`
// against each external server before measuring it. One set of checks,
// run three ways, in two groups: what a measurement needs, and hardening.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "servers/registry.hpp"

namespace cmb::harness {

// The server under test, and what it claims.
struct VerifyTarget {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  // It serves cmbench's workload (the query string picks the work); false
  // for a static server (nginx's hello): the workload's and the hardening
  // checks are skipped.
  bool workload = true;
  // The workload keys it is checked for ("sleep_us"): a sweep's own, none
  // for a sweep of hello. std::nullopt: every key the handler reads.
  std::optional<std::vector<std::string>> keys;
  // It serves many connections at once (false: one after another, the
  // iterative server): a slow client or a wait may hold the others up.
  bool concurrent = true;
  // The load sends requests before their answers come (false: a sweep,
  // whose load never does): the pipelining check is skipped.
  bool pipelined = true;
  std::chrono::milliseconds timeout{5000};  // for any one response
};

// What a check is for. A measurement needs every check of the first group
// to pass before its numbers mean anything; the second is how a server
// treats bad input, which a measurement reports but does not need.
enum class CheckGroup { kMeasurement, kHardening };

enum class CheckOutcome { kPass, kFail, kSkip };

struct CheckResult {
  std::string_view name;
  CheckOutcome outcome = CheckOutcome::kPass;
  std::string seen;  // what was seen, or why it was skipped
  CheckGroup group = CheckGroup::kMeasurement;
};

struct Check {
  std::string_view name;
  std::string_view what;  // one line: what it asks of the server
  CheckGroup group = CheckGroup::kMeasurement;
  std::string_view key = {};  // the workload key it exercises ("cpu_us"); empty: none
  bool needs_concurrency = false;
  bool needs_pipelining = false;
  std::function<CheckResult(const VerifyTarget&)> run;
};

// "measurement", "hardening".
std::string_view group_name(CheckGroup group);

// Every check, in the order they run.
const std::vector<Check>& verify_checks();

// What a registered model claims, as a target on `port`: nginx, a static
// server, not the workload; the iterative server, one connection at a time.
VerifyTarget model_target(const servers::ModelInfo& model, uint16_t port);

// One check against the target: skipped (and why) when the target does not
// claim what it needs.
CheckResult run_check(const Check& check, const VerifyTarget& target);
// All of them, in order; `on_result` sees each as it ends.
std::vector<CheckResult> run_checks(const VerifyTarget& target,
                                    const std::function<void(const CheckResult&)>& on_result = {});

// The failed checks of one group, each "NAME: SEEN".
std::vector<std::string> failures(const std::vector<CheckResult>& results, CheckGroup group);

// "pass", "FAIL", "skip".
std::string_view outcome_text(CheckOutcome outcome);

}  // namespace cmb::harness
