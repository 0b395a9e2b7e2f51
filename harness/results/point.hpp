// What makes a point a point: its identity, how it is keyed for --resume
// and for compare, and how it is read back from a results CSV by column
// name. Plain data.
#pragma once

#include <compare>
#include <string>
#include <vector>

namespace cmb::harness {

struct CsvTable;

// A point without its repetition: what compare matches and the summary
// groups by. Repetitions are samples of one PointKey.
struct PointKey {
  std::string model;       // as swept: "thread-pool:32" keeps its own --threads (ModelSpec)
  int server_threads = 0;  // --threads given to the model; 0 = its default
  std::string workload;    // the query string sent, "" for hello
  int connections = 0;
  double rate = 0;           // target requests/s; 0 = closed loop
  int idle_connections = 0;  // held open beside `connections`, never sending

  auto operator<=>(const PointKey&) const = default;
};

// What makes a point a point: its key and which repetition (what --resume
// skips, what the plan lists).
struct PointId : PointKey {
  int repetition = 1;

  const PointKey& point() const { return *this; }
  auto operator<=>(const PointId&) const = default;
};

// Reads identities from a results CSV's rows by column name, never by
// position. `server_threads` (0), `repetition` (1) and `idle_connections`
// (0) may be absent, as in hand-made files and older runs. Throws std::runtime_error naming a
// missing column, or a value that does not parse.
class PointReader {
 public:
  explicit PointReader(const CsvTable& table);
  PointId read(const std::vector<std::string>& row) const;

 private:
  int model_, threads_, workload_, connections_, rate_, repetition_, idle_;
};

}  // namespace cmb::harness
