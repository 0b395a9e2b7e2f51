// Results CSVs as RFC 4180 has them: LF or CRLF, quoted fields holding
// commas, doubled quotes and line breaks; files written by Python's csv
// module and by pandas read back field for field; compare accepts them.
#include "harness/results/csv.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "harness/results/schema.hpp"
#include "support/process.hpp"

namespace cmb::harness {
namespace {

using Records = std::vector<std::vector<std::string>>;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("cmbench-csv-" + name)).string();
}

TEST(Csv, SplitsRecordsAtLfAndCrlf) {
  const Records expected = {{"a", "b"}, {"1", "2"}, {"3", ""}};
  EXPECT_EQ(parse_csv("a,b\n1,2\n3,\n"), expected);
  EXPECT_EQ(parse_csv("a,b\r\n1,2\r\n3,\r\n"), expected);
  EXPECT_EQ(parse_csv("a,b\r\n1,2\n3,"), expected);          // mixed, and no final line break
  EXPECT_EQ(parse_csv("a,b\n\n1,2\r\n\r\n3,\n"), expected);  // blank lines are no records
  EXPECT_TRUE(parse_csv("").empty());
}

TEST(Csv, QuotedFieldsHoldCommasQuotesAndLineBreaks) {
  const Records expected = {{"x", "a,b", "say \"hi\"", "two\r\nlines", ""}, {"y"}};
  EXPECT_EQ(parse_csv("x,\"a,b\",\"say \"\"hi\"\"\",\"two\r\nlines\",\"\"\r\ny\r\n"), expected);
  // A lone CR inside an unquoted field is data, not a line break.
  EXPECT_EQ(parse_csv("a\rb,c\n"), (Records{{"a\rb", "c"}}));
}

TEST(Csv, ATornLastRecordKeepsItsShortFieldCount) {
  const Records records = parse_csv("a,b,c\n1,2,3\n4,5");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records.back().size(), 2u);
}

TEST(Csv, OurRowsRoundTrip) {
  ResultRow row;
  row.model = "epoll";
  row.workload = "bytes=13@95|sleep_us=20000@5";
  row.error = "server \"epoll\" died, status 9";
  const std::string path = temp_path("roundtrip.csv");
  std::filesystem::remove(path);
  CsvWriter(path).write(row);
  const CsvTable table = read_csv_table(path);
  ASSERT_EQ(table.rows.size(), 1u);
  ASSERT_EQ(table.rows[0].size(), csv_columns().size());
  EXPECT_EQ(table.rows[0][static_cast<size_t>(table.column("workload"))], row.workload);
  EXPECT_EQ(table.rows[0][static_cast<size_t>(table.column("error"))], row.error);
}

// Python's csv module writes CRLF by default; pandas quotes what needs it.
// Both are run here with the Debian interpreter, as the plots are.
const char* kPythonWriters = R"(
import csv, sys
import pandas as pd
rows = [["model", "workload", "rps", "error"],
        ["epoll", "bytes=13@95|sleep_us=20000@5", "1234.50", ""],
        ["select", "a,b", "7", 'said "no"\nand left']]
with open(sys.argv[1], "w", newline="") as f:
    csv.writer(f).writerows(rows)
pd.DataFrame(rows[1:], columns=rows[0]).to_csv(sys.argv[2], index=False, lineterminator="\r\n")
)";

TEST(Csv, ReadsWhatPythonsCsvModuleAndPandasWrite) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  const std::string script = temp_path("writers.py"), by_csv = temp_path("by-csv.csv"),
                    by_pandas = temp_path("by-pandas.csv");
  std::ofstream(script) << kPythonWriters;
  testing::Child python({"/usr/bin/python3", script, by_csv, by_pandas});
  const auto finished = python.wait();
  ASSERT_EQ(finished.exit_code, 0) << finished.err;
  for (const auto& path : {by_csv, by_pandas}) {
    std::ifstream in(path, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("\r\n"), std::string::npos) << path << " was meant to use CRLF";
    const CsvTable table = read_csv_table(path);
    EXPECT_EQ(table.header, (std::vector<std::string>{"model", "workload", "rps", "error"}));
    ASSERT_EQ(table.rows.size(), 2u) << path;
    EXPECT_EQ(table.rows[0],
              (std::vector<std::string>{"epoll", "bytes=13@95|sleep_us=20000@5", "1234.50", ""}))
        << path;
    EXPECT_EQ(table.rows[1][1], "a,b") << path;
    // The line break inside the quoted field survives (Python writes it as given).
    EXPECT_EQ(table.rows[1][3], "said \"no\"\nand left") << path;
  }
}

// A results CSV re-saved by Python (CRLF) compares exactly like the original.
TEST(Csv, CompareAcceptsAResultsCsvResavedWithCrlf) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  const std::string original = temp_path("results-lf.csv"), resaved = temp_path("results-crlf.csv");
  std::filesystem::remove(original);
  {
    CsvWriter writer(original);
    for (double rps : {1000.0, 1010.0, 990.0}) {
      ResultRow row;
      row.model = "epoll";
      row.workload = "cpu_us=200";
      row.connections = 8;
      row.rps = rps;
      row.latency_p99_us = 900;
      writer.write(row);
    }
  }
  testing::Child python({"/usr/bin/python3", "-c",
                         "import csv, sys\n"
                         "rows = list(csv.reader(open(sys.argv[1], newline='')))\n"
                         "csv.writer(open(sys.argv[2], 'w', newline='')).writerows(rows)\n",
                         original, resaved});
  ASSERT_EQ(python.wait().exit_code, 0);
  const auto same = testing::run_cmbench({"compare", original, resaved});
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  EXPECT_NE(same.out.find("no regression"), std::string::npos) << same.out;
  EXPECT_EQ(read_csv_table(resaved).rows, read_csv_table(original).rows);
}

}  // namespace
}  // namespace cmb::harness
