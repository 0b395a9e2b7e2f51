#include "harness/sweep/point_source.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include "harness/results/schema.hpp"
#include "harness/results/search.hpp"
#include "harness/sweep/plan.hpp"

namespace cmb::harness {
namespace {

// The grid's points in plan order, less those an earlier run measured.
class GridSource final : public PointSource {
 public:
  explicit GridSource(const SweepConfig& config) {
    const std::set<PointId> done =
        config.resume ? measured_points(config.out) : std::set<PointId>();
    points_ = plan_points(config, done);
    planned_ = points_.size();
    already_ = done.size();
  }

  std::optional<PointId> next() override {
    if (next_ == points_.size()) return std::nullopt;
    return points_[next_++];
  }
  void take(ResultRow& /*row*/) override {}
  std::string where() const override { return fmt::format("{}/{}", next_, points_.size()); }
  double seconds_left(double elapsed_s) const override {
    return elapsed_s / static_cast<double>(next_) * static_cast<double>(points_.size() - next_);
  }
  bool searches() const override { return false; }

 private:
  std::vector<PointId> points_;
  size_t next_ = 0;  // points given so far
};

// Each planned point is a search's closed-loop probe; the search chooses
// the rest. A row an earlier run wrote for the point the search asks for
// is taken as it stands (--resume). Says each search's outcome as it ends.
class SearchSource final : public PointSource {
 public:
  explicit SearchSource(const SweepConfig& config)
      : settings_{config.slo_p99_ms, config.search_resolution},
        points_(plan_points(config, {})),
        finder_(settings_) {
    if (config.resume && std::filesystem::exists(config.out))
      for (auto& row : read_result_rows(config.out))
        if (row.search_step) earlier_.emplace(static_cast<const PointId&>(row), std::move(row));
    planned_ = points_.size();
    already_ = earlier_.size();
  }

  std::optional<PointId> next() override {
    while (index_ < points_.size()) {
      while (const std::optional<SearchProbe> probe = finder_.next()) {
        PointId point = points_[index_];
        point.rate = probe->rate;
        point.repetition = probe->repetition;
        step_ = probe->step;
        if (const auto found = earlier_.find(point); found != earlier_.end()) {
          finder_.take(found->second);
          continue;
        }
        return point;
      }
      fmt::print("  {} c={}: {}\n", points_[index_].model, points_[index_].connections,
                 describe_search(finder_.outcome()));
      ++index_;
      finder_ = RateSearch(settings_);
    }
    return std::nullopt;
  }
  void take(ResultRow& row) override {
    row.search_step = step_;
    finder_.take(row);
  }
  std::string where() const override {
    return fmt::format("{}/{} step {}", index_ + 1, points_.size(), step_);
  }
  double seconds_left(double /*elapsed_s*/) const override { return -1; }
  bool searches() const override { return true; }

 private:
  SearchSettings settings_;
  std::vector<PointId> points_;
  std::map<PointId, ResultRow> earlier_;
  size_t index_ = 0;  // the search under way
  RateSearch finder_;
  int step_ = 0;  // of the point next() gave
};

}  // namespace

std::unique_ptr<PointSource> point_source(const SweepConfig& config) {
  if (config.search.empty()) return std::make_unique<GridSource>(config);
  return std::make_unique<SearchSource>(config);
}

}  // namespace cmb::harness
