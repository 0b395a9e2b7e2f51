#include "servers/runtimes.hpp"

#include <unistd.h>

#include <filesystem>
#include <string_view>
#include <vector>

#include "servers/external.hpp"

#ifndef CMB_RUNTIMES_SOURCE_DIR
#define CMB_RUNTIMES_SOURCE_DIR "servers/runtimes"
#endif
#ifndef CMB_RUNTIMES_BUILD_DIR
#define CMB_RUNTIMES_BUILD_DIR "runtimes"
#endif
#ifndef CMB_RUNTIMES_FROM_BIN
#define CMB_RUNTIMES_FROM_BIN "../libexec/cmbench/runtimes"
#endif

namespace cmb::servers {
namespace {

namespace fs = std::filesystem;

// One runtime's server: a program built from Go, or a script its
// interpreter runs.
struct RuntimeServer {
  std::string_view interpreter;  // empty: `file` is a program
  std::string_view file;         // under the runtimes directory
  std::string_view missing;      // why it cannot run when `file` is not found
};

constexpr std::string_view kNotBuilt =
    "not built: Go was not found when this cmbench was built (Debian: apt-get install "
    "golang-go, then build again)";

RuntimeServer runtime_server(Runtime runtime) {
  switch (runtime) {
    case Runtime::kGoSeed:
      return {"", "go-seed", kNotBuilt};
    case Runtime::kGoSeedGoroutines:
      return {"", "go-seed-goroutines", kNotBuilt};
    case Runtime::kGoNet:
      return {"", "go-net", kNotBuilt};
    case Runtime::kNode:
      return {"node", "node/server.js", "its server file is missing"};
    case Runtime::kPythonThreads:
      return {"python3", "python/python_threads.py", "its server file is missing"};
    case Runtime::kPythonAsyncio:
      return {"python3", "python/python_asyncio.py", "its server file is missing"};
  }
  return {};
}

// Where an installed cmbench keeps them (beside its binary), then this
// build's tree, then the source tree (the scripts).
std::string find_runtime_file(std::string_view file) {
  std::vector<fs::path> roots;
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (!error) roots.push_back(self.parent_path() / CMB_RUNTIMES_FROM_BIN);
  roots.push_back(CMB_RUNTIMES_BUILD_DIR);
  roots.push_back(CMB_RUNTIMES_SOURCE_DIR);
  for (const auto& root : roots) {
    const fs::path path = (root / file).lexically_normal();
    if (::access(path.c_str(), R_OK) == 0) return path.string();
  }
  return "";
}

}  // namespace

std::string runtime_unavailable_reason(Runtime runtime) {
  const RuntimeServer server = runtime_server(runtime);
  if (server.interpreter == "node" && find_program("node").empty())
    return "Node.js is not installed (Debian: apt-get install nodejs)";
  if (server.interpreter == "python3" && find_program("python3").empty())
    return "Python 3 is not installed (Debian: apt-get install python3)";
  if (find_runtime_file(server.file).empty()) return std::string(server.missing);
  return "";
}

std::unique_ptr<Server> make_runtime_server(Runtime runtime, const ServerConfig& config) {
  const RuntimeServer server = runtime_server(runtime);
  ExternalCommand command;
  if (!server.interpreter.empty())
    command.argv.push_back(find_program(std::string(server.interpreter)));
  command.argv.push_back(find_runtime_file(server.file));
  command.argv.insert(command.argv.end(), {"--host", "{host}", "--port", "{port}", "--timeout-ms",
                                           "{header_timeout_ms}"});
  command.ready_line = "listening on";
  return make_external_server(config, command);
}

}  // namespace cmb::servers
