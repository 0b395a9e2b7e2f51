#include "harness/results/repetitions.hpp"

#include <fmt/format.h>

#include <map>
#include <stdexcept>
#include <vector>

#include "harness/base/files.hpp"
#include "harness/base/stats.hpp"
#include "harness/results/csv.hpp"
#include "harness/results/point.hpp"

namespace cmb::harness {
namespace {

// One figure the repetitions are summarised by, and where it goes.
struct Figure {
  const char* column;
  const char* lo;
  const char* hi;
  const char* name;    // in the outlier column
  const char* format;  // as the schema writes the figure
};

constexpr Figure kFigures[] = {
    {"rps", "rps_lo", "rps_hi", "rps", "{:.2f}"},
    {"latency_p99_us", "p99_lo_us", "p99_hi_us", "p99", "{:.1f}"},
};

}  // namespace

void annotate_repetitions(const std::string& csv_path) {
  CsvTable table = read_csv_table(csv_path);
  const int outlier = table.column("outlier");
  for (const auto& figure : kFigures)
    if (table.column(figure.column) < 0 || table.column(figure.lo) < 0 ||
        table.column(figure.hi) < 0 || outlier < 0)
      return;  // an older schema: nothing to fill
  const PointReader identity(table);
  std::map<PointKey, std::vector<size_t>> points;  // measured rows of each point
  for (size_t i = 0; i < table.rows.size(); ++i) {
    auto& row = table.rows[i];
    row[static_cast<size_t>(outlier)].clear();
    for (const auto& figure : kFigures) {
      row[static_cast<size_t>(table.column(figure.lo))].clear();
      row[static_cast<size_t>(table.column(figure.hi))].clear();
    }
    if (table.measured(row)) points[identity.read(row).point()].push_back(i);
  }
  for (const auto& [key, rows] : points) {
    if (rows.size() < 2) continue;
    std::vector<std::string> flags(rows.size());
    for (const auto& figure : kFigures) {
      const auto at = [&](const char* column) { return static_cast<size_t>(table.column(column)); };
      std::vector<double> samples;
      try {
        for (size_t row : rows) samples.push_back(std::stod(table.rows[row][at(figure.column)]));
      } catch (const std::logic_error&) {
        throw std::runtime_error(
            fmt::format("{}: a {} of {} does not parse", csv_path, figure.column, key.model));
      }
      const Interval interval = median_interval(samples);
      const std::vector<bool> outside = tukey_outliers(samples);
      for (size_t i = 0; i < rows.size(); ++i) {
        table.rows[rows[i]][at(figure.lo)] = fmt::format(fmt::runtime(figure.format), interval.lo);
        table.rows[rows[i]][at(figure.hi)] = fmt::format(fmt::runtime(figure.format), interval.hi);
        if (outside[i]) flags[i] += (flags[i].empty() ? "" : "|") + std::string(figure.name);
      }
    }
    for (size_t i = 0; i < rows.size(); ++i)
      table.rows[rows[i]][static_cast<size_t>(outlier)] = flags[i];
  }
  std::string text = format_csv_record(table.header);
  for (const auto& row : table.rows) text += format_csv_record(row);
  write_file_atomically(csv_path, text);
}

}  // namespace cmb::harness
