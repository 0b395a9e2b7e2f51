#include "harness/results/csv.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace cmb::harness {

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c == '\n' || c == '\r' ? ' ' : c;
  }
  return out + "\"";
}

std::string format_csv_record(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) line += (i > 0 ? "," : "") + csv_field(fields[i]);
  return line + "\n";
}

std::vector<std::vector<std::string>> parse_csv(std::string_view text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;      // inside a quoted field
  bool field_seen = false;  // the current record has begun
  const auto end_record = [&] {
    if (field_seen || !field.empty()) {  // a blank line is no record
      record.push_back(std::move(field));
      records.push_back(std::move(record));
    }
    record.clear();
    field.clear();
    field_seen = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c != '"') {
        field += c;  // commas, CR and LF included
      } else if (i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
      field_seen = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      field_seen = true;
    } else if (c == '\n') {
      end_record();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      // CRLF: the LF ends the record.
    } else {
      field += c;
      field_seen = true;
    }
  }
  end_record();  // a last line without its line break
  return records;
}

CsvTable read_csv_table(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read {}", path));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::vector<std::string>> records = parse_csv(text);
  if (records.empty()) throw std::runtime_error(fmt::format("{} is empty", path));
  CsvTable table;
  table.header = std::move(records.front());
  for (auto record = records.begin() + 1; record != records.end(); ++record)
    if (record->size() == table.header.size()) table.rows.push_back(std::move(*record));
  return table;
}

int CsvTable::column(std::string_view name) const {
  const auto it = std::find(header.begin(), header.end(), name);
  return it == header.end() ? -1 : static_cast<int>(it - header.begin());
}

bool CsvTable::measured(const std::vector<std::string>& row) const {
  const int error = column("error");
  return error < 0 || row[static_cast<size_t>(error)].empty();
}

}  // namespace cmb::harness
