// What a server must do before its numbers mean anything: the checks of
// `cmbench verify`, one table. The conformance suite runs them against
// every model (tests/servers/conformance_test.cpp), `cmbench verify`
// against any server (--model, --external, --url), and `cmbench run`
// against each external server before measuring it. One set of checks,
// run three ways.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
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
  // for a static server (nginx's hello): the workload's checks are skipped.
  bool workload = true;
  // It serves many connections at once (false: one after another, the
  // iterative server): a slow client or a wait may hold the others up.
  bool concurrent = true;
  std::chrono::milliseconds timeout{5000};  // for any one response
};

enum class CheckOutcome { kPass, kFail, kSkip };

struct CheckResult {
  std::string_view name;
  CheckOutcome outcome = CheckOutcome::kPass;
  std::string seen;  // what was seen, or why it was skipped
};

struct Check {
  std::string_view name;
  std::string_view what;  // one line: what it asks of the server
  bool needs_workload = false;
  bool needs_concurrency = false;
  std::function<CheckResult(const VerifyTarget&)> run;
};

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

// The first failed check's name and what it saw, "NAME: SEEN"; empty when
// none failed.
std::string first_failure(const std::vector<CheckResult>& results);

// "pass", "FAIL", "skip".
std::string_view outcome_text(CheckOutcome outcome);

}  // namespace cmb::harness
