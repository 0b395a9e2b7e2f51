// Host specs, the commands that reach them, and the lab of network
// namespaces (the lab's own tests run as root and skip otherwise).
#include "harness/hosts/hosts.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "harness/base/subprocess.hpp"
#include "harness/hosts/lab.hpp"
#include "harness/results/csv.hpp"
#include "harness/results/schema.hpp"
#include "net/fd.hpp"
#include "support/process.hpp"

namespace {

using namespace std::chrono_literals;
using cmb::harness::HostSpec;
using cmb::harness::parse_host;
using cmb::testing::Child;
using cmb::testing::run_cmbench;
using Kind = HostSpec::Kind;

TEST(Hosts, SpecsParseAndPrintBack) {
  EXPECT_EQ(parse_host("local").kind, Kind::kLocal);
  const HostSpec netns = parse_host("netns:lab-load1");
  EXPECT_EQ(netns.kind, Kind::kNetns);
  EXPECT_EQ(netns.name, "lab-load1");
  const HostSpec ssh = parse_host("ssh:bob@bench-2:2222");
  EXPECT_EQ(ssh.kind, Kind::kSsh);
  EXPECT_EQ(ssh.user, "bob");
  EXPECT_EQ(ssh.name, "bench-2");
  EXPECT_EQ(ssh.port, 2222);
  for (const char* text : {"local", "netns:x", "ssh:h", "ssh:u@h", "ssh:h:22", "ssh:u@10.0.0.2:22"})
    EXPECT_EQ(parse_host(text).text(), text);
  const auto hosts = cmb::harness::parse_hosts("netns:a,ssh:b,local");
  ASSERT_EQ(hosts.size(), 3u);
  EXPECT_EQ(hosts[1].name, "b");
}

TEST(Hosts, BadSpecsSayWhatIsExpected) {
  for (const char* text : {"", "remote", "netns:", "netns:a/b", "ssh:", "ssh:@h", "ssh:h:0",
                           "ssh:h:65536", "ssh:h:x", "ssh:-oProxyCommand=x", "ssh:a b"}) {
    try {
      parse_host(text);
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  }
}

TEST(Hosts, CommandsReachTheirHost) {
  const std::vector<std::string> command = {"cmbench", "load", "http://h/?a=1&b=2", "it's"};
  EXPECT_EQ(cmb::harness::command_on(parse_host("local"), command), command);
  const auto netns = cmb::harness::command_on(parse_host("netns:n1"), command);
  EXPECT_EQ(std::vector<std::string>(netns.begin(), netns.begin() + 4),
            (std::vector<std::string>{"ip", "netns", "exec", "n1"}));
  const auto ssh = cmb::harness::command_on(parse_host("ssh:u@h:2222"), command);
  ASSERT_GE(ssh.size(), 4u);
  EXPECT_EQ(ssh.front(), "ssh");
  // One line for the remote shell, every argument quoted.
  EXPECT_EQ(ssh.back(), R"('cmbench' 'load' 'http://h/?a=1&b=2' 'it'\''s')");
  EXPECT_EQ(ssh[ssh.size() - 2], "--");
  EXPECT_EQ(ssh[ssh.size() - 3], "h");
  const std::string joined = fmt::format("{}", fmt::join(ssh, " "));
  for (const char* option : {"BatchMode=yes", "ConnectTimeout=5", "-p 2222", "-l u"})
    EXPECT_NE(joined.find(option), std::string::npos) << option << " in " << joined;
}

TEST(Hosts, RunCommandCollectsOutputExitAndTimeout) {
  const auto ok = cmb::harness::run_command({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(ok.exit_code, 3);
  EXPECT_EQ(ok.out, "out\n");
  EXPECT_EQ(ok.err, "err\n");
  EXPECT_NE(ok.describe({"sh"}).find("exit 3: err"), std::string::npos) << ok.describe({"sh"});
  const auto start = std::chrono::steady_clock::now();
  const auto slow = cmb::harness::run_command({"sleep", "10"}, 200ms);
  EXPECT_TRUE(slow.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  const auto missing = cmb::harness::run_command({"cmbench-no-such-program"});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_NE(missing.err.find("cannot run"), std::string::npos);
}

TEST(Hosts, AMissingNamespaceIsNamed) {
  const std::string why = cmb::harness::host_unreachable_reason(parse_host("netns:cmb-never-made"));
  EXPECT_NE(why.find("netns:cmb-never-made: no such network namespace"), std::string::npos) << why;
  EXPECT_EQ(cmb::harness::host_unreachable_reason(parse_host("local")), "");
}

// Cristian's method against our own clock: the offset it finds is within
// half the round trip of the truth, zero.
TEST(Hosts, ClockOffsetIsWithinHalfTheRoundTrip) {
  cmb::harness::HostInfo info;
  cmb::harness::measure_clock(parse_host("local"), info, CMBENCH_BIN);
  ASSERT_EQ(info.error, "");
  EXPECT_GT(info.clock_round_trip_ms, 0);
  EXPECT_LE(std::abs(info.clock_offset_ms), info.clock_round_trip_ms / 2 + 0.01)
      << info.clock_offset_ms << " ms offset, " << info.clock_round_trip_ms << " ms round trip";
}

// Another build on a host is refused, naming both versions.
TEST(Hosts, AnotherBuildThereIsRefusedNamingBoth) {
  cmb::harness::HostInfo info;
  info.spec = "ssh:bench-2";
  info.cmbench_version = "cmbench 0.1.0 (commit 1111111)";
  EXPECT_EQ(cmb::harness::host_problem(info, "cmbench 0.1.0 (commit 1111111)"), "");
  const std::string problem = cmb::harness::host_problem(info, "cmbench 0.1.0 (commit 2222222)");
  for (const char* part : {"ssh:bench-2", "commit 1111111", "commit 2222222", "--push"})
    EXPECT_NE(problem.find(part), std::string::npos) << part << " in " << problem;
  info.error = "ssh: connect to host bench-2 port 22: Connection refused";
  EXPECT_EQ(cmb::harness::host_problem(info, "x"), "ssh:bench-2: " + info.error);
}

// Half a round trip over 1 ms is warned of, naming the host and the bound.
TEST(Hosts, AClockKnownOnlyLooselyIsWarnedOf) {
  cmb::harness::HostInfo info;
  info.spec = "ssh:far-away";
  info.clock_round_trip_ms = 1.9;
  EXPECT_EQ(cmb::harness::clock_warning(info), "");
  info.clock_round_trip_ms = 3.0;
  info.clock_offset_ms = -0.4;
  EXPECT_EQ(cmb::harness::clock_warning(info),
            "ssh:far-away's clock is known to within 1.5 ms only (offset -0.4 ms): the agents' "
            "seconds may not line up that closely");
}

// An A/B of builds needs them on the server's disk: over ssh it would run
// that host's one cmbench under both labels, so it is refused before any
// host is asked.
TEST(Hosts, BuildsAgainstAnSshServerAreAUsageError) {
  const auto result =
      run_cmbench({"run", "--models", "epoll", "--binary", CMBENCH_BIN, "--binary", CMBENCH_BIN,
                   "--server-host", "ssh:nowhere.invalid", "-d", "100ms", "--out", "/dev/null"});
  EXPECT_EQ(result.exit_code, 2);
  for (const char* part : {"--binary", "ssh:nowhere.invalid", "netns:"})
    EXPECT_NE(result.err.find(part), std::string::npos) << part << " in " << result.err;
}

TEST(Lab, LayoutAndLinkRates) {
  const auto lab = cmb::harness::lab_layout({"t", 3, ""});
  EXPECT_EQ(lab.server_host, "netns:t-server");
  EXPECT_EQ(lab.server_address, "198.18.0.1");
  EXPECT_EQ(lab.load_hosts,
            (std::vector<std::string>{"netns:t-load1", "netns:t-load2", "netns:t-load3"}));
  EXPECT_EQ(lab.load_addresses.back(), "198.18.0.4");
  EXPECT_EQ(lab.namespaces.size(), 5u);
  EXPECT_THROW(cmb::harness::lab_layout({"t", 0, ""}), std::invalid_argument);
  EXPECT_THROW(cmb::harness::lab_layout({"a/b", 1, ""}), std::invalid_argument);
  EXPECT_DOUBLE_EQ(cmb::harness::parse_link_rate("100mbit"), 1e8);
  EXPECT_DOUBLE_EQ(cmb::harness::parse_link_rate("1Gbit"), 1e9);
  EXPECT_DOUBLE_EQ(cmb::harness::parse_link_rate("10kbps"), 8e4);
  for (const char* bad : {"", "fast", "100", "-1mbit", "1 gbit"})
    EXPECT_THROW(cmb::harness::parse_link_rate(bad), std::invalid_argument) << bad;
}

bool netns_exists(const std::string& name) {
  return std::filesystem::exists(std::filesystem::path("/run/netns") / name);
}

// Takes the lab down however the test ends.
struct LabGuard {
  std::string prefix;
  ~LabGuard() { run_cmbench({"lab", "down", "--prefix", prefix}); }
};

// `cmbench serve` in the lab's server namespace, bound to its address.
std::vector<std::string> serve_in(const std::string& prefix) {
  return cmb::harness::command_on(
      parse_host("netns:" + prefix + "-server"),
      {CMBENCH_BIN, "serve", "--model", "epoll", "--host", "198.18.0.1", "--port", "0"});
}

// The server's URL from its readiness line; empty when it did not start.
std::string lab_url(Child& server) {
  const std::string ready = server.read_line();
  const std::string expected = "listening on 198.18.0.1:";
  if (ready.rfind(expected, 0) != 0) return {};
  return "http://198.18.0.1:" + ready.substr(expected.size()) + "/";
}

// `cmbench load ARGS... --json` run in namespace `ns`.
cmb::harness::CommandResult load_from(const std::string& ns, std::vector<std::string> args) {
  args.insert(args.begin(), {CMBENCH_BIN, "load"});
  args.push_back("--json");
  return cmb::harness::run_command(cmb::harness::command_on(parse_host("netns:" + ns), args), 30s);
}

// Up twice (idempotent), a server in one namespace answering a load host
// over the bridge at its 198.18.0.0/15 address, then down twice: no
// namespace and no process left.
TEST(Lab, UpServesAcrossTheBridgeAndDownLeavesNothing) {
  if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
  const std::string prefix = "cmbt" + std::to_string(::getpid());
  const LabGuard guard{prefix};
  for (int i = 0; i < 2; ++i) {
    const auto up = run_cmbench({"lab", "up", "--load-hosts", "2", "--prefix", prefix});
    ASSERT_EQ(up.exit_code, 0) << up.err;
    EXPECT_NE(up.out.find("--server-host netns:" + prefix +
                          "-server --server-address 198.18.0.1 "
                          "--load-hosts netns:" +
                          prefix + "-load1,netns:" + prefix + "-load2"),
              std::string::npos)
        << up.out;
    EXPECT_TRUE(std::regex_search(up.out, std::regex("tbf (yes|no), htb (yes|no), netem (yes|no)")))
        << up.out;
  }
  Child server(serve_in(prefix));
  const std::string url = lab_url(server);
  ASSERT_FALSE(url.empty());
  const auto load = load_from(prefix + "-load2", {url, "-c", "4", "-t", "1", "--requests", "500"});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_NE(load.out.find("\"requests\":500,"), std::string::npos) << load.out;
  EXPECT_EQ(cmb::harness::host_unreachable_reason(parse_host("netns:" + prefix + "-load1")), "");

  for (int i = 0; i < 2; ++i) {
    const auto down = run_cmbench({"lab", "down", "--prefix", prefix});
    ASSERT_EQ(down.exit_code, 0) << down.err;
  }
  EXPECT_FALSE(netns_exists(prefix + "-server"));
  EXPECT_FALSE(netns_exists(prefix + "-switch"));
  EXPECT_FALSE(netns_exists(prefix + "-load1"));
  // `down` ended the server in the lab (SIGTERM: it reports and exits 0).
  const auto ended = server.wait(5s);
  EXPECT_EQ(ended.exit_code, 0);
  EXPECT_NE(ended.out.find(R"("event":"exit")"), std::string::npos) << ended.out;
}

TEST(Lab, ALinkRateShapesBothDirections) {
  if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
  const std::string prefix = "cmbr" + std::to_string(::getpid());
  const LabGuard guard{prefix};
  const auto up =
      run_cmbench({"lab", "up", "--load-hosts", "1", "--prefix", prefix, "--link", "200mbit"});
  if (up.exit_code != 0 && up.err.find("tbf") != std::string::npos)
    GTEST_SKIP() << "no tbf here: " << up.err;
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(up.out.find("shaped to 200mbit each way (tbf)"), std::string::npos) << up.out;
  for (const auto& [ns, device] : {std::pair{prefix + "-load1", std::string("eth0")},
                                   std::pair{prefix + "-switch", std::string("load1")}}) {
    const auto qdisc = cmb::harness::run_command(
        {"ip", "netns", "exec", ns, "tc", "qdisc", "show", "dev", device});
    EXPECT_NE(qdisc.out.find("tbf"), std::string::npos) << ns << ": " << qdisc.out;
    EXPECT_NE(qdisc.out.find("200Mbit"), std::string::npos) << ns << ": " << qdisc.out;
  }
  // Responses of 1 MB for a second arrive at no more than the link's rate,
  // 25 MB/s (measured: 23.5 MB/s; 93 MB/s over the same link unshaped).
  Child server(serve_in(prefix));
  const std::string url = lab_url(server);
  ASSERT_FALSE(url.empty());
  const auto load = load_from(prefix + "-load1", {url + "?bytes=1000000", "-c", "4", "-d", "1s"});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  const nlohmann::json result = nlohmann::json::parse(load.out);
  const double rate = result["bytes_read"].get<double>() / result["duration_s"].get<double>();
  EXPECT_LT(rate, 25e6 * 1.15) << load.out;
  EXPECT_GT(rate, 0) << load.out;
  EXPECT_EQ(run_cmbench({"lab", "down", "--prefix", prefix}).exit_code, 0);
  EXPECT_FALSE(netns_exists(prefix + "-switch"));
}

// How far the server's count of a point run by agents may be from theirs:
// the requests in flight at each edge of the window, at most one per
// connection, since the agents wait at the window's edge while the server's
// counters are read, as the threads of one generator do.
double edge_slack(int connections) { return 2.0 * connections; }

// `cmbench run` across the lab PREFIX (its server and two load hosts),
// with `flags` first.
std::vector<std::string> lab_run(const std::string& prefix, std::vector<std::string> flags) {
  flags.insert(flags.begin(), {CMBENCH_BIN, "run", "--workload", "bytes=13", "--no-plots"});
  flags.insert(flags.end(),
               {"--server-host", "netns:" + prefix + "-server", "--server-address", "198.18.0.1",
                "--load-hosts", "netns:" + prefix + "-load1,netns:" + prefix + "-load2"});
  return flags;
}

// The issue's acceptance run, reduced: two models swept across a lab of a
// server and two load hosts. Each row's requests are the sum of its agents'
// (from the point's .agents.json), the server's own count agrees within the
// requests in flight, and every host's window opened at one instant.
TEST(Lab, ASweepAcrossTheLabMergesItsAgentsExactly) {
  if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
  const std::string prefix = "cmbs" + std::to_string(::getpid());
  const LabGuard guard{prefix};
  ASSERT_EQ(run_cmbench({"lab", "up", "--load-hosts", "2", "--prefix", prefix}).exit_code, 0);
  const auto dir = std::filesystem::temp_directory_path() / ("cmbench-lab-sweep-" + prefix);
  std::filesystem::remove_all(dir);
  const std::string csv = (dir / "lab.csv").string();
  const auto run = cmb::harness::run_command(
      lab_run(prefix, {"--models", "epoll,thread-per-connection", "--connections", "8", "-d", "1s",
                       "--warmup", "300ms", "--out", csv}),
      120s);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const auto table = cmb::harness::read_csv_table(csv);
  ASSERT_EQ(table.rows.size(), 2u);
  const auto field = [&table](const std::vector<std::string>& row, const char* name) {
    return row.at(static_cast<size_t>(table.column(name)));
  };
  for (const auto& row : table.rows) {
    EXPECT_EQ(field(row, "error"), "");
    EXPECT_EQ(field(row, "load_hosts"), "netns:" + prefix + "-load1,netns:" + prefix + "-load2");
    const uint64_t requests = std::stoull(field(row, "requests"));
    EXPECT_GT(requests, 100u) << field(row, "model");
    std::ifstream in(dir / (field(row, "artifacts") + ".agents.json"));
    const nlohmann::json agents = nlohmann::json::parse(in)["agents"];
    ASSERT_EQ(agents.size(), 2u);
    EXPECT_EQ(agents[0]["requests"].get<uint64_t>() + agents[1]["requests"].get<uint64_t>(),
              requests);
    EXPECT_GT(agents[1]["requests"].get<uint64_t>(), 0u);
    EXPECT_NEAR(agents[0]["window_start_epoch_s"].get<double>(),
                agents[1]["window_start_epoch_s"].get<double>(), 0.1);
    EXPECT_NEAR(std::stod(field(row, "server_requests")), static_cast<double>(requests),
                edge_slack(8))
        << field(row, "model");
  }
  const nlohmann::json manifest = nlohmann::json::parse(std::ifstream(dir / "lab.json"));
  EXPECT_EQ(manifest["hosts"]["server"]["spec"], "netns:" + prefix + "-server") << manifest.dump(2);
  EXPECT_EQ(manifest["hosts"]["load"].size(), 2u) << manifest.dump(2);
  std::filesystem::remove_all(dir);
}

// Ctrl-C or kill -9 of the harness mid-point leaves no process in any of
// the lab's namespaces: the server and the agents end with it.
TEST(Lab, InterruptOrKillNineOfTheHarnessLeavesNoProcessOnAnyHost) {
  if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
  const std::string prefix = "cmbk" + std::to_string(::getpid());
  const LabGuard guard{prefix};
  ASSERT_EQ(run_cmbench({"lab", "up", "--load-hosts", "2", "--prefix", prefix}).exit_code, 0);
  const auto pids = [&prefix](const std::string& host) {
    return cmb::harness::run_command({"ip", "netns", "pids", prefix + "-" + host}).out;
  };
  const std::string csv =
      (std::filesystem::temp_directory_path() / ("cmbench-lab-kill-" + prefix + ".csv")).string();
  for (int signal : {SIGINT, SIGKILL}) {
    Child harness(
        lab_run(prefix, {"--models", "epoll", "--connections", "4", "-d", "20s", "--out", csv}));
    // Until the server and both agents run (the warm-up has begun).
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < until &&
           (pids("server").empty() || pids("load1").empty() || pids("load2").empty()))
      std::this_thread::sleep_for(50ms);
    ASSERT_FALSE(pids("load2").empty()) << "the agents never started";
    std::this_thread::sleep_for(1s);
    ::kill(harness.pid(), signal);
    harness.wait(10s);
    std::string left;
    for (int i = 0; i < 100; ++i) {
      left = pids("server") + pids("load1") + pids("load2");
      if (left.empty()) break;
      std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(left, "") << "processes left in the lab after signal " << signal;
    std::filesystem::remove(csv);
    std::filesystem::remove(std::filesystem::path(csv).replace_extension(".json"));
  }
}

// An agent that dies mid-point makes that point an error row naming its
// host; the sweep goes on to the next point.
TEST(Lab, AnAgentThatDiesMidPointIsAnErrorRowAndTheSweepGoesOn) {
  if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
  const std::string prefix = "cmbd" + std::to_string(::getpid());
  const LabGuard guard{prefix};
  ASSERT_EQ(run_cmbench({"lab", "up", "--load-hosts", "2", "--prefix", prefix}).exit_code, 0);
  const auto dir = std::filesystem::temp_directory_path() / ("cmbench-lab-dies-" + prefix);
  std::filesystem::remove_all(dir);
  const std::string csv = (dir / "dies.csv").string();
  Child harness(lab_run(prefix, {"--models", "epoll", "--connections", "4,8", "-d", "2s",
                                 "--warmup", "200ms", "--out", csv}));
  // The first point's agent in load2 (not the harness's earlier look at
  // the host), once it runs: killed.
  const auto agent_in_load2 = [&prefix]() -> pid_t {
    std::istringstream listed(
        cmb::harness::run_command({"ip", "netns", "pids", prefix + "-load2"}).out);
    for (pid_t pid; listed >> pid;) {
      std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
      const std::string cmdline((std::istreambuf_iterator<char>(in)), {});
      if (cmdline.find("--agent") != std::string::npos) return pid;
    }
    return 0;
  };
  pid_t victim = 0;
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (victim == 0 && std::chrono::steady_clock::now() < until) {
    victim = agent_in_load2();
    if (victim == 0) std::this_thread::sleep_for(20ms);
  }
  ASSERT_NE(victim, 0) << "the agent never started";
  std::this_thread::sleep_for(700ms);
  ::kill(victim, SIGKILL);
  const auto finished = harness.wait(60s);
  ASSERT_EQ(finished.exit_code, 1) << finished.out << finished.err;  // the sweep goes on, and fails
  const auto table = cmb::harness::read_csv_table(csv);
  ASSERT_EQ(table.rows.size(), 2u);
  const auto error = [&table](size_t row) {
    return table.rows[row].at(static_cast<size_t>(table.column("error")));
  };
  EXPECT_NE(error(0).find("load host netns:" + prefix + "-load2"), std::string::npos) << error(0);
  EXPECT_EQ(error(1), "");
  std::filesystem::remove_all(dir);
}

// A load host that is not there stops the run at once, named.
TEST(Lab, AMissingLoadHostIsNamedAtOnce) {
  const auto start = std::chrono::steady_clock::now();
  const auto run = run_cmbench(
      {"run", "--models", "epoll", "--connections", "1", "-d", "200ms", "--no-plots", "--out",
       (std::filesystem::temp_directory_path() / "cmbench-missing-host.csv").string(),
       "--load-hosts", "netns:cmb-never-made"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("netns:cmb-never-made: no such network namespace"), std::string::npos)
      << run.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
}

// The ssh: path against a real sshd (Debian's openssh-server) that the test
// starts in a namespace of its own, with a throwaway key and port. The
// harness runs in that namespace too, so every packet stays on its
// loopback. One agent over ssh (its binary copied there by --push), one
// local, merged into one row.
TEST(Ssh, ALoadHostOverSshMergesWithALocalOne) {
  if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
  if (!std::filesystem::exists("/usr/sbin/sshd")) GTEST_SKIP() << "no sshd (openssh-server)";
  const std::string prefix = "cmbh" + std::to_string(::getpid());
  const LabGuard guard{prefix};
  // The ssh host is this machine: --push leaves this build's copy in its
  // /tmp, which the test removes however it ends.
  struct RemovePushed {
    ~RemovePushed() {
      std::error_code ignored;
      std::filesystem::remove(cmb::harness::pushed_binary_path(), ignored);
    }
  } remove_pushed;
  ASSERT_EQ(run_cmbench({"lab", "up", "--load-hosts", "1", "--prefix", prefix}).exit_code, 0);
  const std::string ns = prefix + "-load1";
  const auto dir = std::filesystem::temp_directory_path() / (prefix + "-ssh");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::create_directories("/run/sshd");  // sshd's privilege separation directory
  for (const char* key : {"host_key", "id"})
    ASSERT_TRUE(cmb::harness::run_command(
                    {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", (dir / key).string()})
                    .ok());
  std::filesystem::copy_file(dir / "id.pub", dir / "authorized_keys");
  const int port = 2222;
  std::ofstream(dir / "sshd_config") << fmt::format(
      "Port {}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nAuthorizedKeysFile {}\n"
      "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
      "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n",
      port, (dir / "host_key").string(), (dir / "sshd.pid").string(),
      (dir / "authorized_keys").string());
  const std::string ssh_config = (dir / "ssh_config").string();
  std::ofstream(ssh_config) << fmt::format(
      "Host *\n  IdentityFile {}\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n"
      "  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n",
      (dir / "id").string());
  Child sshd({"ip", "netns", "exec", ns, "/usr/sbin/sshd", "-D", "-e", "-f",
              (dir / "sshd_config").string()});
  const std::string spec = fmt::format("ssh:root@127.0.0.1:{}", port);
  const auto in_ns = [&ns](std::vector<std::string> command) {
    command.insert(command.begin(), {"ip", "netns", "exec", ns});
    return command;
  };
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = cmb::harness::run_command(
             in_ns({"ssh", "-F", ssh_config, "-p", std::to_string(port), "root@127.0.0.1", "true"}),
             10s)
             .ok();
    if (!up) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(up) << "sshd did not come up";

  const std::string csv = (dir / "ssh.csv").string();
  const auto run = cmb::harness::run_command(
      in_ns({CMBENCH_BIN,     "run",   "--models", "epoll",        "--workload",    "bytes=13",
             "--connections", "4",     "-d",       "1s",           "--warmup",      "300ms",
             "--no-plots",    "--out", csv,        "--load-hosts", spec + ",local", "--ssh-config",
             ssh_config,      "--push"}),
      120s);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const auto table = cmb::harness::read_csv_table(csv);
  ASSERT_EQ(table.rows.size(), 1u);
  const auto& row = table.rows.front();
  const auto field = [&](const char* name) {
    return row.at(static_cast<size_t>(table.column(name)));
  };
  EXPECT_EQ(field("error"), "");
  EXPECT_EQ(field("load_hosts"), spec + ",local");
  const uint64_t requests = std::stoull(field("requests"));
  std::ifstream in(dir / (field("artifacts") + ".agents.json"));
  const nlohmann::json agents = nlohmann::json::parse(in)["agents"];
  ASSERT_EQ(agents.size(), 2u);
  EXPECT_GT(agents[0]["requests"].get<uint64_t>(), 0u);
  EXPECT_EQ(agents[0]["requests"].get<uint64_t>() + agents[1]["requests"].get<uint64_t>(),
            requests);
  EXPECT_NEAR(std::stod(field("server_requests")), static_cast<double>(requests), edge_slack(4));
  const nlohmann::json manifest = nlohmann::json::parse(std::ifstream(dir / "ssh.json"));
  const auto& host = manifest["hosts"]["load"][0];
  EXPECT_EQ(host["spec"], spec);
  // Over ssh its clock was measured: this machine's, so within half the round trip of ours.
  EXPECT_GT(host["clock_round_trip_ms"].get<double>(), 0) << host.dump();
  EXPECT_LE(std::abs(host["clock_offset_ms"].get<double>()),
            host["clock_round_trip_ms"].get<double>() / 2 + 0.01)
      << host.dump();

  // The server over ssh, the load from here: the server's counters and its
  // process tree come with its snapshots, and it stops when its input ends.
  const std::string served = (dir / "served.csv").string();
  const auto remote = cmb::harness::run_command(
      in_ns({CMBENCH_BIN,  "run",          "--models",      "epoll",
             "--workload", "bytes=13",     "--connections", "4",
             "-d",         "1s",           "--warmup",      "300ms",
             "--no-plots", "--out",        served,          "--server-host",
             spec,         "--ssh-config", ssh_config,      "--push"}),
      120s);
  ASSERT_EQ(remote.exit_code, 0) << remote.out << remote.err;
  const auto served_table = cmb::harness::read_csv_table(served);
  ASSERT_EQ(served_table.rows.size(), 1u);
  const auto served_field = [&](const char* name) {
    return served_table.rows.front().at(static_cast<size_t>(served_table.column(name)));
  };
  EXPECT_EQ(served_field("error"), "");
  const double served_requests = std::stod(served_field("requests"));
  EXPECT_GT(served_requests, 0);
  EXPECT_NEAR(std::stod(served_field("server_requests")), served_requests, 4);
  EXPECT_GT(std::stod(served_field("server_cpu_us_per_request")), 0);
  EXPECT_GE(std::stod(served_field("server_threads_max")), 1);
  EXPECT_GT(std::stod(served_field("server_rss_max_kb")), 0);
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(dir / "served.json"))["hosts"]["server"]["spec"],
            spec);
  // No server is left behind on the host (its input ended with the run).
  std::string left;
  for (int i = 0; i < 50; ++i) {
    left = cmb::harness::run_command({"pgrep", "-f", "cmbench-.* serve --host"}).out;
    if (left.empty()) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(left, "") << "a server still runs";

  // A remote process dies with its ssh session: kill the ssh client of a
  // `cmbench clock` (which reads its stdin until it ends) and it is gone.
  const std::string pushed = cmb::harness::pushed_binary_path();
  ASSERT_TRUE(std::filesystem::exists(pushed)) << "--push left no binary at " << pushed;
  int session_input[2];
  ASSERT_EQ(::pipe2(session_input, O_CLOEXEC), 0);
  cmb::net::Fd held(session_input[1]), given(session_input[0]);
  const pid_t client =
      cmb::harness::spawn(in_ns({"ssh", "-F", ssh_config, "-p", std::to_string(port),
                                 "root@127.0.0.1", "--", pushed + " clock"}),
                          -1, -1, given.get());
  given.reset();
  const auto clocks = [] {
    return cmb::harness::run_command({"pgrep", "-f", "cmbench-[^ ]* clock"}).out;
  };
  for (int i = 0; i < 100 && clocks().empty(); ++i) std::this_thread::sleep_for(100ms);
  ASSERT_FALSE(clocks().empty()) << "the remote cmbench clock never started";
  ::kill(client, SIGKILL);
  cmb::harness::wait_child(client, 5s);
  for (int i = 0; i < 100 && !clocks().empty(); ++i) std::this_thread::sleep_for(100ms);
  EXPECT_EQ(clocks(), "") << "a remote process outlived its ssh session";

  // A one-point run from `host` that must fail before it starts.
  const auto refused_run = [&](const std::string& load_host, const char* name) {
    return cmb::harness::run_command(
        in_ns({CMBENCH_BIN, "run", "--models", "epoll", "--connections", "1", "-d", "200ms",
               "--no-plots", "--out", (dir / name).string(), "--load-hosts", load_host,
               "--ssh-config", ssh_config}),
        60s);
  };
  // Without --push the host's own cmbench is asked for; there is none on
  // its PATH, and the run says so, naming the host.
  const auto unpushed = refused_run(spec, "unpushed.csv");
  EXPECT_NE(unpushed.exit_code, 0);
  EXPECT_NE(unpushed.err.find(spec), std::string::npos) << unpushed.err;
  // Nothing listens on the next port: named within seconds.
  const auto start = std::chrono::steady_clock::now();
  const std::string refused = fmt::format("ssh:root@127.0.0.1:{}", port + 1);
  const auto unreachable = refused_run(refused, "unreachable.csv");
  EXPECT_NE(unreachable.exit_code, 0);
  EXPECT_NE(unreachable.err.find("load host " + refused), std::string::npos) << unreachable.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
  std::filesystem::remove_all(dir);
}

TEST(Lab, BadFlagsAreUsageErrors) {
  EXPECT_EQ(run_cmbench({"lab", "up", "--load-hosts", "0"}).exit_code, 2);
  EXPECT_EQ(run_cmbench({"lab", "up", "--prefix", "a/b"}).exit_code, 2);
  EXPECT_EQ(run_cmbench({"lab", "up", "--link", "fast"}).exit_code, 2);
  EXPECT_EQ(run_cmbench({"lab"}).exit_code, 2);
}

}  // namespace
