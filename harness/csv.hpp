// The results CSV: the schema lives here, in one array, and in
// results/README.md. Each row is written with one write(2) as soon as its
// point completes, so a killed harness leaves whole rows only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/fd.hpp"

namespace cmb::harness {

struct ResultRow {
  std::string timestamp;  // end of the point, UTC, ISO 8601
  std::string model;
  std::string workload;  // the query string sent, "" for hello
  int connections = 0;
  double rate = 0;         // target requests/s; 0 = closed loop
  int server_threads = 0;  // --threads given to the model; 0 = its default
  int repetition = 1;
  double duration_s = 0;
  uint64_t requests = 0;
  double rps = 0;
  uint64_t errors_connect = 0;
  uint64_t errors_read = 0;
  uint64_t errors_write = 0;
  uint64_t errors_timeout = 0;
  uint64_t errors_status = 0;
  double latency_mean_us = 0;
  double latency_p50_us = 0;
  double latency_p90_us = 0;
  double latency_p99_us = 0;
  double latency_p999_us = 0;
  double latency_max_us = 0;
  double uncorrected_p99_us = 0;  // open loop only
  double server_user_s = 0;
  double server_system_s = 0;
  double server_cpu_us_per_request = 0;
  uint64_t server_rss_max_kb = 0;
  int server_threads_max = 0;
  int server_processes_max = 0;
  uint64_t server_ctx_voluntary = 0;
  uint64_t server_ctx_involuntary = 0;
  double loadgen_cpu_s = 0;
  double loadgen_max_thread_busy = 0;
  uint64_t listen_overflows = 0;
  uint64_t listen_drops = 0;
  uint64_t tcp_retransmits = 0;
  uint64_t tcp_resets = 0;
  std::string artifacts;  // path prefix of the point's .hist and .timeline.csv
  std::string error;      // empty when the point was measured
};

// The column names, in order.
std::span<const std::string_view> csv_columns();

// One CSV line (with its newline) for a row.
std::string format_csv_row(const ResultRow& row);

// The rows of a results CSV with this build's columns (for --resume).
// Throws std::runtime_error when the file has other columns.
std::vector<std::vector<std::string>> read_csv_rows(const std::string& path);

// RFC 4180 records: fields split at commas, quoted fields may hold commas,
// doubled quotes and line breaks; records end at LF or CRLF; blank lines are
// skipped. A last record cut short (no line break) is returned as it is:
// callers compare its field count with the header's.
std::vector<std::vector<std::string>> parse_csv(std::string_view text);

// Any CSV (RFC 4180, as parse_csv): its header and rows. Throws std::runtime_error
// when the file cannot be read or is empty.
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  // The index of a column, or -1.
  int column(std::string_view name) const;
};
CsvTable read_csv_table(const std::string& path);

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
