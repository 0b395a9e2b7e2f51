// `cmbench merge-hist`: several load generators' histograms added up.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "harness/base/exit_codes.hpp"
#include "harness/base/files.hpp"
#include "harness/cli/subcommands.hpp"
#include "loadgen/hist_file.hpp"
#include "loadgen/hlog.hpp"

namespace cmb::harness {
namespace {

// The lines a total adds up: those tagged `tag`, or with none asked for,
// the untagged and `corrected` ones (a closed loop's and an open loop's
// latency), never `uncorrected`, which counts the same requests again.
bool wanted(const loadgen::HlogInterval& interval, const std::string& tag) {
  return tag.empty() ? interval.tag.empty() || interval.tag == "corrected" : interval.tag == tag;
}

int merge_hist_command(const std::vector<std::string>& inputs, const std::string& output,
                       const std::string& tag) {
  const bool to_log = output.ends_with(".hlog");
  loadgen::LatencyHistogram total;
  // (tag, interval start in wall-clock ms) -> the interval, for an .hlog output.
  std::map<std::pair<std::string, int64_t>, loadgen::HlogInterval> intervals;
  double start_epoch_s = 0;
  for (const auto& path : inputs) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    try {
      if (!loadgen::looks_like_interval_log(text.str())) {
        if (to_log)
          throw std::runtime_error("a --hist file has no intervals to merge into an .hlog");
        total.merge(loadgen::parse_histogram_file(text.str()));
        continue;
      }
      const loadgen::HlogFile log = loadgen::parse_interval_log(text.str());
      if (start_epoch_s == 0 || (log.start_epoch_s > 0 && log.start_epoch_s < start_epoch_s))
        start_epoch_s = log.start_epoch_s;
      for (const auto& interval : log.intervals) {
        if (!to_log) {
          if (wanted(interval, tag)) total.merge(interval.histogram);
          continue;
        }
        const auto ms =
            static_cast<int64_t>(std::llround((log.start_epoch_s + interval.start_s) * 1000.0));
        auto [at, fresh] = intervals.try_emplace({interval.tag, ms}, interval);
        if (!fresh) {
          at->second.histogram.merge(interval.histogram);
          at->second.length_s = std::max(at->second.length_s, interval.length_s);
        }
      }
    } catch (const std::runtime_error& e) {
      throw UsageError(fmt::format("{}: {}", path, e.what()));
    }
  }
  std::string text;
  if (to_log) {
    loadgen::HlogFile merged;
    merged.start_epoch_s = start_epoch_s;
    for (auto& [key, interval] : intervals) {
      interval.start_s = static_cast<double>(key.second) / 1000.0 - start_epoch_s;
      merged.intervals.push_back(std::move(interval));
    }
    std::stable_sort(merged.intervals.begin(), merged.intervals.end(),
                     [](const auto& a, const auto& b) { return a.start_s < b.start_s; });
    text = loadgen::format_interval_log(merged);
  } else {
    text = loadgen::format_histogram_file(total);
  }
  if (output.empty()) {
    fmt::print("{}", text);
  } else {
    write_file_atomically(output, text);
  }
  return kExitOk;
}

}  // namespace

void add_merge_hist(CLI::App& app, const ExitCode& exit_code) {
  auto* merge = app.add_subcommand(
      "merge-hist", "add up --hist files or .hlog interval logs from several load generators");
  struct Options {
    std::vector<std::string> inputs;
    std::string output, tag;
  };
  auto o = std::make_shared<Options>();
  merge
      ->add_option("files", o->inputs,
                   "files written by `cmbench load --hist` or `--hlog` (or any HdrHistogram "
                   "interval log of nanoseconds)")
      ->required()
      ->check(CLI::ExistingFile);
  merge->add_option("-o,--out", o->output,
                    "write the merged file here (default: stdout); *.hlog: an interval log whose "
                    "intervals add those starting at the same instant");
  merge->add_option("--tag", o->tag,
                    "interval logs: the tag of the lines to add up into a --hist total (default: "
                    "untagged and corrected)");
  merge->callback(
      [o, exit_code] { *exit_code = merge_hist_command(o->inputs, o->output, o->tag); });
}

}  // namespace cmb::harness
