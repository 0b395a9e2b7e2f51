#include "net/uring.hpp"

#include <sys/mman.h>
#include <sys/utsname.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace cmb::net {
namespace {

constexpr int kBufferGroup = 0;

int kernel_version() {
  utsname name{};
  ::uname(&name);
  int major = 0, minor = 0;
  std::sscanf(name.release, "%d.%d", &major, &minor);
  return major * 100 + minor;
}

// The setup flags of each UringSetup, in its order.
io_uring_params params_for(UringSetup setup) {
  io_uring_params params{};
  switch (setup) {
    case UringSetup::kDeferTaskrun:
      params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
      break;
    case UringSetup::kCoopTaskrun:
      params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
      break;
    case UringSetup::kSqpoll:
      params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_SQPOLL;
      params.sq_thread_idle = 100;  // ms of an empty queue before its thread sleeps
      break;
    case UringSetup::kPlain:
      break;
  }
  return params;
}

}  // namespace

const std::vector<std::string>& uring_setup_names() {
  static const std::vector<std::string> names = {"defer-taskrun", "coop-taskrun", "sqpoll",
                                                 "plain"};
  return names;
}

UringSetup parse_uring_setup(const std::string& name) {
  const auto& names = uring_setup_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<UringSetup>(i);
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("no io_uring setup '" + name + "' (known: " + known + ")");
}

std::string uring_setup_unavailable_reason(UringSetup setup) {
  io_uring ring{};
  io_uring_params params = params_for(setup);
  if (const int rc = io_uring_queue_init_params(8, &ring, &params); rc < 0)
    return "this kernel refuses an io_uring set up as " +
           uring_setup_names()[static_cast<size_t>(setup)] + ": " + std::strerror(-rc);
  io_uring_queue_exit(&ring);
  return "";
}

