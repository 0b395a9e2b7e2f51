// `cmbench run` end to end: child servers, pinning, CSV rows, the schema doc,
// and the tutorial's shape.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "harness/csv.hpp"
#include "support/process.hpp"

namespace {

using cmb::testing::run_cmbench;

// A CSV table as rows of name -> field. Fields with quotes are not used by
// these tests' points, so a plain split is enough (asserted).
std::vector<std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  std::stringstream head(line);
  for (std::string name; std::getline(head, name, ',');) header.push_back(name);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    EXPECT_EQ(line.find('"'), std::string::npos) << line;
    std::vector<std::string> fields;
    std::stringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) fields.push_back(cell);
    if (!line.empty() && line.back() == ',') fields.emplace_back();
    EXPECT_EQ(fields.size(), header.size()) << line;
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size() && i < fields.size(); ++i) row[header[i]] = fields[i];
    rows.push_back(row);
  }
  return rows;
}

std::string temp_csv(const std::string& name) {
  const auto path = std::filesystem::temp_directory_path() / ("cmbench-test-" + name + ".csv");
  std::filesystem::remove(path);
  return path.string();
}

TEST(Run, TwoModelsTwoConnectionCountsWriteWholeRows) {
  const std::string csv = temp_csv("two-by-two");
  const auto result = run_cmbench({"run", "--models", "iterative,thread-per-connection",
                                   "--connections", "1,2", "--workload", "", "-d", "500ms",
                                   "--warmup", "100ms", "--no-plots", "--out", csv});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  const auto rows = read_csv(csv);
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& row : rows) {
    EXPECT_EQ(row.at("error"), "");
    EXPECT_GT(std::stod(row.at("requests")), 0);
    EXPECT_GT(std::stod(row.at("rps")), 0);
    EXPECT_GT(std::stod(row.at("latency_p50_us")), 0);
    EXPECT_LE(std::stod(row.at("latency_p50_us")), std::stod(row.at("latency_p99_us")));
    EXPECT_GT(std::stod(row.at("server_rss_max_kb")), 0);
    EXPECT_GE(std::stod(row.at("server_threads_max")), 1);
    EXPECT_GT(std::stod(row.at("server_user_s")) + std::stod(row.at("server_system_s")), 0);
  }
  EXPECT_NE(result.out.find("CSV: " + csv), std::string::npos);
}

TEST(Run, EveryColumnIsDocumented) {
  std::ifstream doc(std::string(CMB_SOURCE_DIR) + "/results/README.md");
  std::stringstream text;
  text << doc.rdbuf();
  for (std::string_view column : cmb::harness::csv_columns())
    EXPECT_NE(text.str().find("`" + std::string(column) + "`"), std::string::npos) << column;
}

TEST(Run, AServerThatCannotStartBecomesAnErrorRow) {
  const std::string csv = temp_csv("bad-host");
  // 192.0.2.1 (TEST-NET) is not an address of this machine: bind fails.
  const auto result =
      run_cmbench({"run", "--models", "iterative", "--connections", "1", "--host", "192.0.2.1",
                   "-d", "200ms", "--warmup", "0s", "--no-plots", "--out", csv});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto rows = read_csv(csv);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_NE(rows[0].at("error").find("did not start"), std::string::npos) << rows[0].at("error");
}

// Bendersky's argument and the demo's claim: when each request blocks for
// 10 ms, 16 connections get ~16x from thread-per-connection and ~1x from the
// iterative server, which starves all but one connection.
TEST(Run, ThreadPerConnectionServesEightTimesIterativeWhenRequestsBlock) {
  const std::string csv = temp_csv("shape");
  const auto result = run_cmbench({"run", "--models", "iterative,thread-per-connection",
                                   "--connections", "16", "--workload", "sleep_us=10000", "-d",
                                   "2s", "--warmup", "500ms", "--no-plots", "--out", csv});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto rows = read_csv(csv);
  ASSERT_EQ(rows.size(), 2u);
  const double iterative = std::stod(rows[0].at("rps"));
  const double threaded = std::stod(rows[1].at("rps"));
  EXPECT_LE(iterative, 110.0);
  EXPECT_GE(threaded, 8 * iterative) << "iterative " << iterative << " threaded " << threaded;
  // The starved connections show up as timeouts, not as a hang, and their
  // wait (>= the 2 s timeout) reaches the iterative server's p99.
  EXPECT_GT(std::stod(rows[0].at("errors_timeout")), 0);
  EXPECT_GE(std::stod(rows[0].at("latency_p99_us")), 1'900'000);
  EXPECT_LT(std::stod(rows[1].at("latency_p99_us")), 100'000);
}

}  // namespace
