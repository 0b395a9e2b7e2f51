// Scenario claims as data: the language's parser, its verdicts on small
// CSVs written here, and the committed gallery runs against the claims of
// the scenarios that made them.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/results/claims.hpp"
#include "harness/results/csv.hpp"
#include "harness/results/schema.hpp"

namespace cmb::harness {
namespace {

std::string write_csv(const std::string& name, const std::string& rows) {
  const auto path = std::filesystem::temp_directory_path() / ("cmbench-claims-" + name + ".csv");
  std::ofstream(path) << "model,workload,connections,rate,repetition,rps,latency_p50_us,"
                         "latency_p99_us,duration_s,server_threads_max,server_rss_max_kb,error\n"
                      << rows;
  return path.string();
}

Verdict judge(const std::string& claim, const std::string& csv, const SweepSummary& summary = {}) {
  return evaluate_claims({claim}, csv, summary).at(0);
}

TEST(Claims, MalformedClaimsAreRefusedWithTheReason) {
  EXPECT_NO_THROW(check_claims(
      {"rps epoll at connections=max >= 8 x rps iterative at connections=max",
       "p99 epoll at rate=min <= 25ms", "rps iterative flat over connections within 30%",
       "rps threads rises over connections by 4x", "knee epoll >= 1000",
       "rss epoll at connections=4000 <= 64MiB"}));
  for (const char* bad :
       {"speed epoll >= 3", "rps epoll", "rps epoll at connections=lots >= 1",
        "rps epoll at colour=red >= 1", "rps epoll >= fast", "p99 epoll <= 25MiB",
        "rps epoll flat over connections by 2x", "rps epoll rises over time by 2x",
        "rps epoll >= 2 x", "knee epoll at rate=max >= 1", "rps epoll >= 3 extra"}) {
    try {
      check_claims({bad});
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

// A claim judged on a point whose window was not in a steady state says so
// (and is still judged: the verdict is the figures', the flag the reader's).
TEST(Claims, AnUnsteadyPointIsNamedInTheVerdict) {
  const auto path = std::filesystem::temp_directory_path() / "cmbench-claims-steady.csv";
  std::ofstream(path) << "model,workload,connections,rate,repetition,rps,steady,error\n"
                         "epoll,,8,0,1,1000,no,\n"
                         "epoll,,8,0,2,1100,yes,\n"
                         "select,,8,0,1,900,yes,\n";
  const Verdict unsteady = judge("rps epoll >= 500", path.string());
  EXPECT_EQ(unsteady.held, true);
  EXPECT_NE(unsteady.measured.find("(not in a steady state)"), std::string::npos)
      << unsteady.measured;
  const Verdict steady = judge("rps select >= 500", path.string());
  EXPECT_EQ(steady.measured.find("steady"), std::string::npos) << steady.measured;
}

TEST(Claims, RatiosAndBoundsUseTheMedianOfRepetitions) {
  const std::string csv = write_csv("ratio",
                                    "iterative,,1,0,1,100,1,1,1,2,4000,\n"
                                    "iterative,,16,0,1,98,1,1,1,2,4000,\n"
                                    "iterative,,16,0,2,97,1,1,1,2,4000,\n"
                                    "iterative,,16,0,3,99,1,1,1,2,4000,\n"
                                    "threads,,1,0,1,100,1,1,1,3,4000,\n"
                                    "threads,,16,0,1,1500,1,1,1,18,4000,\n"
                                    "threads,,16,0,2,0,1,1,1,0,0,server died\n");
  const Verdict ratio =
      judge("rps threads at connections=max >= 8 x rps iterative at connections=max", csv);
  ASSERT_TRUE(ratio.held.has_value()) << ratio.measured;
  EXPECT_TRUE(*ratio.held);
  EXPECT_NE(ratio.measured.find("ratio 15.3x"), std::string::npos) << ratio.measured;  // 1500 / 98
  EXPECT_FALSE(
      *judge("rps threads at connections=16 >= 16 x rps iterative at connections=16", csv).held);
  EXPECT_TRUE(*judge("rss iterative at connections=1 <= 4MiB", csv).held);
  EXPECT_FALSE(*judge("rss iterative at connections=1 < 3MiB", csv).held);
  // Two points match: the claim must name one.
  const Verdict ambiguous = judge("rps threads >= 1", csv);
  EXPECT_FALSE(ambiguous.held.has_value());
  EXPECT_NE(ambiguous.measured.find("name one with 'at'"), std::string::npos);
  const Verdict absent = judge("rps epoll at connections=1 >= 1", csv);
  EXPECT_FALSE(absent.held.has_value());
  EXPECT_EQ(verdict_word(absent), "not measured");
}

TEST(Claims, TrendsRunAlongAnAxis) {
  const std::string csv = write_csv("trend",
                                    "iterative,,1,0,1,100,1,1,1,2,4000,\n"
                                    "iterative,,4,0,1,95,1,1,1,2,4000,\n"
                                    "iterative,,16,0,1,90,1,1,1,2,4000,\n"
                                    "threads,,1,0,1,100,1,1,1,2,4000,\n"
                                    "threads,,16,0,1,1500,1,1,1,2,4000,\n"
                                    "loop,,8,1000,1,1000,100,200,1,2,4000,\n"
                                    "loop,,8,8000,1,5000,90000,500000,1,2,4000,\n");
  EXPECT_TRUE(*judge("rps iterative flat over connections within 15%", csv).held);
  EXPECT_FALSE(*judge("rps iterative flat over connections within 5%", csv).held);
  EXPECT_TRUE(*judge("rps threads rises over connections by 10x", csv).held);
  EXPECT_FALSE(*judge("rps threads falls over connections by 2x", csv).held);
  EXPECT_TRUE(*judge("p99 loop rises over rate by 100x", csv).held);
  EXPECT_TRUE(*judge("p99 loop at rate=max >= 10 x p99 loop at rate=min", csv).held);
  EXPECT_TRUE(*judge("p99 loop at rate=min <= 1ms", csv).held);
  EXPECT_FALSE(judge("rps loop rises over connections by 2x", csv).held.has_value());  // one point
}

// A trend over one workload of several: 'at workload=' picks its line, and
// without it the two workloads are not one line. The trend's own axis
// cannot be picked.
TEST(Claims, ATrendPicksItsLineByWorkload) {
  const std::string csv = write_csv("trend-workload",
                                    "loop,sleep_us=10,1,0,1,100,1,1,1,2,4000,\n"
                                    "loop,sleep_us=10,64,0,1,101,1,1,1,2,4000,\n"
                                    "loop,wait_us=10,1,0,1,100,1,1,1,2,4000,\n"
                                    "loop,wait_us=10,64,0,1,6000,1,1,1,2,4000,\n");
  const Verdict flat =
      judge("rps loop at workload=sleep_us=10 flat over connections within 5%", csv);
  EXPECT_TRUE(*flat.held) << flat.measured;
  EXPECT_TRUE(*judge("rps loop at workload=wait_us=10 rises over connections by 50x", csv).held);
  EXPECT_FALSE(*judge("rps loop at workload=sleep_us=10 rises over connections by 2x", csv).held);
  EXPECT_FALSE(judge("rps loop rises over connections by 2x", csv).held.has_value());
  EXPECT_THROW(check_claims({"rps loop at connections=max flat over connections within 5%"}),
               std::invalid_argument);
}

// A file without the column (older runs) has no idle connections; one with
// it selects and trends along it like any other axis.
TEST(Claims, IdleConnectionsAreAnAxisToo) {
  const auto path = std::filesystem::temp_directory_path() / "cmbench-claims-idle.csv";
  std::ofstream(path) << "model,workload,connections,rate,idle_connections,repetition,rps,error\n"
                         "poll,,32,0,0,1,100000,\n"
                         "poll,,32,0,1000,1,60000,\n"
                         "poll,,32,0,8000,1,20000,\n"
                         "epoll,,32,0,0,1,100000,\n"
                         "epoll,,32,0,8000,1,98000,\n"
                         "epoll,,32,0,50000,1,0,too many open files\n";
  const std::string csv = path.string();
  EXPECT_NO_THROW(check_claims(
      {"rps poll at idle_connections=max >= 1", "rps poll falls over idle_connections by 2x"}));
  const Verdict falls = judge("rps poll falls over idle_connections by 4x", csv);
  EXPECT_TRUE(*falls.held) << falls.measured;
  EXPECT_NE(falls.measured.find("over idle_connections 0, 1000, 8000"), std::string::npos)
      << falls.measured;
  // max is the largest measured: the error row does not count.
  const Verdict ratio =
      judge("rps epoll at idle_connections=max >= 3 x rps poll at idle_connections=max", csv);
  EXPECT_TRUE(*ratio.held) << ratio.measured;
  EXPECT_NE(ratio.measured.find("idle_connections=8000"), std::string::npos) << ratio.measured;
  EXPECT_FALSE(*judge("rps epoll flat over idle_connections within 1%", csv).held);
  // Without a selection the two idle counts are two points, not one.
  EXPECT_FALSE(judge("rps epoll >= 1", csv).held.has_value());
  EXPECT_TRUE(*judge("rps epoll rises over connections by 1x",
                     write_csv("no-idle",
                               "epoll,,1,0,1,100,1,1,1,2,4000,\n"
                               "epoll,,16,0,1,150,1,1,1,2,4000,\n"))
                   .held);
}

TEST(Claims, KneesComeFromTheSummary) {
  const std::string csv = write_csv("knee", "loop,,8,1000,1,1000,100,200,1,2,4000,\n");
  SweepSummary summary;
  summary.rate_sweep = true;
  summary.slo_p99_ms = 10;
  summary.models = {{"loop", 1000, 200, 3000.0, {}}, {"slow", 100, 90000, std::nullopt, {}}};
  EXPECT_TRUE(*judge("knee loop >= 2000", csv, summary).held);
  EXPECT_FALSE(*judge("knee slow >= 1", csv, summary).held);  // no rate within the SLO
  EXPECT_FALSE(judge("knee loop >= 1", csv, SweepSummary{}).held.has_value());  // no rates
}

// The committed gallery runs (results/sample/, full scale, this machine)
// hold the claims their scenario files make.
TEST(Claims, TheGalleryRunsHoldTheirScenariosClaims) {
  const std::filesystem::path root = CMB_SOURCE_DIR;
  int scenarios = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root / "results" / "sample")) {
    if (entry.path().extension() != ".csv") continue;
    const auto scenario = root / "scenarios" / (entry.path().stem().string() + ".toml");
    if (!std::filesystem::exists(scenario)) continue;
    std::ifstream in(scenario);
    std::vector<std::string> claims;
    for (const auto& item : CLI::ConfigTOML().from_config(in))
      if (item.name == "claims") claims = item.inputs;
    if (claims.empty()) continue;
    ++scenarios;
    for (const auto& verdict : evaluate_claims(claims, entry.path().string(), SweepSummary{}))
      EXPECT_EQ(verdict_word(verdict), "held")
          << entry.path().filename() << ": " << verdict.claim << "\n  " << verdict.measured;
  }
  EXPECT_GE(scenarios, 5);
}

}  // namespace
}  // namespace cmb::harness
