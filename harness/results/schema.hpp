// The results CSV: the schema lives here, in one array, and in
// results/README.md. Each row is written with one write(2) as soon as its
// point completes, so a killed harness leaves whole rows only.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "harness/results/row.hpp"
#include "net/fd.hpp"

namespace cmb::harness {

// The column of errors of one cause: "errors_" + its name
// (loadgen::kErrorCauses); all five in that order.
std::string error_column(std::string_view cause);
std::vector<std::string> error_columns();

// A stage's figure's column (servers::kStageNames): "STAGE_FIGURE_us",
// FIGURE mean or p99.
std::string stage_column(std::string_view stage, std::string_view figure);

// The column names, in order; those that hold text rather than numbers.
std::span<const std::string_view> csv_columns();
std::vector<std::string_view> csv_text_columns();

// One CSV line (with its newline) for a row.
std::string format_csv_row(const ResultRow& row);

// The rows of a results CSV, read by column name with the same table that
// writes them: every column the file has (one from before a column was
// added leaves that figure at its default). Torn rows are skipped. Throws
// std::runtime_error when a column the summary needs is missing or a value
// does not parse.
std::vector<ResultRow> read_result_rows(const std::string& path);

class CsvWriter {
 public:
  // Opens for appending, creating the file and its directory and writing the
  // header when the file is new or empty. Throws std::runtime_error when an
  // existing file has another header (it would mix schemas).
  explicit CsvWriter(const std::string& path);
  // Throws std::system_error when the row cannot be written whole.
  void write(const ResultRow& row);

 private:
  void write_all(std::string_view text);
  net::Fd fd_;
  std::string path_;
};

}  // namespace cmb::harness
