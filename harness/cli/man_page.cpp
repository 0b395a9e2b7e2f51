#include "harness/cli/man_page.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>

namespace cmb::harness {
namespace {

// Text as roff reads it: backslashes escaped, and a line that would start
// with a control character protected.
std::string roff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
    if (c == '\n') out += "\\&";
  }
  return (out.starts_with(".") || out.starts_with("'")) ? "\\&" + out : out;
}

std::string option_entry(const CLI::Option& option) {
  std::string names;
  const auto add = [&](const std::string& name) {
    names += fmt::format("{}\\fB{}\\fR", names.empty() ? "" : ", ", roff(name));
  };
  if (option.get_positional()) {
    names = fmt::format("\\fI{}\\fR", roff(option.get_name(true)));
  } else {
    for (const auto& name : option.get_snames()) add("-" + name);
    for (const auto& name : option.get_lnames()) add("--" + name);
  }
  if (!option.get_positional() && option.get_items_expected_max() > 0)
    names += fmt::format(" \\fI{}\\fR", roff(option.get_type_name()));
  std::string text = roff(option.get_description());
  if (!option.get_default_str().empty())
    text += fmt::format(" (default: {})", roff(option.get_default_str()));
  return fmt::format(".TP\n{}\n{}\n", names, text);
}

// Positionals first, as a synopsis reads; options in the order they were
// declared. Hidden ones (no group) stay hidden; --help is said once, at the top.
std::string options_of(const CLI::App& app, bool with_help) {
  std::string out;
  for (const bool positional : {true, false})
    for (const CLI::Option* option : app.get_options()) {
      const bool help = option == app.get_help_ptr();
      if (!option->get_group().empty() && option->get_positional() == positional &&
          (with_help || !help))
        out += option_entry(*option);
    }
  return out;
}

}  // namespace

std::string man_page(const CLI::App& app, const std::string& version) {
  std::string page = fmt::format(".TH CMBENCH 1 \"\" \"cmbench {}\" \"User Commands\"\n", version);
  std::string summary = app.get_description();
  if (summary.starts_with("cmbench: ")) summary.erase(0, 9);
  page += fmt::format(".SH NAME\ncmbench \\- {}\n", roff(summary));
  page +=
      ".SH SYNOPSIS\n.B cmbench\n\\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n.br\n"
      ".B cmbench \\-\\-version\n";
  page +=
      ".SH DESCRIPTION\n"
      "One HTTP/1.1 handler served by many interchangeable concurrency models, a load "
      "generator with wrk's and wrk2's flags (closed and open loop, coordinated-omission "
      "correction), and a harness that sweeps models, connections, workloads and rates into "
      "CSV and charts.\n";
  page += ".SH OPTIONS\n" + options_of(app, true);
  page += ".SH COMMANDS\n";
  // A command without a group is internal (clock, for the lab's agents):
  // hidden here as in --help.
  for (const CLI::App* command :
       app.get_subcommands([](const CLI::App* c) { return !c->get_group().empty(); })) {
    page += fmt::format(".SS \"cmbench {}\"\n{}\n", roff(command->get_name()),
                        roff(command->get_description()));
    page += options_of(*command, false);
    // A footer of several lines keeps them as --help shows them (unfilled):
    // a table of checks reads as one. One line is filled like any text.
    const std::string& footer = command->get_footer();
    if (footer.find('\n') != std::string::npos)
      page += fmt::format(".PP\n.nf\n{}\n.fi\n", roff(footer));
    else if (!footer.empty())
      page += fmt::format(".PP\n{}\n", roff(footer));
  }
  page +=
      ".SH FILES\nUnder the prefix cmbench was installed to: \\fI/usr\\fR for the .deb, "
      "\\fI/usr/local\\fR for \\fBcmake \\-\\-install\\fR unless told otherwise.\n.TP\n"
      "\\fI/usr/share/cmbench/scenarios/*.toml\\fR\nthe scenarios `cmbench run NAME` knows; "
      "a file of that name in \\fI./scenarios\\fR comes first\n.TP\n"
      "\\fI/usr/share/cmbench/plots/plot_results.py\\fR\nthe chart script `cmbench run` "
      "calls (needs python3-matplotlib and python3-pandas)\n";
  page +=
      ".SH EXIT STATUS\n0 when the command completed (a load run with errors counted "
      "included); 1 when \\fBcmbench compare\\fR finds a regression (a figure worse, a point "
      "missing or failed), when \\fBcmbench run\\fR wrote an error row for any point (the "
      "sweep still completes and its CSV is whole), or when a \\fBcmbench verify\\fR check "
      "fails; 2 for bad usage; 130 when a run was interrupted.\n";
  page += ".SH SEE ALSO\n\\fBwrk\\fR(1), \\fBab\\fR(1), \\fBh2load\\fR(1)\n";
  return page;
}

}  // namespace cmb::harness
