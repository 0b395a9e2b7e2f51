// Any CSV, read as RFC 4180 says: what every reader of results (compare,
// export, claims, the report) and the schema share. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cmb::harness {

// RFC 4180 records: fields split at commas, quoted fields may hold commas,
// doubled quotes and line breaks; records end at LF or CRLF; blank lines are
// skipped. A last record cut short (no line break) is returned as it is:
// callers compare its field count with the header's.
std::vector<std::vector<std::string>> parse_csv(std::string_view text);

// One field as a record holds it: quoted when it has a comma, a quote or a
// line break (a line break becomes a space: a row is one line).
std::string csv_field(std::string_view text);

// One record, its fields joined and quoted as csv_field does, with its
// line break.
std::string format_csv_record(const std::vector<std::string>& fields);

// Any CSV (RFC 4180, as parse_csv): its header and rows. Throws std::runtime_error
// when the file cannot be read or is empty.
struct CsvTable {
  std::vector<std::string> header;
  // Every record with as many fields as the header: a torn one (the last
  // line of a writer that was killed) is left out here, once for every
  // reader.
  std::vector<std::vector<std::string>> rows;
  // The index of a column, or -1.
  int column(std::string_view name) const;
  // Whether `row` (one of rows) is a measured point's: a cmbench results
  // CSV leaves its `error` cell empty then (a table without that column
  // has only measured rows).
  bool measured(const std::vector<std::string>& row) const;
};
CsvTable read_csv_table(const std::string& path);

}  // namespace cmb::harness
