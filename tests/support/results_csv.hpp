// A results CSV as rows of column -> field, for tests; every row must carry
// every column (a torn or shifted row fails the test that reads it).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "harness/results/csv.hpp"
#include "harness/results/schema.hpp"

namespace cmb::testing {

using ResultRowMap = std::map<std::string, std::string>;

inline std::vector<ResultRowMap> read_result_rows(const std::string& path) {
  const harness::CsvTable table = harness::read_csv_table(path);
  std::vector<ResultRowMap> rows;
  for (const auto& fields : table.rows) {
    EXPECT_EQ(fields.size(), table.header.size()) << "a row without every column in " << path;
    ResultRowMap row;
    for (size_t i = 0; i < table.header.size() && i < fields.size(); ++i)
      row[table.header[i]] = fields[i];
    rows.push_back(row);
  }
  return rows;
}

}  // namespace cmb::testing
