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

std::string PointId::key() const {
  // Without idle connections, the key older CSVs were resumed by.
  return fmt::format("{}|{}|{}|{}|{:g}|{}{}", model, server_threads, workload, connections, rate,
                     repetition, idle_connections > 0 ? fmt::format("|i{}", idle_connections) : "");
}

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
    return {at(model_),           optional(threads_, 0),
            at(workload_),        std::stoi(at(connections_)),
            std::stod(at(rate_)), optional(repetition_, 1),
            optional(idle_, 0)};
  } catch (const std::logic_error&) {  // std::invalid_argument, std::out_of_range
    throw std::runtime_error("a row's identity has a number that does not parse");
  }
}

}  // namespace cmb::harness