Uring::Uring(unsigned entries, unsigned buffer_count, unsigned buffer_size, UringSetup setup)
    : buffer_count_(buffer_count), buffer_size_(buffer_size) {
  io_uring_params params = params_for(setup);
  if (const int rc = io_uring_queue_init_params(entries, &ring_, &params); rc < 0)
    throw std::system_error(-rc, std::generic_category(), "io_uring_queue_init");
  const size_t ring_bytes = buffer_count_ * sizeof(io_uring_buf);
  void* ring_memory =
      ::mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (ring_memory == MAP_FAILED) {
    const int error = errno;
    io_uring_queue_exit(&ring_);
    throw std::system_error(error, std::generic_category(), "mmap");
  }
  buffers_ = static_cast<io_uring_buf_ring*>(ring_memory);
  io_uring_buf_ring_init(buffers_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(ring_memory);
  reg.ring_entries = buffer_count_;
  reg.bgid = kBufferGroup;
  if (const int rc = io_uring_register_buf_ring(&ring_, &reg, 0); rc < 0) {
    io_uring_queue_exit(&ring_);
    ::munmap(buffers_, ring_bytes);
    throw std::system_error(-rc, std::generic_category(), "io_uring_register_buf_ring");
  }
  // Not zeroed: a page is touched only once the kernel fills a buffer there.
  memory_ = std::make_unique_for_overwrite<char[]>(size_t{buffer_count_} * buffer_size_);
  for (unsigned i = 0; i < buffer_count_; ++i)  // slot i past the tail, then publish all
    io_uring_buf_ring_add(buffers_, buffer(static_cast<uint16_t>(i)), buffer_size_,
                          static_cast<uint16_t>(i), io_uring_buf_ring_mask(buffer_count_),
                          static_cast<int>(i));
  io_uring_buf_ring_advance(buffers_, static_cast<int>(buffer_count_));
}

Uring::~Uring() {
  io_uring_queue_exit(&ring_);  // cancels whatever the kernel still holds
  ::munmap(buffers_, buffer_count_ * sizeof(io_uring_buf));
}

io_uring_sqe* Uring::sqe() {
  io_uring_sqe* entry = io_uring_get_sqe(&ring_);
  while (entry == nullptr) {  // the submission queue is full: flush it
    io_uring_submit(&ring_);
    entry = io_uring_get_sqe(&ring_);
  }
  return entry;
}

void Uring::select_buffer(io_uring_sqe* entry) const {
  entry->flags |= IOSQE_BUFFER_SELECT;
  entry->buf_group = kBufferGroup;
}

void Uring::recycle(uint16_t id) {
  io_uring_buf_ring_add(buffers_, buffer(id), buffer_size_, id,
                        io_uring_buf_ring_mask(buffer_count_), 0);
  io_uring_buf_ring_advance(buffers_, 1);
}

std::string uring_unavailable_reason() {
  if (kernel_version() < 600)
    return "needs Linux 6.0 or later (multishot recv and provided buffer rings)";
  io_uring ring{};
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  if (const int rc = io_uring_queue_init_params(8, &ring, &params); rc < 0)
    return std::string("io_uring cannot be set up here: ") + std::strerror(-rc);
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  std::string reason;
  if (probe == nullptr) {
    reason = "io_uring cannot be probed here";
  } else {
    for (int op : {IORING_OP_ACCEPT, IORING_OP_RECV, IORING_OP_RECVMSG, IORING_OP_SEND,
                   IORING_OP_TIMEOUT, IORING_OP_POLL_ADD, IORING_OP_ASYNC_CANCEL})
      if (!io_uring_opcode_supported(probe, op))
        reason = "the kernel's io_uring lacks an opcode it needs";
    io_uring_free_probe(probe);
  }
  io_uring_queue_exit(&ring);
  return reason;
}

std::vector<std::string> uring_features() {
  io_uring ring{};
  io_uring_params params{};
  if (io_uring_queue_init_params(8, &ring, &params) < 0) return {};
  constexpr std::pair<unsigned, const char*> kFeatures[] = {
      {IORING_FEAT_SINGLE_MMAP, "single-mmap"},
      {IORING_FEAT_NODROP, "nodrop"},
      {IORING_FEAT_SUBMIT_STABLE, "submit-stable"},
      {IORING_FEAT_RW_CUR_POS, "rw-cur-pos"},
      {IORING_FEAT_CUR_PERSONALITY, "cur-personality"},
      {IORING_FEAT_FAST_POLL, "fast-poll"},
      {IORING_FEAT_POLL_32BITS, "poll-32bits"},
      {IORING_FEAT_SQPOLL_NONFIXED, "sqpoll-nonfixed"},
      {IORING_FEAT_EXT_ARG, "ext-arg"},
      {IORING_FEAT_NATIVE_WORKERS, "native-workers"},
      {IORING_FEAT_RSRC_TAGS, "rsrc-tags"},
      {IORING_FEAT_CQE_SKIP, "cqe-skip"},
      {IORING_FEAT_LINKED_FILE, "linked-file"}};
  std::vector<std::string> features;
  for (const auto& [bit, name] : kFeatures)
    if ((params.features & bit) != 0) features.emplace_back(name);
  if (io_uring_probe* probe = io_uring_get_probe_ring(&ring); probe != nullptr) {
    features.push_back("opcodes:" + std::to_string(probe->last_op + 1));
    io_uring_free_probe(probe);
  }
  io_uring_queue_exit(&ring);
  // Setup flags are probed by asking for them: the kernel refuses one it lacks.
  constexpr std::pair<unsigned, const char*> kSetups[] = {
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "defer-taskrun"},
      {IORING_SETUP_COOP_TASKRUN, "coop-taskrun"},
      {IORING_SETUP_SQPOLL, "sqpoll"}};
  for (const auto& [flags, name] : kSetups) {
    io_uring probe_ring{};
    io_uring_params setup{};
    setup.flags = flags;
    if (io_uring_queue_init_params(8, &probe_ring, &setup) == 0) {
      features.emplace_back(name);
      io_uring_queue_exit(&probe_ring);
    }
  }
  return features;
}

}  // namespace cmb::net
