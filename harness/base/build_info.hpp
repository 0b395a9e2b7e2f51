// What this cmbench is and what it runs on: the version, the commit and
// compiler it was built from, the libraries it was built against, and the
// io_uring features this kernel offers. `cmbench --version` prints it and
// every run's manifest records it.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace cmb::harness {

struct BuildInfo {
  std::string version;  // the project's, from CMakeLists.txt
  std::string commit;   // git describe of the source tree at build time, or "unknown"
  std::string compiler;
  std::vector<std::pair<std::string, std::string>> libraries;  // name, version
  std::string kernel;                                          // uname: release and version
  // Empty when the io-uring model and engine run here; otherwise why not.
  std::string io_uring_unavailable;
  std::vector<std::string> io_uring_features;  // what the kernel's ring reports
};

// Probes the kernel once per call (cheap: one small ring).
BuildInfo build_info();

// The text of `cmbench --version`: the first line is "cmbench VERSION
// (commit C)", as `wrk --version` and `git --version` lead with theirs.
std::string version_text(const BuildInfo& info);

}  // namespace cmb::harness
