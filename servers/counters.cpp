#include "servers/counters.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>

namespace cmb::servers {
namespace {

constexpr int kCounters = 5;
constexpr uint32_t kSlots = kCounterSlots;

// The count is the buckets' sum, taken when read: one add fewer per sample.
struct StageSlot {
  std::atomic<uint64_t> sum_ns;
  std::atomic<uint64_t> buckets[kStageBuckets];
};

// What waits, per stage: a count, and the sum of the steady clock's
// nanoseconds at which each began. One thread may enter and another leave,
// so a slot's own figures may wrap below zero; their sum over the slots is
// right (unsigned arithmetic).
struct WaitSlot {
  std::atomic<uint64_t> count;
  std::atomic<uint64_t> since_ns;
};

struct alignas(64) Slot {
  std::atomic<uint64_t> values[kCounters];
  std::atomic<uint32_t> acceptor;  // the slot's thread takes connections
  StageSlot stages[kStages];
  WaitSlot waits[kStages];
};

struct Shared {
  std::atomic<uint32_t> next_slot;
  Slot slots[kSlots];
};
static_assert(std::atomic<uint64_t>::is_always_lock_free, "counters cross processes");

size_t mapping_size() { return sizeof(Shared); }

// Maps the counters from `fd`, or from anonymous shared memory when -1.
Shared* map_shared(int fd) {
  const int flags = fd >= 0 ? MAP_SHARED : MAP_SHARED | MAP_ANONYMOUS;
  void* memory = ::mmap(nullptr, mapping_size(), PROT_READ | PROT_WRITE, flags, fd, 0);
  if (memory == MAP_FAILED)
    throw std::system_error(errno, std::generic_category(), "mmap server counters");
  return new (memory) Shared{};  // every counter at 0 (as the fresh memory already is)
}

// Never unmapped: the process's threads and children use it to the end.
Shared* g_shared = nullptr;

Shared& shared() {
  if (g_shared == nullptr) init_counters();
  return *g_shared;
}

// Each thread takes its own slot on first use; a forked child takes a new
// one (prefork's children are its acceptors).
thread_local Slot* t_slot = nullptr;

Slot& my_slot() {
  if (t_slot == nullptr)
    t_slot = &shared().slots[shared().next_slot.fetch_add(1, std::memory_order_relaxed) % kSlots];
  return *t_slot;
}

uint64_t steady_ns(std::chrono::steady_clock::time_point when) noexcept {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count());
}

// The waits as read now: the age of each is now less its start. The count
// and the sum are read a moment apart, so a wait that ends between them
// could make the sum say less than nothing: it is then taken as none.
void sum_waits(const Shared& counters, CounterValues& values) noexcept {
  const uint64_t now = steady_ns(std::chrono::steady_clock::now());
  for (int i = 0; i < kStages; ++i) {
    uint64_t count = 0, since = 0;
    for (uint32_t s = 0; s < kSlots; ++s) {
      count += counters.slots[s].waits[i].count.load(std::memory_order_relaxed);
      since += counters.slots[s].waits[i].since_ns.load(std::memory_order_relaxed);
    }
    const auto age = static_cast<int64_t>(count * now - since);
    if (static_cast<int64_t>(count) > 0 && age > 0)
      values.waiting[static_cast<size_t>(i)] = {count, static_cast<uint64_t>(age)};
  }
}

CounterValues sum(const Shared& counters) noexcept {
  uint64_t sums[kCounters] = {};
  CounterValues values;
  sum_waits(counters, values);
  for (uint32_t s = 0; s < kSlots; ++s) {
    const Slot& slot = counters.slots[s];
    for (int i = 0; i < kCounters; ++i) sums[i] += slot.values[i].load(std::memory_order_relaxed);
    values.accepted_by_slot[s] =
        slot.values[static_cast<int>(Counter::kAccepted)].load(std::memory_order_relaxed);
    if (slot.acceptor.load(std::memory_order_relaxed) != 0) values.acceptor_slots |= 1ull << s;
    for (int i = 0; i < kStages; ++i) {
      const StageSlot& from = slot.stages[i];
      StageHistogram& to = values.stages[static_cast<size_t>(i)];
      to.sum_ns += from.sum_ns.load(std::memory_order_relaxed);
      for (int b = 0; b < kStageBuckets; ++b) {
        const uint64_t n = from.buckets[b].load(std::memory_order_relaxed);
        to.buckets[static_cast<size_t>(b)] += n;
        to.count += n;
      }
    }
  }
  values.requests = sums[0];
  values.refused = sums[1];
  values.timed_out = sums[2];
  values.rejected = sums[3];
  values.accepted = sums[4];
  return values;
}

}  // namespace

