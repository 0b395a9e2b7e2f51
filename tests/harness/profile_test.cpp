// Where the CPU goes (run --profile): perf's stacks folded and classified
// by the kinds' table, then a profiled sweep whose kinds add up to its CPU
// per request and whose points get their stacks and flame graph.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness/results/cpu_kinds.hpp"
#include "harness/sweep/profiler.hpp"
#include "support/model_server.hpp"
#include "support/process.hpp"
#include "support/results_csv.hpp"

namespace cmb::harness {
namespace {

size_t kind_index(std::string_view name) {
  for (size_t i = 0; i < cpu_kinds().size(); ++i)
    if (cpu_kinds()[i].name == name) return i;
  ADD_FAILURE() << "no kind " << name;
  return 0;
}

// A sample's kind is that of the first frame from the leaf up that a
// pattern matches: a copy inside the TCP stack is the stack's, a send's
// entry is the syscall's, and a frame nothing matches is other.
TEST(CpuKinds, AStackIsItsFirstMatchingFrameFromTheLeaf) {
  EXPECT_EQ(classify_stack({"copy_user_generic", "tcp_sendmsg_locked", "do_syscall_64",
                            "cmb::servers::flush_nonblocking"}),
            kind_index("tcp"));
  EXPECT_EQ(classify_stack({"do_syscall_64", "entry_SYSCALL_64_after_hwframe", "__libc_send"}),
            kind_index("syscall"));
  EXPECT_EQ(
      classify_stack({"finish_task_switch.isra.0", "__schedule", "schedule", "do_epoll_wait"}),
      kind_index("scheduler"));
  EXPECT_EQ(classify_stack({"memchr", "cmb::net::RequestParser::parse", "cmb::servers::Session"}),
            kind_index("parsing"));
  EXPECT_EQ(classify_stack({"cmb::servers::burn_cpu"}), kind_index("handler"));
  EXPECT_EQ(classify_stack({"_int_malloc", "malloc", "cmb::servers::x"}), kind_index("alloc"));
  EXPECT_EQ(classify_stack({"futex_wait", "__schedule"}), kind_index("locks"));
  EXPECT_EQ(classify_stack({"_PyEval_EvalFrameDefault"}), kind_index("other"));
  EXPECT_EQ(cpu_kinds().back().name, "other");
  EXPECT_EQ(cpu_kind_column("tcp"), "cpu_tcp_us_per_request");
}

// perf script's samples, leaf first, become folded stacks root first, one
// line per stack with its count (a command's name may hold spaces), and
// the counts by kind; the processes left out (idle) count nowhere.
TEST(CpuKinds, PerfScriptIsFoldedRootFirst) {
  const std::string script =
      "cmbench 1310 \n"
      "\tffffffff82065a60 tcp_sendmsg_locked\n"
      "\t          10aba4 __libc_send (inlined)\n"
      "\t           cd198 cmb::servers::flush_nonblocking\n"
      "\tffffffffffffffff [unknown]\n"
      "\n"
      "swapper 0 \n"
      "\tffffffff82000000 default_idle\n"
      "\n"
      "cmbench 1310 \n"
      "\tffffffff82065a60 tcp_sendmsg_locked\n"
      "\t          10aba4 __libc_send (inlined)\n"
      "\t           cd198 cmb::servers::flush_nonblocking\n"
      "\tffffffffffffffff [unknown]\n"
      "\n"
      "Web Content 77 \n"
      "\t          5a1b2c _PyEval_EvalFrameDefault\n"
      "\n";
  const FoldedStacks folded =
      fold_perf_script(script, [](pid_t pid, const std::string&) { return pid != 0; });
  EXPECT_EQ(folded.text,
            "Web Content;_PyEval_EvalFrameDefault 1\n"
            "cmbench;cmb::servers::flush_nonblocking;__libc_send;tcp_sendmsg_locked 2\n");
  EXPECT_EQ(folded.profile.samples, 3u);
  EXPECT_EQ(folded.profile.interpreter, "");  // mostly cmbench's own frames
  EXPECT_EQ(folded.profile.by_kind[kind_index("tcp")], 2u);
  EXPECT_EQ(folded.profile.by_kind[kind_index("other")], 1u);
}

// A server whose samples are mostly an interpreter's is named for it: its
// frames are the interpreter's, not the server's code.
TEST(CpuKinds, AnInterpretersProfileSaysSo) {
  const FoldedStacks folded = fold_perf_script(
      "python3 4242 \n\t5a1b2c _PyEval_EvalFrameDefault\n\npython3 4242 \n\t5a1b2c "
      "_PyEval_EvalFrameDefault\n\ncmbench 1310 \n\tffffffff82065a60 tcp_sendmsg_locked\n\n");
  EXPECT_EQ(folded.profile.interpreter, "python3");
  EXPECT_NE(interpreter_warning(folded.profile).find("python3's interpreter's"), std::string::npos);
}

// A profiled sweep: each point's kinds add up to its CPU per request (they
// split it), and its stacks and flame graph lie beside its histogram.
TEST(Profile, KindsAddUpToTheCpuPerRequestAndEachPointHasItsFlameGraph) {
  if (const std::string why = Profiler::unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  const auto csv = std::filesystem::temp_directory_path() / "cmbench-profile.csv";
  std::filesystem::remove(csv);
  const auto result = cmb::testing::run_cmbench(
      {"run", "--models", "epoll,thread-per-connection", "--connections", "8", "--workload", "",
       "-d", "1s", "--warmup", "200ms", "--profile", "--no-plots", "--out", csv.string()});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  const auto rows = cmb::testing::read_result_rows(csv.string());
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& row : rows) {
    double sum = 0;
    for (const auto& kind : cpu_kinds()) {
      const std::string cell = row.at(cpu_kind_column(kind.name));
      ASSERT_NE(cell, "") << row.at("model") << " " << kind.name;
      sum += std::stod(cell);
    }
    const double cpu = std::stod(row.at("server_cpu_us_per_request"));
    EXPECT_NEAR(sum, cpu, 0.05 * cpu + 0.02) << row.at("model");
    EXPECT_GT(std::stod(row.at("cpu_tcp_us_per_request")), 0) << "a request crosses the stack";
    const auto prefix = csv.parent_path() / row.at("artifacts");
    // Stacks of the server's process, each "cmbench;..." (a thread that
    // exits mid-sample may have lost its name: perf calls it ":TID").
    std::ifstream folded(prefix.string() + ".folded");
    int ours = 0;
    for (std::string line; std::getline(folded, line);) ours += line.rfind("cmbench;", 0) == 0;
    EXPECT_GT(ours, 0) << prefix;
    if (!Profiler::flame_graph_template().empty()) {
      std::ifstream page(prefix.string() + ".flame.html");
      std::stringstream text;
      text << page.rdbuf();
      EXPECT_NE(text.str().find("tcp_sendmsg"), std::string::npos) << prefix;
    }
  }
}

// Where perf cannot run (here: none on PATH) a profiled sweep says why
// once, before its first point, and measures as usual with the columns
// empty.
TEST(Profile, WithoutPerfTheRunSaysWhyAndMeasures) {
  const auto csv = std::filesystem::temp_directory_path() / "cmbench-profile-no-perf.csv";
  std::filesystem::remove(csv);
  const auto result =
      cmb::testing::Child({"/usr/bin/env", "PATH=/nonexistent", CMBENCH_BIN, "run", "--models",
                           "epoll", "--connections", "2", "--workload", "", "-d", "300ms",
                           "--warmup", "100ms", "--profile", "--no-plots", "--out", csv.string()})
          .wait(std::chrono::seconds(60));
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.err.find("warning: --profile: perf is not installed"), std::string::npos)
      << result.err;
  const auto rows = cmb::testing::read_result_rows(csv.string());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_NE(rows[0].at("rps"), "");
  EXPECT_EQ(rows[0].at(cpu_kind_column("tcp")), "");
}

// `load --profile --server-pid` for a server started by hand: the kinds
// printed in its JSON add up to the server's CPU per request, and the
// stacks are written where it was told.
TEST(Profile, LoadProfilesAServerStartedByHand) {
  if (const std::string why = Profiler::unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  cmb::testing::ModelServer server("epoll");
  ASSERT_NE(server.port(), 0);
  const auto prefix = std::filesystem::temp_directory_path() / "cmbench-load-profile";
  const auto result = cmb::testing::run_cmbench(
      {"load", "http://127.0.0.1:" + std::to_string(server.port()) + "/", "-c", "4", "-d", "1s",
       "--warmup", "200ms", "--json", "--server-pid", std::to_string(server.pid()), "--profile",
       prefix.string()});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  const auto json = nlohmann::json::parse(result.out);
  ASSERT_TRUE(json.contains("server_cpu_us_by_kind")) << result.out;
  double sum = 0;
  for (const auto& kind : cpu_kinds())
    sum += json["server_cpu_us_by_kind"][std::string(kind.name)].get<double>();
  EXPECT_GT(sum, 0);
  EXPECT_TRUE(std::filesystem::exists(prefix.string() + ".folded"));
  const auto unnamed =
      cmb::testing::run_cmbench({"load", "http://127.0.0.1:" + std::to_string(server.port()) + "/",
                                 "-d", "200ms", "--profile", prefix.string()});
  EXPECT_EQ(unnamed.exit_code, 2) << unnamed.err;
  EXPECT_NE(unnamed.err.find("--profile needs --server-pid"), std::string::npos) << unnamed.err;
}

}  // namespace
}  // namespace cmb::harness
