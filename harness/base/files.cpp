#include "harness/base/files.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>
#include <vector>

#ifndef CMB_SOURCE_DIR
#define CMB_SOURCE_DIR "."
#endif
#ifndef CMB_DATA_FROM_BIN
#define CMB_DATA_FROM_BIN "../share"
#endif

namespace cmb::harness {

namespace fs = std::filesystem;

namespace {
fs::path& given_data_dir() {
  static fs::path dir;
  return dir;
}
}  // namespace

void set_data_dir(fs::path dir) { given_data_dir() = std::move(dir); }

fs::path data_dir() {
  if (!given_data_dir().empty()) return given_data_dir();
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    const fs::path installed =
        (self.parent_path() / CMB_DATA_FROM_BIN / "cmbench").lexically_normal();
    if (fs::is_directory(installed / "scenarios", error)) return installed;
  }
  return CMB_SOURCE_DIR;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error(fmt::format("cannot write {}", temporary));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0)
    throw std::runtime_error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
}

std::string find_scenario(const std::string& name) {
  std::vector<fs::path> candidates;
  if (name.ends_with(".toml")) candidates.push_back(name);
  for (const fs::path& dir : {fs::path("scenarios"), data_dir() / "scenarios"})
    candidates.push_back(dir / (name + ".toml"));
  for (const auto& candidate : candidates)
    if (fs::is_regular_file(candidate)) return candidate.string();
  std::set<std::string> known;
  for (const fs::path& dir : {fs::path("scenarios"), data_dir() / "scenarios"}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".toml") known.insert(entry.path().stem().string());
  }
  throw std::invalid_argument(
      fmt::format("no scenario '{}' (known: {})", name, fmt::join(known, ", ")));
}

}  // namespace cmb::harness
