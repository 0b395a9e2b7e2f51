// `cmbench lab up|down`: flags for harness/hosts/lab.hpp; and `cmbench clock`,
// which a harness on another host reads this host's clock with.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "harness/base/exit_codes.hpp"
#include "harness/cli/subcommands.hpp"
#include "harness/hosts/lab.hpp"

namespace cmb::harness {

void add_lab(CLI::App& app, const ExitCode& exit_code) {
  auto* lab = app.add_subcommand(
      "lab", "a testbed of hosts on this machine: network namespaces on a bridge (root only)");
  lab->require_subcommand(1);
  auto o = std::make_shared<LabOptions>();
  auto* up = lab->add_subcommand(
      "up", "make (or remake) the lab and print the hosts and flags for `cmbench run`");
  up->add_option("--load-hosts", o->load_hosts, "how many load hosts")
      ->capture_default_str()
      ->check(CLI::Range(1, kMaxLabLoadHosts));
  up->add_option("--prefix", o->prefix, "the namespaces are PREFIX-server, PREFIX-load1, ...")
      ->capture_default_str();
  up->add_option("--link", o->link_rate,
                 "shape every link to this rate each way with tbf (tc's units: 100mbit, 1gbit)");
  up->callback([o, exit_code] { *exit_code = lab_up_command(*o); });
  auto* down = lab->add_subcommand(
      "down", "end every process in the lab and delete its namespaces (nothing there: no-op)");
  down->add_option("--prefix", o->prefix, "the lab's prefix, as given to up")
      ->capture_default_str();
  down->callback([o, exit_code] { *exit_code = lab_down_command(o->prefix); });
}

// For a harness measuring this host's clock against its own: each line
// read is answered with the wall clock, in ns since the epoch.
void add_clock(CLI::App& app, const ExitCode& exit_code) {
  app.add_subcommand("clock", "answer each line on stdin with the wall clock (ns since the epoch)")
      ->group("")
      ->callback([exit_code] {
        for (std::string line; std::getline(std::cin, line);) {
          const auto now = std::chrono::system_clock::now().time_since_epoch();
          fmt::print("{}\n", std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
          std::fflush(stdout);
        }
        *exit_code = kExitOk;
      });
}

}  // namespace cmb::harness
