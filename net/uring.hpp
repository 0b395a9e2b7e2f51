// One io_uring ring with a ring of provided buffers, as the io-uring server
// model and the load generator's io-uring engine both use it: single
// issuer, completions run only when the owner waits (DEFER_TASKRUN), and
// multishot receives fill buffers the kernel picks. Used from the thread
// that created it only.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cmb::net {

// How a ring is set up: the settings that change io_uring's results
// (`serve --uring`, the model spec io-uring+SETUP).
//   defer-taskrun  single issuer; completions' task work runs only when the
//                  owner waits (the default: fewest interruptions)
//   coop-taskrun   single issuer; task work runs at the owner's next
//                  kernel entry, without an interrupt
//   sqpoll         a kernel thread polls the submission queue, so a submit
//                  is a store, not a system call (it burns a CPU of its own
//                  while busy, and counts in the server's CPU)
//   plain          no setup flags: task work interrupts the owner
enum class UringSetup { kDeferTaskrun, kCoopTaskrun, kSqpoll, kPlain };
// The names above, in order.
const std::vector<std::string>& uring_setup_names();
// Throws std::invalid_argument naming the known setups.
UringSetup parse_uring_setup(const std::string& name);
// Empty when this kernel can set a ring up so; otherwise one sentence why not.
std::string uring_setup_unavailable_reason(UringSetup setup);

class Uring {
 public:
  // Throws std::system_error when the kernel cannot set the ring up.
  Uring(unsigned entries, unsigned buffer_count, unsigned buffer_size,
        UringSetup setup = UringSetup::kDeferTaskrun);
  ~Uring();
  Uring(const Uring&) = delete;
  Uring& operator=(const Uring&) = delete;

  io_uring* get() { return &ring_; }
  // A free submission entry; submits the queue first when it is full.
  io_uring_sqe* sqe();
  // Makes `entry` a receive into a buffer of the provided group.
  void select_buffer(io_uring_sqe* entry) const;
  // The bytes a completion with IORING_CQE_F_BUFFER names.
  static uint16_t buffer_id(const io_uring_cqe& cqe) {
    return static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
  }
  char* buffer(uint16_t id) { return memory_.get() + size_t{id} * buffer_size_; }
  // Gives a buffer back to the kernel once its bytes are copied out.
  void recycle(uint16_t id);

 private:
  io_uring ring_{};
  io_uring_buf_ring* buffers_ = nullptr;
  std::unique_ptr<char[]> memory_;
  unsigned buffer_count_;
  unsigned buffer_size_;
};

// Empty when this kernel can run both io_uring users (Linux 6.0: multishot
// receive and provided-buffer rings, and the opcodes they need); otherwise
// one sentence why not.
std::string uring_unavailable_reason();

// The io_uring features this kernel reports (IORING_FEAT_* as lowercase
// names), its opcode count, and the setup flags it accepts; empty when no
// ring can be set up.
std::vector<std::string> uring_features();

}  // namespace cmb::net
