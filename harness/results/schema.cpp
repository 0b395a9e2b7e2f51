#include "harness/results/schema.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>

#include "harness/results/cpu_kinds.hpp"
#include "harness/results/csv.hpp"

namespace cmb::harness {
namespace {

struct Column {
  std::string name;
  std::function<std::string(const ResultRow&)> format;
  std::function<void(ResultRow&, const std::string&)> read;  // a cell's text into its field
  bool text = false;                                         // else a number, or empty
};

// A cell's text into a field of its type; an empty cell leaves an optional
// one empty. Throws std::logic_error on a number that does not parse.
void parse_field(std::string& field, const std::string& text) { field = text; }
template <typename T>
void parse_field(T& field, const std::string& text) {
  if constexpr (std::is_floating_point_v<T>)
    field = static_cast<T>(std::stod(text));
  else if constexpr (std::is_unsigned_v<T>)
    field = static_cast<T>(std::stoull(text));
  else
    field = static_cast<T>(std::stoll(text));
}
template <typename T>
void parse_field(std::optional<T>& field, const std::string& text) {
  if (text.empty()) {
    field.reset();
    return;
  }
  T value{};
  parse_field(value, text);
  field = std::move(value);
}

Column stage_figure_column(size_t stage, std::string_view figure,
                           std::optional<double> ResultRow::StageFigures::*field) {
  return {stage_column(servers::kStageNames[stage], figure),
          [stage, field](const ResultRow& r) {
            const std::optional<double>& value = r.stages[stage].*field;
            return value ? fmt::format("{:.1f}", *value) : std::string();
          },
          [stage, field](ResultRow& r, const std::string& text) {
            parse_field(r.stages[stage].*field, text);
          }};
}

// The columns in order, each with how it is written and read back.
#define CMB_READ(field) [](ResultRow& r, const std::string& text) { parse_field(r.field, text); }
#define CMB_TEXT(field) [](const ResultRow& r) { return csv_field(r.field); }, CMB_READ(field), true
#define CMB_NUMBER(field, spec) \
  [](const ResultRow& r) { return fmt::format(spec, r.field); }, CMB_READ(field)
#define CMB_OPTIONAL(field)                                                                 \
  [](const ResultRow& r) { return r.field ? fmt::format("{}", *r.field) : std::string(); }, \
      CMB_READ(field)
#define CMB_OPTIONAL_TEXT(field)                                                    \
  [](const ResultRow& r) { return r.field ? csv_field(*r.field) : std::string(); }, \
      CMB_READ(field), true
#define CMB_OPTIONAL_NUMBER(field, spec)                                                    \
  [](const ResultRow& r) { return r.field ? fmt::format(spec, *r.field) : std::string(); }, \
      CMB_READ(field)
// The point's identity and how the load went: requests, rate, the
// repetitions' interval.
std::vector<Column> point_columns() {
  return {
      {"timestamp", CMB_TEXT(timestamp)},
      {"model", CMB_TEXT(model)},
      {"workload", CMB_TEXT(workload)},
      {"connections", CMB_NUMBER(connections, "{}")},
      {"rate", CMB_NUMBER(rate, "{:g}")},
      {"idle_connections", CMB_NUMBER(idle_connections, "{}")},
      {"ramp", CMB_TEXT(ramp)},
      {"server_threads", CMB_NUMBER(server_threads, "{}")},
      {"repetition", CMB_NUMBER(repetition, "{}")},
      {"search_step", CMB_OPTIONAL(search_step)},
      {"outlier", CMB_TEXT(outlier)},
      {"steady", CMB_TEXT(steady)},
      {"duration_s", CMB_NUMBER(duration_s, "{:.3f}")},
      {"warmup_s", CMB_NUMBER(warmup_s, "{:.3f}")},
      {"requests", CMB_NUMBER(requests, "{}")},
      {"rps", CMB_NUMBER(rps, "{:.2f}")},
      {"rps_lo", CMB_OPTIONAL_NUMBER(rps_lo, "{:.2f}")},
      {"rps_hi", CMB_OPTIONAL_NUMBER(rps_hi, "{:.2f}")},
  };
}

std::vector<Column> error_cause_columns() {
  std::vector<Column> columns;
  for (const auto& cause : loadgen::kErrorCauses)
    columns.push_back(
        {error_column(cause.name),
         [count = cause.count](const ResultRow& r) { return fmt::format("{}", r.errors.*count); },
         [count = cause.count](ResultRow& r, const std::string& text) {
           parse_field(r.errors.*count, text);
         }});
  return columns;
}

// The requests never answered, the latency the client saw, and the
// server's CPU over the window.
std::vector<Column> latency_columns() {
  return {
      {"unanswered", CMB_NUMBER(unanswered, "{}")},
      {"unanswered_age_mean_us", CMB_NUMBER(unanswered_age_mean_us, "{:.1f}")},
      {"unanswered_wait_us", CMB_NUMBER(unanswered_wait_us, "{:.1f}")},
      {"connections_unanswered", CMB_NUMBER(connections_unanswered, "{}")},
      {"latency_mean_us", CMB_NUMBER(latency_mean_us, "{:.1f}")},
      {"latency_p50_us", CMB_NUMBER(latency_p50_us, "{:.1f}")},
      {"latency_p90_us", CMB_NUMBER(latency_p90_us, "{:.1f}")},
      {"latency_p99_us", CMB_NUMBER(latency_p99_us, "{:.1f}")},
      {"p99_lo_us", CMB_OPTIONAL_NUMBER(p99_lo_us, "{:.1f}")},
      {"p99_hi_us", CMB_OPTIONAL_NUMBER(p99_hi_us, "{:.1f}")},
      {"latency_p999_us", CMB_NUMBER(latency_p999_us, "{:.1f}")},
      {"latency_max_us", CMB_NUMBER(latency_max_us, "{:.1f}")},
      {"uncorrected_p99_us", CMB_NUMBER(uncorrected_p99_us, "{:.1f}")},
      {"schedule_lag_p99_us", CMB_NUMBER(schedule_lag_p99_us, "{:.1f}")},
      {"server_user_s", CMB_NUMBER(server_user_s, "{:.3f}")},
      {"server_system_s", CMB_NUMBER(server_system_s, "{:.3f}")},
      {"server_cpu_us_per_request", CMB_NUMBER(server_cpu_us_per_request, "{:.2f}")},
      {"server_syscalls_per_request", CMB_OPTIONAL_NUMBER(server_syscalls_per_request, "{:.3f}")},
  };
}

std::vector<Column> cpu_kind_columns() {
  std::vector<Column> columns;
  for (size_t kind = 0; kind < cpu_kinds().size(); ++kind)
    columns.push_back({cpu_kind_column(cpu_kinds()[kind].name),
                       [kind](const ResultRow& r) {
                         return kind < r.cpu_us_by_kind.size() && r.cpu_us_by_kind[kind]
                                    ? fmt::format("{:.2f}", *r.cpu_us_by_kind[kind])
                                    : std::string();
                       },
                       [kind](ResultRow& r, const std::string& text) {
                         r.cpu_us_by_kind.resize(std::max(r.cpu_us_by_kind.size(), kind + 1));
                         parse_field(r.cpu_us_by_kind[kind], text);
                       }});
  return columns;
}

// The server's process tree, the load generator's CPU, TCP's counters and
// the server's own counts.
std::vector<Column> server_columns() {
  return {
      {"server_rss_max_kb", CMB_NUMBER(server_rss_max_kb, "{}")},
      {"server_threads_max", CMB_NUMBER(server_threads_max, "{}")},
      {"server_processes_max", CMB_NUMBER(server_processes_max, "{}")},
      {"server_ctx_voluntary", CMB_NUMBER(server_ctx_voluntary, "{}")},
      {"server_ctx_involuntary", CMB_NUMBER(server_ctx_involuntary, "{}")},
      {"loadgen_cpu_s", CMB_NUMBER(loadgen_cpu_s, "{:.3f}")},
      {"loadgen_max_thread_busy", CMB_NUMBER(loadgen_max_thread_busy, "{:.3f}")},
      {"listen_overflows", CMB_NUMBER(listen_overflows, "{}")},
      {"listen_drops", CMB_NUMBER(listen_drops, "{}")},
      {"tcp_retransmits", CMB_NUMBER(tcp_retransmits, "{}")},
      {"tcp_resets", CMB_NUMBER(tcp_resets, "{}")},
      {"server_requests", CMB_OPTIONAL(server_requests)},
      {"server_refused", CMB_OPTIONAL(server_refused)},
      {"server_timed_out", CMB_OPTIONAL(server_timed_out)},
      {"server_rejected", CMB_OPTIONAL(server_rejected)},
      {"server_accepts_per_thread", CMB_OPTIONAL_TEXT(server_accepts_per_thread)},
  };
}

std::vector<Column> stage_columns() {
  std::vector<Column> columns;
  for (size_t stage = 0; stage < servers::kStages; ++stage) {
    columns.push_back(stage_figure_column(stage, "mean", &ResultRow::StageFigures::mean_us));
    columns.push_back(stage_figure_column(stage, "p99", &ResultRow::StageFigures::p99_us));
  }
  return columns;
}

// What the stages leave, the work waiting as the window closed, and the
// row's notes: where its files are, its warnings, its error.
std::vector<Column> closing_columns() {
  return {
      {"unaccounted_mean_us", CMB_OPTIONAL_NUMBER(unaccounted_mean_us, "{:.1f}")},
      {"inbound_waiting", CMB_OPTIONAL(inbound_waiting)},
      {"inbound_waiting_age_mean_us", CMB_OPTIONAL_NUMBER(inbound_waiting_age_mean_us, "{:.1f}")},
      {"queued_waiting", CMB_OPTIONAL(queued_waiting)},
      {"queued_waiting_age_mean_us", CMB_OPTIONAL_NUMBER(queued_waiting_age_mean_us, "{:.1f}")},
      {"uring_setup", CMB_TEXT(uring_setup)},
      {"load_hosts", CMB_TEXT(load_hosts)},
      {"artifacts", CMB_TEXT(artifacts)},
      {"warnings", CMB_TEXT(warnings)},
      {"error", CMB_TEXT(error)},
  };
}

// Every column in order: the fixed ones, and those generated from the error
// causes, the CPU kinds and the stages.
std::vector<Column> make_columns() {
  std::vector<Column> columns;
  for (std::vector<Column> part :
       {point_columns(), error_cause_columns(), latency_columns(), cpu_kind_columns(),
        server_columns(), stage_columns(), closing_columns()})
    std::move(part.begin(), part.end(), std::back_inserter(columns));
  return columns;
}
#undef CMB_READ
#undef CMB_TEXT
#undef CMB_NUMBER
#undef CMB_OPTIONAL
#undef CMB_OPTIONAL_NUMBER
#undef CMB_OPTIONAL_TEXT

// The schema: every column, in order, with how it is written. results/README.md
// documents each (a test checks).
const std::vector<Column>& columns() {
  static const std::vector<Column> all = make_columns();
  return all;
}

std::vector<std::string_view> column_names() {
  std::vector<std::string_view> names;
  for (const auto& column : columns()) names.push_back(column.name);
  return names;
}

std::string header_line() { return fmt::format("{}\n", fmt::join(column_names(), ",")); }

}  // namespace

std::string error_column(std::string_view cause) { return fmt::format("errors_{}", cause); }

std::string stage_column(std::string_view stage, std::string_view figure) {
  return fmt::format("{}_{}_us", stage, figure);
}

std::vector<std::string_view> csv_text_columns() {
  std::vector<std::string_view> names;
  for (const auto& column : columns())
    if (column.text) names.push_back(column.name);
  return names;
}

std::vector<std::string> error_columns() {
  std::vector<std::string> names;
  for (const auto& cause : loadgen::kErrorCauses) names.push_back(error_column(cause.name));
  return names;
}

std::span<const std::string_view> csv_columns() {
  static const std::vector<std::string_view> names = column_names();
  return names;
}

std::string format_csv_row(const ResultRow& row) {
  std::string line;
  for (const auto& column : columns()) {
    if (&column != &columns().front()) line += ',';
    line += column.format(row);
  }
  return line + "\n";
}

std::vector<ResultRow> read_result_rows(const std::string& path) {
  const CsvTable table = read_csv_table(path);
  // A point's identity and what the summary needs; any other column a file
  // from before it lacks stays at its default (PointId's for the identity).
  std::vector<std::string> required = {
      "model", "workload", "connections",    "rate",           "duration_s",
      "rps",   "requests", "latency_p50_us", "latency_p99_us", "error"};
  for (const auto& cause : loadgen::kErrorCauses) required.push_back(error_column(cause.name));
  for (const auto& name : required)
    if (table.column(name) < 0)
      throw std::runtime_error(fmt::format("{} has no '{}' column", path, name));
  std::vector<std::pair<const Column*, size_t>> present;
  for (const auto& column : columns())
    if (const int at = table.column(column.name); at >= 0)
      present.emplace_back(&column, static_cast<size_t>(at));
  std::vector<ResultRow> rows;
  for (const auto& fields : table.rows) {
    ResultRow row;
    try {
      for (const auto& [column, at] : present) column->read(row, fields[at]);
    } catch (const std::logic_error&) {
      throw std::runtime_error(fmt::format("{}: a row has a figure that does not parse", path));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

CsvWriter::CsvWriter(const std::string& path) : path_(path) {
  const std::filesystem::path file(path);
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  std::string existing_header;
  {
    std::ifstream in(path);
    std::getline(in, existing_header);
    if (!existing_header.empty() && existing_header.back() == '\r') existing_header.pop_back();
  }
  fd_.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd_) throw std::system_error(errno, std::generic_category(), "open " + path);
  const std::string header = header_line();
  if (existing_header.empty()) {
    write_all(header);
  } else if (existing_header + "\n" != header) {
    throw std::runtime_error(
        fmt::format("{} already holds results with other columns; choose another --out", path));
  }
}

void CsvWriter::write(const ResultRow& row) { write_all(format_csv_row(row)); }

void CsvWriter::write_all(std::string_view text) {
  // One write for the whole line: with O_APPEND it lands whole, even if the
  // harness is killed right after.
  const ssize_t n =
      net::retry_on_eintr([&] { return ::write(fd_.get(), text.data(), text.size()); });
  if (n != static_cast<ssize_t>(text.size()))
    throw std::system_error(errno, std::generic_category(), "write " + path_);
}

}  // namespace cmb::harness
