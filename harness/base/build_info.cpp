#include "harness/base/build_info.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/utsname.h>

#include <CLI/Version.hpp>
#include <boost/version.hpp>
#include <nlohmann/json.hpp>

#include "net/uring.hpp"

#ifndef CMB_VERSION
#define CMB_VERSION "unknown"
#endif
#ifndef CMB_COMPILER
#define CMB_COMPILER "unknown"
#endif
#ifndef CMB_LIBURING_VERSION
#define CMB_LIBURING_VERSION "unknown"
#endif

namespace cmb::harness {

extern const char* const kGitCommit;  // build_commit.cpp, generated at build time

BuildInfo build_info() {
  BuildInfo info;
  info.version = CMB_VERSION;
  info.commit = kGitCommit;
  info.compiler = CMB_COMPILER;
  // liburing 2.3 has no version macro: the build asks pkg-config.
  info.libraries = {
      {"liburing", CMB_LIBURING_VERSION},
      {"Boost", fmt::format("{}.{}.{}", BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000,
                            BOOST_VERSION % 100)},
      {"fmt",
       fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100)},
      {"CLI11", CLI11_VERSION},
      {"nlohmann-json", fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR,
                                    NLOHMANN_JSON_VERSION_MINOR, NLOHMANN_JSON_VERSION_PATCH)}};
  utsname name{};
  ::uname(&name);
  info.kernel = fmt::format("{} {} {}", name.sysname, name.release, name.version);
  info.io_uring_unavailable = net::uring_unavailable_reason();
  info.io_uring_features = net::uring_features();
  return info;
}

std::string version_text(const BuildInfo& info) {
  std::string text = fmt::format("cmbench {} (commit {})\ncompiler: {}\nlibraries:", info.version,
                                 info.commit, info.compiler);
  for (size_t i = 0; i < info.libraries.size(); ++i)
    text += fmt::format("{} {} {}", i == 0 ? "" : ",", info.libraries[i].first,
                        info.libraries[i].second);
  text +=
      fmt::format("\nkernel: {}\nio_uring: {}\n", info.kernel,
                  info.io_uring_unavailable.empty() ? "the io-uring model and load engine run here"
                                                    : "unavailable: " + info.io_uring_unavailable);
  if (!info.io_uring_features.empty())
    text += fmt::format("io_uring features: {}\n", fmt::join(info.io_uring_features, " "));
  return text;
}

}  // namespace cmb::harness
