#include "servers/counters.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <new>
#include <system_error>

namespace cmb::servers {
namespace {

constexpr int kCounters = 4;
constexpr uint32_t kSlots = 64;

struct alignas(64) Slot {
  std::atomic<uint64_t> values[kCounters];
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

// Each thread takes its own slot on first use (a forked child keeps its
// parent thread's: still correct, only shared).
Slot& my_slot() {
  thread_local Slot* slot =
      &shared().slots[shared().next_slot.fetch_add(1, std::memory_order_relaxed) % kSlots];
  return *slot;
}

CounterValues sum(const Shared& counters) noexcept {
  uint64_t sums[kCounters] = {};
  for (const Slot& slot : counters.slots)
    for (int i = 0; i < kCounters; ++i) sums[i] += slot.values[i].load(std::memory_order_relaxed);
  return {sums[0], sums[1], sums[2], sums[3]};
}

}  // namespace

void count(Counter counter) noexcept {
  my_slot().values[static_cast<int>(counter)].fetch_add(1, std::memory_order_relaxed);
}

CounterValues read_counters() noexcept { return sum(shared()); }

void init_counters(int fd) {
  if (g_shared == nullptr) g_shared = map_shared(fd);
}

CounterFile::CounterFile() : fd_(::memfd_create("cmbench-counters", MFD_CLOEXEC)) {
  if (!fd_ || ::ftruncate(fd_.get(), static_cast<off_t>(mapping_size())) != 0)
    throw std::system_error(errno, std::generic_category(), "memfd for server counters");
  mapping_ = map_shared(fd_.get());
}

CounterFile::~CounterFile() { ::munmap(mapping_, mapping_size()); }

CounterValues CounterFile::read() const noexcept { return sum(*static_cast<Shared*>(mapping_)); }

net::Acceptor make_acceptor(int listen_fd, bool nonblocking) {
  return net::Acceptor(listen_fd, nonblocking, [] { count(Counter::kRefused); });
}

}  // namespace cmb::servers
