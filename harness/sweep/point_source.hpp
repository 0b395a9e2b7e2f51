// The points a sweep measures, one at a time behind one next/take: the
// grid's planned points, or with --search each planned point's search
// choosing its rates from the rows it is given.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "harness/results/row.hpp"
#include "harness/sweep/config.hpp"

namespace cmb::harness {

class PointSource {
 public:
  virtual ~PointSource() = default;
  // The next point to measure; nothing when the sweep has measured all.
  virtual std::optional<PointId> next() = 0;
  // The row measured for next()'s point, before it is written: a search
  // stamps its step on it and decides its next rate from it.
  virtual void take(ResultRow& row) = 0;
  // For the progress line: where the sweep is, and the seconds left at
  // the pace so far (-1 when unknown, as for a search).
  virtual std::string where() const = 0;
  virtual double seconds_left(double elapsed_s) const = 0;

  // What the banner says: the points (or searches) planned, and how many
  // of them an earlier run's CSV holds already (--resume).
  size_t planned() const { return planned_; }
  size_t already() const { return already_; }
  virtual bool searches() const = 0;

 protected:
  size_t planned_ = 0;
  size_t already_ = 0;
};

// Reads config.out's rows with --resume, so before the CSV is opened.
std::unique_ptr<PointSource> point_source(const SweepConfig& config);

}  // namespace cmb::harness
