// Files the harness writes for people and programs to read while it runs.
#pragma once

#include <filesystem>
#include <string>

namespace cmb::harness {

// Writes `text` to `path` through a temporary file and a rename, so a
// reader never sees half a file. Throws std::runtime_error naming the path.
void write_file_atomically(const std::string& path, const std::string& text);

// Where cmbench's own files are (scenarios/, plots/): the folder given to
// set_data_dir, else share/cmbench beside an installed binary, else the
// source tree the binary was built from.
std::filesystem::path data_dir();
// A cmbench built out of tree (cmbench_add_executable) is not beside the
// installed share/cmbench: the package tells it where that is.
void set_data_dir(std::filesystem::path dir);

// The scenario file for a name: NAME.toml as given, else scenarios/NAME.toml
// here or in the source tree. Throws std::invalid_argument listing the known
// scenarios.
std::string find_scenario(const std::string& name);

}  // namespace cmb::harness
