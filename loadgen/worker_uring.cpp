// The io-uring transport of the load generator's worker (--engine
// io-uring): connects are POLLOUT polls, each open connection keeps one
// multishot receive armed into buffers the kernel picks, and sends go one
// at a time per connection. Everything else is the worker's (worker.cpp).
#include <sys/socket.h>

#include <cerrno>
#include <system_error>

#include "loadgen/worker.hpp"

namespace cmb::loadgen::detail {

// user_data: the operation, the connection's generation and its index.
void Worker::submit(Op op, uint32_t index, io_uring_sqe* entry) {
  const Connection& c = connections_[index];
  io_uring_sqe_set_data64(entry, (static_cast<uint64_t>(op) << 56) |
                                     (static_cast<uint64_t>(c.generation & 0xffffff) << 32) |
                                     index);
}

void Worker::arm_recv(uint32_t index) {
  Connection& c = connections_[index];
  io_uring_sqe* entry = uring_->sqe();
  io_uring_prep_recv_multishot(entry, c.fd.get(), nullptr, 0, 0);
  uring_->select_buffer(entry);
  submit(Op::kRecv, index, entry);
}

// One send in flight per connection: its bytes stay put in `sending` until
// it completes, while new requests queue in `out`. That holds across a
// reconnect too, since the kernel may read `sending` until the completion.
void Worker::send_next(uint32_t index) {
  Connection& c = connections_[index];
  if (c.send_in_flight || c.state != State::kOpen) return;
  if (c.sending_done == c.sending.size()) {
    if (c.out.empty()) return;
    c.sending.swap(c.out);
    c.out.clear();
    c.sending_done = 0;
  }
  io_uring_sqe* entry = uring_->sqe();
  io_uring_prep_send(entry, c.fd.get(), c.sending.data() + c.sending_done,
                     c.sending.size() - c.sending_done, MSG_NOSIGNAL);
  submit(Op::kSend, index, entry);
  c.send_in_flight = true;
}

int Worker::wait_for_completions(Clock::duration wait) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
  __kernel_timespec timeout{ns / 1'000'000'000, ns % 1'000'000'000};
  io_uring_cqe* cqe = nullptr;
  const int rc = io_uring_submit_and_wait_timeout(uring_->get(), &cqe, 1, &timeout, nullptr);
  if (rc < 0 && rc != -ETIME && rc != -EINTR)
    throw std::system_error(-rc, std::generic_category(), "io_uring_submit_and_wait_timeout");
  return static_cast<int>(io_uring_cq_ready(uring_->get()));
}

void Worker::on_completion(const io_uring_cqe& cqe, Clock::time_point now) {
  const auto op = static_cast<Op>(cqe.user_data >> 56);
  const auto index = static_cast<uint32_t>(cqe.user_data);
  const auto generation = static_cast<uint32_t>(cqe.user_data >> 32) & 0xffffff;
  Connection& c = connections_[index];
  const bool current = generation == (c.generation & 0xffffff) && c.state != State::kClosed;
  if (op == Op::kRecv && (cqe.flags & IORING_CQE_F_BUFFER) != 0) {
    const uint16_t id = net::Uring::buffer_id(cqe);
    if (current && cqe.res > 0)
      consume(index, std::string_view(uring_->buffer(id), static_cast<size_t>(cqe.res)), now);
    uring_->recycle(id);
  }
  switch (op) {
    case Op::kConnect:
      if (current && c.state == State::kConnecting) on_event(index, EPOLLOUT);
      return;
    case Op::kSend:
      c.send_in_flight = false;
      if (!current) {  // an old socket's send: its bytes are no longer needed
        c.sending.clear();
        c.sending_done = 0;
        send_next(index);
        return;
      }
      if (cqe.res < 0) {
        fail(index, &ErrorCounts::write, "write: " + error_text(-cqe.res), now);
        return;
      }
      c.sending_done += static_cast<size_t>(cqe.res);
      send_next(index);
      return;
    case Op::kRecv:
      // Still this socket's, open, and the multishot ended: re-arm it.
      if (cqe.res == 0 && current) {
        on_eof(index, now);
      } else if (cqe.res < 0 && cqe.res != -ENOBUFS && current) {
        fail(index, &ErrorCounts::read, "read: " + error_text(-cqe.res), now);
      } else if ((cqe.flags & IORING_CQE_F_MORE) == 0 && c.state == State::kOpen &&
                 generation == (c.generation & 0xffffff)) {
        arm_recv(index);
      }
      return;
  }
}

}  // namespace cmb::loadgen::detail
