// cmbench(1), written from the command line's own definition: every
// subcommand with its flags, their descriptions and defaults, so the man
// page cannot drift from `--help`. The build runs `cmbench --man`.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace cmb::harness {

// The page in man(7) roff. `version` goes in the page's header.
std::string man_page(const CLI::App& app, const std::string& version);

}  // namespace cmb::harness
