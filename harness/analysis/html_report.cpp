#include "harness/analysis/html_report.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "harness/base/exit_codes.hpp"
#include "harness/base/files.hpp"
#include "harness/base/subprocess.hpp"
#include "harness/results/claims.hpp"
#include "harness/results/csv.hpp"
#include "harness/results/schema.hpp"
#include "harness/results/search.hpp"

namespace cmb::harness {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

Json read_manifest(const std::string& csv) {
  std::ifstream in(fs::path(csv).replace_extension(".json"));
  if (!in) return Json::object();
  try {
    return Json::parse(in);
  } catch (const Json::exception&) {
    return Json::object();
  }
}

// The claims a run is judged by: its scenario file's, as they are now (a
// run made before the file had claims is judged too); else the manifest's.
std::vector<std::string> claims_of(const Json& manifest) {
  const std::string scenario = manifest.value("scenario", "");
  if (!scenario.empty()) {
    try {
      std::ifstream in(find_scenario(scenario));
      for (const auto& item : CLI::ConfigTOML().from_config(in))
        if (item.name == "claims") return item.inputs;
    } catch (const std::invalid_argument&) {  // a scenario this install does not have
    }
  }
  std::vector<std::string> claims;
  if (manifest.contains("claims"))
    for (const auto& claim : manifest["claims"]) claims.push_back(claim.get<std::string>());
  return claims;
}

// The searches, replayed from the rows as the run did (its SLO and
// resolution from the manifest).
Json searches_json(const std::vector<ResultRow>& rows, const Json& search, double slo) {
  Json searches = Json::array();
  for (const auto& [key, outcome] :
       replay_searches(rows, {search.value("slo_p99_ms", slo), search.value("resolution", 0.05)}))
    searches.push_back({{"model", key.model},
                        {"workload", key.workload},
                        {"connections", key.connections},
                        {"max_rate", outcome.max_rate},
                        {"found", describe_search(outcome)}});
  return searches;
}

Json verdicts_json(const std::vector<Verdict>& verdicts) {
  Json out = Json::array();
  for (const auto& v : verdicts)
    out.push_back({{"claim", v.claim},
                   {"held", v.held ? Json(*v.held) : Json()},
                   {"verdict", verdict_word(v)},
                   {"measured", v.measured},
                   {"metric", v.metric}});
  return out;
}

// What report.py is given of one run: its claims judged again, each
// model's summary, its searches.
Json run_json(const std::string& csv) {
  const Json manifest = read_manifest(csv);
  std::vector<std::string> models;
  if (manifest.contains("models"))
    for (const auto& m : manifest["models"]) models.push_back(m.value("name", ""));
  const double slo =
      manifest.contains("summary") ? manifest["summary"].value("slo_p99_ms", 10.0) : 10.0;
  const std::vector<ResultRow> rows = read_result_rows(csv);
  for (const auto& row : rows)  // a run without a manifest: the CSV's models, in order
    if (manifest.empty() && std::find(models.begin(), models.end(), row.model) == models.end())
      models.push_back(row.model);
  const SweepSummary summary = summarize(rows, models, slo);
  Json models_summary = Json::array();
  for (const auto& m : summary.models)
    models_summary.push_back({{"model", m.model},
                              {"best_rps", m.best_rps},
                              {"p99_at_best_us", m.p99_at_best_us},
                              {"knee_rate", m.knee_rate ? Json(*m.knee_rate) : Json()}});
  const Json search = manifest.value("search", Json::object());
  return {{"csv", fs::absolute(csv).string()},
          {"verdicts", verdicts_json(evaluate_claims(claims_of(manifest), csv, summary))},
          {"searches", searches_json(rows, search, slo)},
          {"search_slo_p99_ms", search.value("slo_p99_ms", slo)},
          {"summary",
           {{"slo_p99_ms", slo}, {"rate_sweep", summary.rate_sweep}, {"models", models_summary}}}};
}

}  // namespace

int report_command(const std::vector<std::string>& csvs, const std::string& out, bool slides) {
  Json runs = Json::array();
  for (const auto& csv : csvs) {
    try {
      runs.push_back(run_json(csv));
    } catch (const std::exception& e) {
      throw UsageError(fmt::format("{}: {}", csv, e.what()));
    }
  }
  if (!chart_python_ready()) {
    fmt::print(stderr, "cmbench report: needs what the charts need: {}\n", kChartPythonMissing);
    return kExitFailure;
  }
  const fs::path input =
      fs::temp_directory_path() / fmt::format("cmbench-report-{}.json", ::getpid());
  write_file_atomically(input.string(), runs.dump(2));
  std::vector<std::string> argv = {kChartPython, (data_dir() / "plots" / "report.py").string(),
                                   "--input",    input.string(),
                                   "-o",         out};
  if (slides) argv.push_back("--slides");
  const CommandResult written = run_command(argv, std::chrono::minutes(30));
  fs::remove(input);
  fmt::print(stderr, "{}", written.err);  // the points it left out, and why
  if (!written.ok()) {
    fmt::print(stderr, "cmbench report: writing {} failed\n", out);
    return kExitFailure;
  }
  fmt::print("report: {}\n", out);
  return kExitOk;
}

}  // namespace cmb::harness
