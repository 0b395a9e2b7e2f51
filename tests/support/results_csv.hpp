// A results CSV as rows of column -> field, for tests; every row must carry
// every column (a torn or shifted row fails the test that reads it). And
// the manifest beside it.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
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

// The manifest `cmbench run` writes beside a results CSV (CSV.json).
inline nlohmann::json read_manifest(const std::string& csv) {
  std::ifstream in(std::filesystem::path(csv).replace_extension(".json"));
  return nlohmann::json::parse(in);
}

}  // namespace cmb::testing
