#include "harness/results/point.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "harness/results/csv.hpp"

namespace cmb::harness {
namespace {

int column_of(const CsvTable& table, const char* name) {
  const int index = table.column(name);
  if (index < 0)
    throw std::runtime_error(fmt::format("no '{}' column: not a cmbench results CSV", name));
  return index;
}

}  // namespace

PointReader::PointReader(const CsvTable& table)
    : model_(column_of(table, "model")),
      threads_(table.column("server_threads")),
      workload_(column_of(table, "workload")),
      connections_(column_of(table, "connections")),
      rate_(column_of(table, "rate")),
      repetition_(table.column("repetition")),
      idle_(table.column("idle_connections")) {}

PointId PointReader::read(const std::vector<std::string>& row) const {
  const auto at = [&](int index) -> const std::string& {
    if (static_cast<size_t>(index) >= row.size())
      throw std::runtime_error("a row is shorter than the header");
    return row[static_cast<size_t>(index)];
  };
  const auto optional = [&](int index, int absent) {
    return index < 0 ? absent : std::stoi(at(index));
  };
  try {
    PointId id;
    id.model = at(model_);
    id.server_threads = optional(threads_, 0);
    id.workload = at(workload_);
    id.connections = std::stoi(at(connections_));
    id.rate = std::stod(at(rate_));
    id.idle_connections = optional(idle_, 0);
    id.repetition = optional(repetition_, 1);
    return id;
  } catch (const std::logic_error&) {  // std::invalid_argument, std::out_of_range
    throw std::runtime_error("a row's identity has a number that does not parse");
  }
}

}  // namespace cmb::harness
