// cmbench compare on small CSVs written here: matching, verdicts, noise,
// missing and failed points, normalisation, formats, and unusable input.
#include "harness/analysis/compare.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>

#include "support/process.hpp"

namespace cmb::harness {
namespace {

struct Sample {
  std::string model;
  std::string workload;
  int connections;
  double rps;
  double p99;
};

// A row of a point that failed (its `error` cell says why).
std::string error_row(const std::string& model, const std::string& workload, int connections,
                      const std::string& reason) {
  return "t," + model + "," + workload + "," + std::to_string(connections) + ",0,1,0,0,\"" +
         reason + "\"\n";
}

std::string write_csv(const std::string& name, const std::vector<Sample>& samples,
                      const std::vector<std::string>& error_rows = {}) {
  const auto path = std::filesystem::temp_directory_path() / ("cmbench-compare-" + name + ".csv");
  std::ofstream out(path);
  out << "timestamp,model,workload,connections,rate,repetition,rps,latency_p99_us,error\n";
  int rep = 0;
  for (const auto& s : samples)
    out << "t," << s.model << "," << s.workload << "," << s.connections << ",0," << ++rep << ","
        << s.rps << "," << s.p99 << ",\n";
  for (const auto& row : error_rows) out << row;
  return path.string();
}

std::vector<Sample> series(const std::string& model, std::vector<double> rps,
                           std::vector<double> p99, const std::string& workload = "cpu_us=100") {
  std::vector<Sample> samples;
  for (size_t i = 0; i < rps.size(); ++i) samples.push_back({model, workload, 16, rps[i], p99[i]});
  return samples;
}

const MetricComparison& metric(const Comparison& c, const std::string& model,
                               const std::string& name) {
  for (const auto& m : c.metrics)
    if (m.point.model == model && m.metric == name) return m;
  throw std::runtime_error("no such metric");
}

TEST(Compare, IdenticalRunsAreTheSame) {
  const auto base =
      write_csv("same-a", series("epoll", {100, 101, 99, 100, 102}, {900, 910, 905, 890, 900}),
                {error_row("poll", "cpu_us=100", 16, "server 'poll' did not start")});
  const Comparison c = compare_results(base, base, {});
  EXPECT_FALSE(c.regressed());
  EXPECT_EQ(metric(c, "epoll", "rps").verdict, "same");
  EXPECT_EQ(metric(c, "epoll", "rps").base.size(), 5u);  // the error row is not a sample
  ASSERT_EQ(c.points.size(), 1u);  // poll failed on both sides: listed, not a regression
  EXPECT_EQ(c.points[0].kind_name(), "still failing");
}

// The verdict and the interval printed beside it never disagree: over many
// random pairs of five repetitions, a verdict other than "same" comes with
// an interval on its side of 0 and a move beyond the threshold, and an
// interval wholly beyond the threshold always gets a verdict.
TEST(Compare, TheVerdictAgreesWithItsInterval) {
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> shift(0.7, 1.4), scatter(0.9, 1.1);
  int verdicts = 0;
  for (int draw = 0; draw < 200; ++draw) {
    std::vector<double> a, b;
    const double by = shift(random);
    for (int i = 0; i < 5; ++i) {
      a.push_back(1000 * scatter(random));
      b.push_back(1000 * by * scatter(random));
    }
    const auto base = write_csv("agree-a", series("epoll", a, {1, 1, 1, 1, 1}));
    const auto fresh = write_csv("agree-b", series("epoll", b, {1, 1, 1, 1, 1}));
    const MetricComparison m = metric(compare_results(base, fresh, {}), "epoll", "rps");
    ASSERT_TRUE(m.change_interval);
    const Interval i = *m.change_interval;
    EXPECT_TRUE(m.verdict != "worse" || (i.hi < 0 && m.change < -0.10)) << draw;
    EXPECT_TRUE(m.verdict != "better" || (i.lo > 0 && m.change > 0.10)) << draw;
    EXPECT_TRUE(i.hi >= -0.10 || m.verdict == "worse") << draw;
    EXPECT_TRUE(i.lo <= 0.10 || m.verdict == "better") << draw;
    EXPECT_TRUE(!i.contains(0) || m.verdict == "same") << draw;
    verdicts += m.verdict != "same";
  }
  EXPECT_GT(verdicts, 50);  // the draws do reach both sides
}

// better, worse and same, each with the exit code CI reads.
TEST(Compare, BetterAndSameExitZeroWorseExitsOne) {
  using cmb::testing::run_cmbench;
  const auto base = write_csv("dir-a", series("epoll", {1000, 1010, 990}, {1, 1, 1}));
  const auto faster = write_csv("dir-b", series("epoll", {1270, 1260, 1280}, {1, 1, 1}));
  const auto slower = write_csv("dir-c", series("epoll", {780, 790, 770}, {1, 1, 1}));
  const auto scattered = write_csv("dir-d", series("epoll", {1400, 700, 1300}, {1, 1, 1}));
  const auto better = run_cmbench({"compare", base, faster});
  EXPECT_EQ(better.exit_code, 0) << better.out;
  EXPECT_TRUE(
      std::regex_search(better.out, std::regex(R"(\+27\.0% +\[\+2\d\.\d%, \+2\d\.\d%\]  better)")))
      << better.out;
  const auto worse = run_cmbench({"compare", base, slower});
  EXPECT_EQ(worse.exit_code, 1) << worse.out;
  EXPECT_TRUE(
      std::regex_search(worse.out, std::regex(R"(-22\.0% +\[-2\d\.\d%, -2\d\.\d%\]  worse)")))
      << worse.out;
  const auto same = run_cmbench({"compare", base, scattered});
  EXPECT_EQ(same.exit_code, 0) << same.out;
  EXPECT_TRUE(
      std::regex_search(same.out, std::regex(R"(\+30\.0% +\[-\d+\.\d%, \+\d+\.\d%\]  same)")))
      << same.out;
}

// A point BASE measured that NEW lacks, or failed, is a regression: a gate
// must not pass because the thing it guards is gone.
TEST(Compare, AMissingOrFailedPointIsARegression) {
  auto both = series("epoll", {100, 101, 99}, {1, 1, 1});
  const auto poll = series("poll", {100, 101, 99}, {1, 1, 1});
  both.insert(both.end(), poll.begin(), poll.end());
  const auto base = write_csv("gone-a", both);
  const auto without_epoll = write_csv("gone-b", poll);
  const Comparison missing = compare_results(base, without_epoll, {});
  EXPECT_TRUE(missing.regressed());
  ASSERT_EQ(missing.points.size(), 1u);
  EXPECT_EQ(missing.points[0].point.model, "epoll");
  EXPECT_EQ(missing.points[0].kind_name(), "missing");

  CompareOptions allow;
  allow.allow_missing = true;
  const Comparison allowed = compare_results(base, without_epoll, allow);
  EXPECT_FALSE(allowed.regressed());
  ASSERT_EQ(allowed.points.size(), 1u);
  EXPECT_TRUE(allowed.points[0].allowed);

  const auto epoll_failed =
      write_csv("gone-c", poll, {error_row("epoll", "cpu_us=100", 16, "server 'epoll' crashed")});
  const Comparison failed = compare_results(base, epoll_failed, allow);  // not a missing point
  EXPECT_TRUE(failed.regressed());
  ASSERT_EQ(failed.points.size(), 1u);
  EXPECT_EQ(failed.points[0].kind_name(), "failed");
  EXPECT_EQ(failed.points[0].reason, "server 'epoll' crashed");

  // Every point of NEW failed: still judged (exit 1), not "nothing in common" (exit 2).
  EXPECT_TRUE(compare_results(
                  write_csv("gone-d", poll),
                  write_csv("gone-e", {}, {error_row("poll", "cpu_us=100", 16, "no listener")}), {})
                  .regressed());

  // A point only in NEW is listed as new, and is no regression.
  const Comparison added = compare_results(without_epoll, base, {});
  EXPECT_FALSE(added.regressed());
  ASSERT_EQ(added.points.size(), 1u);
  EXPECT_EQ(added.points[0].kind_name(), "new");
}

// Each format carries the lists.
TEST(Compare, FormatsListMissingFailedAndNewPoints) {
  using cmb::testing::run_cmbench;
  auto base_rows = series("epoll", {100, 101, 99}, {1, 1, 1});
  const auto poll = series("poll", {100, 101, 99}, {1, 1, 1});
  base_rows.insert(base_rows.end(), poll.begin(), poll.end());
  const auto base = write_csv("lists-a", base_rows);
  const auto fresh = write_csv("lists-b", series("select", {100, 101, 99}, {1, 1, 1}),
                               {error_row("poll", "cpu_us=100", 16, "server 'poll' crashed")});
  const auto text = run_cmbench({"compare", base, fresh});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_TRUE(std::regex_search(text.out, std::regex(R"(epoll cpu_us=100 c=16 +missing\n)")))
      << text.out;
  EXPECT_TRUE(std::regex_search(
      text.out, std::regex(R"(poll cpu_us=100 c=16 +failed: server 'poll' crashed\n)")))
      << text.out;
  EXPECT_TRUE(std::regex_search(text.out, std::regex(R"(select cpu_us=100 c=16 +new\n)")))
      << text.out;
  EXPECT_NE(text.out.find("verdict: regression"), std::string::npos) << text.out;

  const auto allowed =
      run_cmbench({"compare", base, fresh, "--allow-missing", "--format", "markdown"});
  EXPECT_EQ(allowed.exit_code, 1);  // poll still failed
  EXPECT_NE(allowed.out.find("| epoll cpu_us=100 c=16 | missing (allowed: --allow-missing) |"),
            std::string::npos)
      << allowed.out;
  EXPECT_NE(allowed.out.find("| poll cpu_us=100 c=16 | **failed: server 'poll' crashed** |"),
            std::string::npos)
      << allowed.out;

  const auto json = run_cmbench({"compare", base, fresh, "--format", "json"});
  EXPECT_TRUE(std::regex_search(
      json.out, std::regex(R"("missing":\[\{"model":"epoll",.*"allowed":false\}\])")))
      << json.out;
  EXPECT_TRUE(std::regex_search(
      json.out,
      std::regex(R"("failed":\[\{"model":"poll",.*"reason":"server 'poll' crashed"\}\])")))
      << json.out;
  EXPECT_TRUE(std::regex_search(json.out, std::regex(R"("new":\[\{"model":"select")"))) << json.out;
}

TEST(Compare, AClearDropIsWorse) {
  const auto base =
      write_csv("drop-a", series("epoll", {100, 101, 99, 98, 102}, {900, 910, 905, 890, 900}));
  const auto fresh =
      write_csv("drop-b", series("epoll", {75, 76, 74, 73, 77}, {900, 905, 895, 900, 910}));
  const Comparison c = compare_results(base, fresh, {});
  EXPECT_TRUE(c.regressed());
  const auto& rps = metric(c, "epoll", "rps");
  EXPECT_EQ(rps.verdict, "worse");
  EXPECT_NEAR(rps.change, -0.25, 0.01);
  // A 25 % slower build: the change's interval excludes 0 and holds -25 %.
  ASSERT_TRUE(rps.change_interval);
  EXPECT_LT(rps.change_interval->hi, 0);
  EXPECT_TRUE(rps.change_interval->contains(rps.change));
  EXPECT_EQ(metric(c, "epoll", "p99_us").verdict, "same");
}

TEST(Compare, HigherTailLatencyIsWorse) {
  const auto base =
      write_csv("tail-a", series("epoll", {100, 100, 100, 100, 100}, {900, 910, 905, 890, 900}));
  const auto fresh = write_csv(
      "tail-b", series("epoll", {100, 100, 100, 100, 100}, {1500, 1450, 1600, 1480, 1510}));
  EXPECT_EQ(metric(compare_results(base, fresh, {}), "epoll", "p99_us").verdict, "worse");  // +66 %
  // p99 has its own, looser threshold (50 %): +44 % is within it, though beyond 10 %.
  const auto milder = write_csv(
      "tail-c", series("epoll", {100, 100, 100, 100, 100}, {1300, 1250, 1400, 1280, 1310}));
  EXPECT_EQ(metric(compare_results(base, milder, {}), "epoll", "p99_us").verdict, "same");
  CompareOptions strict;
  strict.p99_threshold = 0.10;
  EXPECT_EQ(metric(compare_results(base, milder, strict), "epoll", "p99_us").verdict, "worse");
}

TEST(Compare, AnOverlappingMoveIsTheSame) {
  const auto base = write_csv("noise-a", series("epoll", {100, 130, 70, 120, 80}, {1, 1, 1, 1, 1}));
  const auto fresh = write_csv("noise-b", series("epoll", {75, 140, 60, 110, 65}, {1, 1, 1, 1, 1}));
  const Comparison c = compare_results(base, fresh, {});
  const auto& rps = metric(c, "epoll", "rps");
  EXPECT_LT(rps.change, -0.10);  // beyond the threshold, but the interval holds 0
  ASSERT_TRUE(rps.change_interval);
  EXPECT_TRUE(rps.change_interval->contains(0));
  EXPECT_EQ(rps.verdict, "same");
  EXPECT_FALSE(c.regressed());
}

// Three repetitions a side that separate completely, 17 % apart: flagged
// (a rank test could not: its smallest p at 3 vs 3 is 0.1). Three that move
// as much but overlap are the same.
TEST(Compare, ThreeRepetitionsThatSeparateAreFlagged) {
  const auto base = write_csv("few-a", series("epoll", {1005, 998, 1010}, {1, 1, 1}));
  const auto fresh = write_csv("few-b", series("epoll", {836, 829, 840}, {1, 1, 1}));
  const Comparison c = compare_results(base, fresh, {});
  EXPECT_TRUE(c.regressed());
  EXPECT_EQ(metric(c, "epoll", "rps").verdict, "worse");
  const auto overlapping = write_csv("few-c", series("epoll", {1200, 700, 829}, {1, 1, 1}));
  EXPECT_EQ(metric(compare_results(base, overlapping, {}), "epoll", "rps").verdict, "same");
}

TEST(Compare, WithoutRepetitionsTheThresholdDecides) {
  const auto base = write_csv("single-a", series("epoll", {100}, {1}));
  const auto fresh = write_csv("single-b", series("epoll", {80}, {1}));
  EXPECT_TRUE(compare_results(base, fresh, {}).regressed());
  const auto close = write_csv("single-c", series("epoll", {95}, {1}));
  EXPECT_FALSE(compare_results(base, close, {}).regressed());
}

// A baseline from a machine twice as fast still compares once both are
// divided by a reference model measured in the same run.
TEST(Compare, NormalizingByAReferenceModelMakesMachinesComparable) {
  auto base_samples = series("epoll", {500, 505, 495, 500, 502}, {10, 10, 10, 10, 10});
  auto ref_base = series("iterative", {1000, 1000, 1000, 1000, 1000}, {5, 5, 5, 5, 5});
  base_samples.insert(base_samples.end(), ref_base.begin(), ref_base.end());
  auto fast_samples = series("epoll", {1000, 1010, 990, 1000, 1004}, {5, 5, 5, 5, 5});
  auto ref_fast = series("iterative", {2000, 2000, 2000, 2000, 2000}, {2.5, 2.5, 2.5, 2.5, 2.5});
  fast_samples.insert(fast_samples.end(), ref_fast.begin(), ref_fast.end());
  const auto base = write_csv("norm-a", base_samples);
  const auto fast = write_csv("norm-b", fast_samples);

  EXPECT_EQ(metric(compare_results(base, fast, {}), "epoll", "rps").verdict, "better");  // raw: 2x
  CompareOptions options;
  options.normalize_by = "iterative";
  const Comparison normalized = compare_results(base, fast, options);
  EXPECT_FALSE(normalized.regressed());
  EXPECT_EQ(metric(normalized, "epoll", "rps").verdict, "same");
  EXPECT_NEAR(metric(normalized, "epoll", "rps").base_median, 0.502, 0.01);
  for (const auto& m : normalized.metrics) EXPECT_NE(m.point.model, "iterative");

  auto slow_samples =
      series("epoll", {700, 705, 695, 700, 702}, {5, 5, 5, 5, 5});  // 0.35 of the reference
  slow_samples.insert(slow_samples.end(), ref_fast.begin(), ref_fast.end());
  EXPECT_TRUE(compare_results(base, write_csv("norm-c", slow_samples), options).regressed());
}

TEST(Compare, PointsMatchOnModelWorkloadConnectionsAndRate) {
  auto base_samples = series("epoll", {100, 100}, {1, 1});
  auto other = series("poll", {100, 100}, {1, 1});
  base_samples.insert(base_samples.end(), other.begin(), other.end());
  const auto base = write_csv("match-a", base_samples);
  const auto fresh = write_csv("match-b", series("epoll", {100, 100}, {1, 1}, "cpu_us=100"));
  const Comparison c = compare_results(base, fresh, {});
  EXPECT_EQ(c.metrics.size(), 2u);  // epoll's rps and p99; poll has no partner
  const auto unrelated = write_csv("match-c", series("epoll", {100, 100}, {1, 1}, "cpu_us=999"));
  EXPECT_THROW(compare_results(base, unrelated, {}), UnusableInput);
}

// `cmbench run --binary A --binary B` writes one CSV whose models carry the
// build: epoll@A, epoll@B. Given alone, compare judges B against A.
TEST(Compare, OneCsvOfTwoBuildsComparesBuildBAgainstBuildA) {
  std::vector<Sample> same = series("epoll@A", {100, 101, 99, 100, 102}, {900, 910, 905, 890, 900});
  const auto b_same = series("epoll@B", {101, 100, 99, 102, 100}, {905, 900, 910, 895, 900});
  same.insert(same.end(), b_same.begin(), b_same.end());
  const Comparison identical = compare_results(write_csv("ab-same", same), "", {});
  EXPECT_FALSE(identical.regressed());
  EXPECT_EQ(metric(identical, "epoll", "rps").verdict, "same");
  EXPECT_EQ(metric(identical, "epoll", "rps").base.size(), 5u);

  std::vector<Sample> slower =
      series("epoll@A", {100, 101, 99, 100, 102}, {900, 910, 905, 890, 900});
  const auto b_slow = series("epoll@B", {80, 81, 79, 80, 82}, {905, 900, 910, 895, 900});
  slower.insert(slower.end(), b_slow.begin(), b_slow.end());
  const Comparison caught = compare_results(write_csv("ab-slow", slower), "", {});
  EXPECT_TRUE(caught.regressed());
  EXPECT_EQ(metric(caught, "epoll", "rps").verdict, "worse");
  EXPECT_NE(caught.notes.front().find("build A (base) against build B"), std::string::npos);

  // One build is not an A/B.
  EXPECT_THROW(compare_results(write_csv("ab-one", series("epoll@A", {1, 2}, {3, 4})), "", {}),
               UnusableInput);
}

TEST(Compare, CpuPerRequestIsJudgedWhenAsked) {
  const auto path = std::filesystem::temp_directory_path() / "cmbench-compare-cpu.csv";
  {
    std::ofstream out(path);
    out << "timestamp,model,workload,connections,rate,repetition,rps,latency_p99_us,"
           "server_cpu_us_per_request,error\n";
    for (int rep = 1; rep <= 4; ++rep) {  // same throughput, 25 % more CPU per request
      out << "t,epoll@A,,16,0," << rep << ",1000,900," << 40 + rep % 2 << ",\n";
      out << "t,epoll@B,,16,0," << rep << ",1000,900," << 50 + rep % 2 << ",\n";
    }
  }
  EXPECT_FALSE(compare_results(path.string(), "", {}).regressed());  // rps and p99 only
  CompareOptions with_cpu;
  with_cpu.metrics = {"rps", "p99", "cpu"};
  const Comparison c = compare_results(path.string(), "", with_cpu);
  EXPECT_TRUE(c.regressed());
  EXPECT_EQ(metric(c, "epoll", "cpu_us").verdict, "worse");
  EXPECT_EQ(metric(c, "epoll", "rps").verdict, "same");
}

TEST(Compare, RejectsUnusableInput) {
  const auto good = write_csv("unusable-a", series("epoll", {100}, {1}));
  const auto bad = std::filesystem::temp_directory_path() / "cmbench-compare-bad.csv";
  std::ofstream(bad) << "model,rps\nepoll,100\n";
  EXPECT_THROW(compare_results(good, bad.string(), {}), UnusableInput);
  EXPECT_THROW(compare_results(good, "/nonexistent/file.csv", {}), UnusableInput);
  CompareOptions options;
  options.normalize_by = "no-such-model";
  EXPECT_THROW(compare_results(good, good, options), UnusableInput);
}

TEST(Compare, CommandExitCodesAndFormats) {
  const auto base =
      write_csv("cli-a", series("epoll", {100, 101, 99, 100, 102}, {900, 910, 905, 890, 900}));
  const auto fresh =
      write_csv("cli-b", series("epoll", {75, 76, 74, 75, 77}, {900, 905, 895, 900, 910}));
  using cmb::testing::run_cmbench;
  EXPECT_EQ(run_cmbench({"compare", base, base}).exit_code, 0);
  const auto worse = run_cmbench({"compare", base, fresh, "--format", "markdown"});
  EXPECT_EQ(worse.exit_code, 1);
  EXPECT_NE(worse.out.find("| point | metric | base | new | change [95% interval] | verdict |"),
            std::string::npos)
      << worse.out;
  EXPECT_NE(worse.out.find("**worse**"), std::string::npos);
  EXPECT_TRUE(std::regex_search(worse.out, std::regex(R"(\| -25\.0% \[-2\d\.\d%, -2\d\.\d%\] \|)")))
      << worse.out;
  const auto text = run_cmbench({"compare", base, fresh});
  EXPECT_NE(text.out.find("95% interval"), std::string::npos) << text.out;
  const auto json = run_cmbench({"compare", base, fresh, "--format", "json"});
  EXPECT_TRUE(std::regex_search(json.out, std::regex(R"(^\{"regressed":true,.*"verdict":"worse")")))
      << json.out;
  EXPECT_TRUE(std::regex_search(json.out, std::regex(R"("change_lo":-0\.2\d*,"change_hi":-0\.2)")))
      << json.out;
  EXPECT_EQ(run_cmbench({"compare", base, "/nonexistent.csv"}).exit_code, 2);
  // A 30 % threshold lets the 25 % drop pass.
  EXPECT_EQ(run_cmbench({"compare", base, fresh, "--threshold", "30"}).exit_code, 0);
}

}  // namespace
}  // namespace cmb::harness
