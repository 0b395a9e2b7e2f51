// Results CSVs as RFC 4180 has them: LF or CRLF, quoted fields holding
// commas, doubled quotes and line breaks; files written by Python's csv
// module and by pandas read back field for field; compare accepts them.
#include "harness/results/csv.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "harness/results/repetitions.hpp"
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

// What the knee's rule and the search read of a row comes back from the
// CSV as it went in (to its printed precision): a replayed search judges
// the rows the live one judged.
TEST(Csv, TheFiguresTheKneeReadsComeBack) {
  ResultRow row;
  row.model = "epoll";
  row.rate = 203;
  row.duration_s = 1.000046;
  row.requests = 190;
  row.rps = 189.99;
  row.latency_p99_us = 96206.8;
  row.errors.timeout = 2;
  row.search_step = 7;
  const std::string path = temp_path("knee-figures.csv");
  std::filesystem::remove(path);
  CsvWriter(path).write(row);
  const auto rows = cmb::harness::read_result_rows(path);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].rate, row.rate);
  EXPECT_DOUBLE_EQ(rows[0].duration_s, 1.0);
  EXPECT_EQ(rows[0].requests, row.requests);
  EXPECT_DOUBLE_EQ(rows[0].rps, row.rps);
  EXPECT_DOUBLE_EQ(rows[0].latency_p99_us, row.latency_p99_us);
  EXPECT_EQ(rows[0].errors.timeout, row.errors.timeout);
  EXPECT_EQ(rows[0].search_step, row.search_step);
}

// Every column is read back as it was written, by the one table that does
// both: a row of the committed sample run, every empty cell (and column it
// predates) filled, read and written again, says the same in every cell
// (text alike, numbers within their printed precision). A column the
// reader forgot comes back at its default and fails here.
TEST(Csv, EveryColumnIsReadBackAsWritten) {
  const CsvTable sample =
      read_csv_table(std::string(CMB_SOURCE_DIR) + "/results/sample/why-multithreaded.csv");
  ASSERT_FALSE(sample.rows.empty());
  // Today's columns, each with the sample's cell where it has one, else 3.
  std::vector<std::string> cells;
  std::string line;
  for (const std::string_view name : csv_columns()) {
    const int at = sample.column(std::string(name));
    std::string cell = at >= 0 ? sample.rows.back().at(static_cast<size_t>(at)) : "";
    cells.push_back(cell.empty() ? "3" : cell);
    line += (line.empty() ? "" : ",") + csv_field(cells.back());
  }
  const std::string path = temp_path("every-column.csv");
  std::ofstream(path) << fmt::format("{}\n", fmt::join(csv_columns(), ",")) << line << "\n";
  const auto rows = read_result_rows(path);
  ASSERT_EQ(rows.size(), 1u);
  std::filesystem::remove(path);
  const std::vector<std::string> again = parse_csv(format_csv_row(rows[0])).at(0);
  ASSERT_EQ(again.size(), cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    if (again[i] == cells[i]) continue;
    double written = 0, read = 0;
    try {
      written = std::stod(cells[i]);
      read = std::stod(again[i]);
    } catch (const std::logic_error&) {
      ADD_FAILURE() << csv_columns()[i] << ": '" << cells[i] << "' came back as '" << again[i]
                    << "'";
      continue;
    }
    EXPECT_NEAR(read, written, 0.051 + 1e-6 * std::abs(written))
        << csv_columns()[i] << ": '" << cells[i] << "' came back as '" << again[i] << "'";
  }
}

// Once a sweep ends, each point measured several times carries its
// repetitions' interval on every row, and its outliers are flagged, not
// dropped; error rows and points measured once stay blank, and every other
// cell is as it was.
TEST(Csv, RepetitionsGetTheirIntervalAndOutliers) {
  const std::string path = temp_path("repetitions.csv");
  std::filesystem::remove(path);
  {
    CsvWriter csv(path);
    const double rps[] = {1000, 1010, 990, 1005, 400};  // the fifth: a stall
    for (int rep = 1; rep <= 5; ++rep) {
      ResultRow row;
      row.model = "epoll";
      row.workload = "a,b";  // quoted, and must stay so
      row.connections = 8;
      row.repetition = rep;
      row.rps = rps[rep - 1];
      row.latency_p99_us = 100 + rep;
      csv.write(row);
    }
    ResultRow once;
    once.model = "select";
    once.rps = 500;
    csv.write(once);
    ResultRow failed = once;
    failed.model = "epoll";
    failed.workload = "a,b";
    failed.connections = 8;
    failed.repetition = 6;
    failed.error = "server \"epoll\" died";
    csv.write(failed);
  }
  const CsvTable before = read_csv_table(path);
  annotate_repetitions(path);
  const CsvTable after = read_csv_table(path);
  ASSERT_EQ(after.header, before.header);
  ASSERT_EQ(after.rows.size(), 7u);
  const auto cell = [&](size_t row, const char* column) {
    return after.rows[row][static_cast<size_t>(after.column(column))];
  };
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(cell(i, "workload"), "a,b");
    EXPECT_GE(std::stod(cell(i, "rps_lo")), 400);
    EXPECT_LE(std::stod(cell(i, "rps_lo")), 1000);  // the median, 1000, lies within
    EXPECT_GE(std::stod(cell(i, "rps_hi")), 1000);
    EXPECT_LE(std::stod(cell(i, "rps_hi")), 1010);
    EXPECT_EQ(cell(i, "p99_lo_us"), cell(0, "p99_lo_us"));  // one interval per point
    EXPECT_EQ(cell(i, "outlier"), i == 4 ? "rps" : "");
    for (const char* column : {"rps", "latency_p99_us", "timestamp", "repetition"})
      EXPECT_EQ(cell(i, column), before.rows[i][static_cast<size_t>(before.column(column))]);
  }
  for (size_t i : {5u, 6u})  // measured once; an error row
    for (const char* column : {"rps_lo", "rps_hi", "p99_lo_us", "p99_hi_us", "outlier"})
      EXPECT_EQ(cell(i, column), "") << i << " " << column;
  EXPECT_EQ(cell(6, "error"), "server \"epoll\" died");
  annotate_repetitions(path);  // again: the same file
  EXPECT_EQ(read_csv_table(path).rows, after.rows);
  std::filesystem::remove(path);
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
