#include "harness/base/json.hpp"

#include <cmath>

namespace cmb::harness {

Json json_number(double value, int decimals) {
  if (!std::isfinite(value)) return nullptr;
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

}  // namespace cmb::harness
