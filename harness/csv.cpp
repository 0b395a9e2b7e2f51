#include "harness/csv.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace cmb::harness {
namespace {

constexpr std::array<std::string_view, 28> kColumns = {
    "timestamp",
    "model",
    "workload",
    "connections",
    "rate",
    "server_threads",
    "repetition",
    "duration_s",
    "requests",
    "rps",
    "errors_connect",
    "errors_read",
    "errors_write",
    "errors_timeout",
    "errors_status",
    "latency_mean_us",
    "latency_p50_us",
    "latency_p90_us",
    "latency_p99_us",
    "latency_p999_us",
    "latency_max_us",
    "server_user_s",
    "server_system_s",
    "server_cpu_us_per_request",
    "server_rss_max_kb",
    "server_threads_max",
    "loadgen_cpu_s",
    "error",
};

std::string quote(std::string_view field) {
  if (field.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c == '\n' || c == '\r' ? ' ' : c;
  }
  return out + "\"";
}

std::string header_line() { return fmt::format("{}\n", fmt::join(kColumns, ",")); }

}  // namespace

std::span<const std::string_view> csv_columns() { return kColumns; }

std::string format_csv_row(const ResultRow& r) {
  // Same order as kColumns.
  return fmt::format(
      "{},{},{},{},{:g},{},{},{:.3f},{},{:.2f},{},{},{},{},{},{:.1f},{:.1f},{:.1f},{:.1f},{:.1f},"
      "{:.1f},{:.3f},{:.3f},{:.2f},{},{},{:.3f},{}\n",
      quote(r.timestamp), quote(r.model), quote(r.workload), r.connections, r.rate,
      r.server_threads, r.repetition, r.duration_s, r.requests, r.rps, r.errors_connect,
      r.errors_read, r.errors_write, r.errors_timeout, r.errors_status, r.latency_mean_us,
      r.latency_p50_us, r.latency_p90_us, r.latency_p99_us, r.latency_p999_us, r.latency_max_us,
      r.server_user_s, r.server_system_s, r.server_cpu_us_per_request, r.server_rss_max_kb,
      r.server_threads_max, r.loadgen_cpu_s, quote(r.error));
}

CsvWriter::CsvWriter(const std::string& path) : path_(path) {
  const std::filesystem::path file(path);
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  std::string existing_header;
  {
    std::ifstream in(path);
    std::getline(in, existing_header);
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
  // One write for the whole line: O_APPEND makes it land whole or not at all
  // for a line this short, even if the harness is killed right after.
  const ssize_t n =
      net::retry_on_eintr([&] { return ::write(fd_.get(), text.data(), text.size()); });
  if (n != static_cast<ssize_t>(text.size()))
    throw std::system_error(errno, std::generic_category(), "write " + path_);
}

}  // namespace cmb::harness
