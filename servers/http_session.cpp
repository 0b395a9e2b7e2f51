#include "servers/http_session.hpp"

#include <algorithm>

#include "net/http_response.hpp"
#include "net/socket.hpp"
#include "servers/counters.hpp"

namespace cmb::servers {
namespace {

constexpr size_t kKeepOutputCapacity = 256 * 1024;

}  // namespace

std::chrono::microseconds HttpSession::process(WaitPolicy policy) {
  backlogged_ = false;
  const size_t output_before = output_.size();
  const auto note_progress = [&] {
    if (output_.size() != output_before) progress_at_ = Clock::now();
  };
  while (!closing_ && !deferred_ && !blocking_) {
    if (output_full()) {
      backlogged_ = true;
      break;
    }
    net::Request request;
    const auto result = parser_.parse(input_.readable(), request);
    if (result.state == net::RequestParser::State::kIncomplete) break;
    if (result.state == net::RequestParser::State::kError) {
      net::append_error_response(output_, result.error_status);
      count(Counter::kRejected);
      closing_ = true;
      break;
    }
    Work work;
    const ReplyFraming framing = ReplyFraming::of(request);
    if (const int status = parse_work(request.query, work)) {
      net::append_error_response(output_, status, request.version_minor);
      count(Counter::kRejected);
      closing_ = true;
      break;
    }
    input_.consume(result.consumed);
    const Arrived arrived = take_arrival(result.consumed);
    if (policy == WaitPolicy::kDeferAndHoldBlocking && work.sleep.count() > 0) {
      blocking_ = Deferred{work, framing, arrived, {}};  // queued until a helper runs it
      break;
    }
    if (const auto wait = finish_work(work, framing, policy, arrived, stamp()); wait.count() > 0) {
      note_progress();
      return wait;
    }
  }
  note_progress();
  return std::chrono::microseconds{0};
}

std::chrono::microseconds HttpSession::finish_work(const Work& work, const ReplyFraming& framing,
                                                   WaitPolicy policy, const Arrived& arrived,
                                                   StampClock::time_point started) {
  run_inline_work(work, interrupt_fd_);
  if (work.wait.count() > 0) {
    if (policy != WaitPolicy::kBlock) {
      deferred_ = Deferred{work, framing, arrived, started};  // its wait is service
      return work.wait;
    }
    interruptible_sleep(work.wait, interrupt_fd_);
  }
  append_work_response(output_, work, framing);
  response_appended(arrived, started);
  count(Counter::kRequests);
  closing_ = !framing.keep_alive;
  return std::chrono::microseconds{0};
}

void HttpSession::commit_input(size_t n, int64_t kernel_ns) {
  input_.commit(n);
  received(n, kernel_ns);
}

void HttpSession::append_input(std::string_view bytes, int64_t kernel_ns) {
  input_.append(bytes);
  received(bytes.size(), kernel_ns);
}

void HttpSession::received(size_t n, int64_t kernel_ns) {
  if (n == 0 || !stamps_) return;
  received_ += n;
  // The realtime clock only where there is a kernel time to compare.
  reads_.push_back(
      {received_, kernel_ns, kernel_ns != 0 ? net::realtime_ns() : 0, StampClock::now()});
}

HttpSession::Arrived HttpSession::take_arrival(size_t size) {
  if (!stamps_) return {};
  const uint64_t end = parsed_ + size;
  parsed_ = end;
  if (reads_.empty() || reads_.back().end < end) {
    // Bytes put into input() directly: no read to stamp them by.
    reads_.clear();
    return {StampClock::now(), std::nullopt};
  }
  // The first read holding an unparsed byte holds this request's first byte.
  const Read& first = reads_.front();
  const Read* last = &first;
  for (const Read& read : reads_)
    if (read.end >= end) {
      last = &read;
      break;
    }
  Arrived arrived{last->at, std::nullopt};
  if (first.kernel_ns != 0)
    arrived.inbound =
        std::chrono::nanoseconds(std::max<int64_t>(0, last->realtime_ns - first.kernel_ns));
  while (!reads_.empty() && reads_.front().end <= end) reads_.pop_front();
  return arrived;
}

void HttpSession::response_appended(const Arrived& arrived, StampClock::time_point started) {
  if (!stamps_) return;
  const auto ended = StampClock::now();
  unsent_.push_back(
      {output_.size(), arrived.inbound, started - arrived.read, ended - started, ended});
}

std::chrono::microseconds HttpSession::run_blocking() {
  if (!blocking_) return std::chrono::microseconds{0};
  const Deferred held = *blocking_;
  blocking_.reset();
  const auto wait = finish_work(held.work, held.framing, WaitPolicy::kDefer, held.arrived, stamp());
  progress_at_ = Clock::now();
  return wait;
}

void HttpSession::finish_wait() {
  if (!deferred_) return;
  append_work_response(output_, deferred_->work, deferred_->framing);
  response_appended(deferred_->arrived, deferred_->started);
  count(Counter::kRequests);
  closing_ = !deferred_->framing.keep_alive;
  deferred_.reset();
  progress_at_ = Clock::now();
}

bool HttpSession::time_out() {
  if (!timed_out_) count(Counter::kTimedOut);  // once, however often it is asked
  timed_out_ = true;
  if (closing_) return false;
  if (!input_.empty() && !has_output()) net::append_error_response(output_, 408);
  closing_ = true;
  return has_output();
}

void HttpSession::consume_output(size_t n) {
  if (n > 0) progress_at_ = Clock::now();
  output_sent_ += n;
  if (!unsent_.empty() && unsent_.front().end <= output_sent_) {
    const auto now = StampClock::now();
    do {
      const Unsent& sent = unsent_.front();
      if (sent.inbound) record_stage(Stage::kInbound, *sent.inbound);
      record_stage(Stage::kQueued, sent.queued);
      record_stage(Stage::kService, sent.service);
      record_stage(Stage::kOutbound, now - sent.service_end);
      unsent_.pop_front();
    } while (!unsent_.empty() && unsent_.front().end <= output_sent_);
  }
  if (output_sent_ == output_.size()) {
    output_.clear();
    output_sent_ = 0;
    // Do not keep a large response's memory for the life of the connection.
    if (output_.capacity() > kKeepOutputCapacity) output_.shrink_to_fit();
  }
}

}  // namespace cmb::servers
