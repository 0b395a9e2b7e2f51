// net::spawn_process, the one door to a child program: what the child gets
// (descriptors, CPUs, process group), and a failed exec reported with its
// reason, even while other threads allocate.
#include "net/spawn.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "net/fd.hpp"

namespace {

using cmb::net::Fd;
using cmb::net::spawn_process;
using cmb::net::SpawnOptions;

int wait_status(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Runs `script` under sh with its stdout on a pipe; what it printed.
std::string output_of(const std::string& script, SpawnOptions options = {}) {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  Fd read_end(fds[0]), write_end(fds[1]);
  options.stdout_fd = write_end.get();
  const pid_t pid = spawn_process({"sh", "-c", script}, options);
  write_end.reset();
  std::string out;
  char buffer[256];
  for (ssize_t n; (n = ::read(read_end.get(), buffer, sizeof buffer)) > 0;)
    out.append(buffer, static_cast<size_t>(n));
  EXPECT_EQ(wait_status(pid), 0);
  return out;
}

TEST(Spawn, RunsAProgramFoundOnPathAndReturnsItsPid) {
  const pid_t pid = spawn_process({"sh", "-c", "exit 3"});
  ASSERT_GT(pid, 0);
  EXPECT_EQ(wait_status(pid), 3);
}

TEST(Spawn, AProgramThatCannotBeRunIsReportedWithItsReason) {
  try {
    spawn_process({"cmbench-no-such-program"});
    FAIL() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("cannot run cmbench-no-such-program"), std::string::npos)
        << e.what();
  }
  // A file without execute permission, and one with it that is no program.
  std::string dir = (std::filesystem::temp_directory_path() / "cmbench-spawn-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string plain = std::string(dir) + "/plain", garbage = std::string(dir) + "/garbage";
  for (const auto& [path, mode] : {std::pair{plain, 0644}, std::pair{garbage, 0755}}) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, mode));
    ASSERT_TRUE(fd);
    ASSERT_EQ(::write(fd.get(), "\x01\x02", 2), 2);
  }
  for (const auto& [path, error] : {std::pair{plain, EACCES}, std::pair{garbage, ENOEXEC}}) {
    try {
      spawn_process({path});
      ADD_FAILURE() << path << ": no exception";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), error) << e.what();
      EXPECT_NE(std::string(e.what()).find("cannot run " + path), std::string::npos) << e.what();
    }
  }
  ::unlink(plain.c_str());
  ::unlink(garbage.c_str());
  ::rmdir(dir.c_str());
  EXPECT_THROW(spawn_process({}), std::invalid_argument);
}

TEST(Spawn, DescriptorsGoWhereTheyAreToldAndNoFurther) {
  EXPECT_EQ(output_of("echo hello"), "hello\n");
  // stdin from /dev/null: reading it ends at once.
  SpawnOptions null_in;
  null_in.stdin_fd = SpawnOptions::kDevNull;
  EXPECT_EQ(output_of("cat; echo done", null_in), "done\n");
  // A descriptor kept across exec is open in the child; a close-on-exec one is not.
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  Fd kept(fds[0]), closed(fds[1]);
  SpawnOptions keep;
  keep.keep_fds = {kept.get()};
  const std::string script = "[ -e /proc/self/fd/" + std::to_string(kept.get()) +
                             " ] && echo kept; [ -e /proc/self/fd/" + std::to_string(closed.get()) +
                             " ] || echo closed";
  EXPECT_EQ(output_of(script, keep), "kept\nclosed\n");
}

TEST(Spawn, PinsToTheCpusAndMakesAProcessGroup) {
  SpawnOptions pinned;
  pinned.cpus = {0};
  EXPECT_EQ(output_of("grep Cpus_allowed_list /proc/self/status | cut -f2", pinned), "0\n");
  SpawnOptions group;
  group.new_process_group = true;
  const pid_t pid = spawn_process({"sleep", "5"}, group);
  EXPECT_EQ(::getpgid(pid), pid);
  ::kill(pid, SIGKILL);
  wait_status(pid);
}

// The child of a process whose other threads allocate all the time must
// not take the allocator's lock between fork and exec (a formatted error
// message there could deadlock): spawn while threads allocate, with the
// exec failing half the time.
TEST(Spawn, StartsAndFailsCleanlyWhileOtherThreadsAllocate) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> allocators;
  for (int t = 0; t < 3; ++t)
    allocators.emplace_back([&stop] {
      while (!stop.load()) {
        auto block = std::make_unique<std::string>(4096, 'x');
        std::string copy = *block + "y";
        if (copy.empty()) break;
      }
    });
  int started = 0, refused = 0;
  for (int i = 0; i < 40; ++i) {
    try {
      const pid_t pid = spawn_process({i % 2 == 0 ? "true" : "cmbench-no-such-program"});
      EXPECT_EQ(wait_status(pid), 0);
      ++started;
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), ENOENT);
      ++refused;
    }
  }
  stop = true;
  for (auto& thread : allocators) thread.join();
  EXPECT_EQ(started, 20);
  EXPECT_EQ(refused, 20);
}

}  // namespace
