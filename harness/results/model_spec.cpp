#include "harness/results/model_spec.hpp"

#include <fmt/format.h>

#include <charconv>
#include <stdexcept>

namespace cmb::harness {

std::string ModelSpec::without_build() const {
  std::string text = name;
  if (!setup.empty()) text += "+" + setup;
  if (threads) text += fmt::format(":{}", *threads);
  return text;
}

std::string ModelSpec::text() const {
  return build.empty() ? without_build() : without_build() + "@" + build;
}

ModelSpec parse_model_spec(std::string_view text) {
  const auto bad = [text](const char* why) {
    return std::invalid_argument(fmt::format(
        "model '{}': {} (NAME[+SETUP][:THREADS][@BUILD], e.g. thread-pool:32)", text, why));
  };
  ModelSpec spec;
  std::string_view rest = text;
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    spec.build = rest.substr(at + 1);
    if (spec.build.empty()) throw bad("nothing after '@'");
    rest = rest.substr(0, at);
  }
  if (const size_t colon = rest.find(':'); colon != std::string_view::npos) {
    const std::string_view digits = rest.substr(colon + 1);
    int threads = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), threads);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || threads < 0)
      throw bad("THREADS must be a whole number");
    spec.threads = threads;
    rest = rest.substr(0, colon);
  }
  if (const size_t plus = rest.find('+'); plus != std::string_view::npos) {
    spec.setup = rest.substr(plus + 1);
    if (spec.setup.empty()) throw bad("nothing after '+'");
    rest = rest.substr(0, plus);
  }
  if (rest.empty()) throw bad("no name");
  spec.name = rest;
  return spec;
}

}  // namespace cmb::harness
