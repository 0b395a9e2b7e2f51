#include "harness/cli/subcommands.hpp"

#include "loadgen/units.hpp"

namespace cmb::harness {

const CLI::Validator& duration_check() {
  static const CLI::Validator check =
      validator([](const std::string& text) { loadgen::parse_duration(text); }, "DURATION");
  return check;
}

}  // namespace cmb::harness