void count(Counter counter) noexcept {
  Slot& slot = my_slot();
  slot.values[static_cast<int>(counter)].fetch_add(1, std::memory_order_relaxed);
  if (counter == Counter::kAccepted) slot.acceptor.store(1, std::memory_order_relaxed);
}

void record_stage(Stage stage, std::chrono::nanoseconds time) noexcept {
  const auto nanos = static_cast<uint64_t>(std::max<int64_t>(0, time.count()));
  StageSlot& slot = my_slot().stages[static_cast<int>(stage)];
  slot.sum_ns.fetch_add(nanos, std::memory_order_relaxed);
  slot.buckets[stage_bucket(nanos)].fetch_add(1, std::memory_order_relaxed);
}

void enter_wait(Stage stage, std::chrono::steady_clock::time_point since) noexcept {
  WaitSlot& slot = my_slot().waits[static_cast<int>(stage)];
  slot.count.fetch_add(1, std::memory_order_relaxed);
  slot.since_ns.fetch_add(steady_ns(since), std::memory_order_relaxed);
}

void leave_wait(Stage stage, std::chrono::steady_clock::time_point since) noexcept {
  WaitSlot& slot = my_slot().waits[static_cast<int>(stage)];
  slot.count.fetch_sub(1, std::memory_order_relaxed);
  slot.since_ns.fetch_sub(steady_ns(since), std::memory_order_relaxed);
}

void register_acceptor() noexcept { my_slot().acceptor.store(1, std::memory_order_relaxed); }

std::vector<uint64_t> CounterValues::accepted_by_thread() const {
  std::vector<uint64_t> by_thread;
  for (int s = 0; s < kCounterSlots; ++s)
    if ((acceptor_slots >> s) & 1) by_thread.push_back(accepted_by_slot[static_cast<size_t>(s)]);
  return by_thread;
}

std::array<StageHistogram, kStages> CounterValues::stages_since(
    const CounterValues& earlier) const {
  std::array<StageHistogram, kStages> out;
  for (size_t i = 0; i < kStages; ++i) out[i] = stages[i].since(earlier.stages[i]);
  return out;
}

CounterValues read_counters() noexcept { return sum(shared()); }

net::Fd counter_memfd() {
  net::Fd fd(::memfd_create(kCounterFileName, MFD_CLOEXEC));
  if (!fd || ::ftruncate(fd.get(), static_cast<off_t>(mapping_size())) != 0)
    throw std::system_error(errno, std::generic_category(), "memfd for server counters");
  return fd;
}

void init_counters(int fd) {
  if (g_shared != nullptr) return;
  if (fd < 0) {
    // Kept open for the life of the process, for others to find.
    static net::Fd own = counter_memfd();
    fd = own.get();
  }
  g_shared = map_shared(fd);
  ::pthread_atfork(nullptr, nullptr, [] { t_slot = nullptr; });
}

CounterFile::CounterFile() : fd_(counter_memfd()) { mapping_ = map_shared(fd_.get()); }

CounterFile CounterFile::of_process(int pid) {
  const std::string name = fmt::format("/memfd:{} ", kCounterFileName);
  const std::string dir = fmt::format("/proc/{}/fd", pid);
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const auto target = std::filesystem::read_symlink(entry.path(), error);
    if (error || !target.string().starts_with(name)) continue;
    net::Fd fd(::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) continue;
    void* memory = ::mmap(nullptr, mapping_size(), PROT_READ, MAP_SHARED, fd.get(), 0);
    if (memory == MAP_FAILED) continue;
    return CounterFile(std::move(fd), memory);
  }
  throw std::runtime_error(fmt::format(
      "process {} has no cmbench counters to read (is it `cmbench serve` on this machine?{})", pid,
      error ? ": " + error.message() : ""));
}

CounterFile::~CounterFile() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size());
}

CounterValues CounterFile::read() const noexcept { return sum(*static_cast<Shared*>(mapping_)); }

net::Acceptor make_acceptor(int listen_fd, bool nonblocking) {
  return net::Acceptor(listen_fd, nonblocking, [] { count(Counter::kRefused); });
}

}  // namespace cmb::servers
