// Per-connection HTTP state that every model drives: received bytes go in,
// the shared parser and handler run, response bytes come out. Models only
// move bytes. One owner at a time; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/buffer.hpp"
#include "net/http_request.hpp"
#include "servers/coarse_clock.hpp"
#include "servers/fifo.hpp"
#include "servers/handler/handler.hpp"
#include "servers/limits.hpp"

namespace cmb::servers {

class HttpSession {
 public:
  using Clock = CoarseClock;  // see coarse_clock.hpp

  // process() stops handling pipelined requests while this much output
  // waits, so a client that sends many requests and reads nothing holds at
  // most this much of the server's memory (plus its unread input).
  static constexpr size_t kMaxPendingOutput = 1024 * 1024;

  // `interrupt_fd`: the server's stop signal, which cuts blocking sleeps
  // short (see run_inline_work); -1 for none.
  explicit HttpSession(const Limits& limits, int interrupt_fd = -1)
      : parser_(limits.request()),
        interrupt_fd_(interrupt_fd),
        stamps_(limits.attribution),
        timeout_(limits.header_timeout),
        progress_at_(Clock::now()) {}

  // Receive into input().prepare(n), and tell the session what arrived
  // with commit_input(); or hand it the bytes with append_input().
  // `kernel_ns`: when the kernel queued the last of them
  // (net::receive(); 0 when unknown), so each request's `inbound`
  // stage runs from its first byte's arrival to the read that completed it.
  // Limits::attribution: it keeps stages, so its reads want the kernel's time.
  bool attributed() const { return stamps_; }
  net::Buffer& input() { return input_; }
  const net::Buffer& input() const { return input_; }
  void commit_input(size_t n, int64_t kernel_ns);
  void append_input(std::string_view bytes, int64_t kernel_ns);

  enum class WaitPolicy {
    kBlock,  // thread models: a wait_us request sleeps on this thread
    kDefer,  // event models: process() stops and returns the wait to arm
    // AMPED: as kDefer, and a request with blocking work (sleep_us) is held
    // back too: process() stops with blocking_pending() for a helper thread
    // to call run_blocking().
    kDeferAndHoldBlocking,
  };
  // Handles the complete requests in the input in order, appending each
  // response to the output, until the input holds no complete request or the
  // session is closing. Under kDefer, a request with a non-blocking wait is
  // held back: process() returns its delay and handles nothing more until
  // finish_wait(). Returns zero otherwise.
  std::chrono::microseconds process(WaitPolicy policy);

  // The deferred wait has elapsed: append its response.
  void finish_wait();

  // A request held back under kDeferAndHoldBlocking awaits run_blocking().
  bool blocking_pending() const { return blocking_.has_value(); }
  // Runs the held request's work on the calling thread (a helper) and
  // appends its response; or, when it also waits, returns that wait to arm
  // as process() does. Then process() handles what follows it.
  std::chrono::microseconds run_blocking();
  bool waiting() const { return deferred_.has_value(); }

  // process() stopped at kMaxPendingOutput: once the output is flushed,
  // call it again before reading more.
  bool output_full() const { return pending_output().size() >= kMaxPendingOutput; }
  bool backlogged() const { return backlogged_; }

  // Limits::header_timeout: the time by which the client must make progress
  // (complete a request, or take some output); unset during a deferred wait
  // or held blocking work.
  std::optional<Clock::time_point> deadline() const {
    if (deferred_ || blocking_) return std::nullopt;
    return progress_at_ + timeout_;
  }
  bool expired(Clock::time_point now) const {
    const auto due = deadline();
    return due && now >= *due;
  }
  // The deadline passed: answer 408 if a request was partly received, and
  // close once the output is flushed. True when there is output to send
  // first; false when the connection should be closed now (nothing to send,
  // or it was closing already — timed out before and still stuck).
  bool time_out();

  std::string_view pending_output() const { return std::string_view(output_).substr(output_sent_); }
  void consume_output(size_t n);
  bool has_output() const { return output_sent_ < output_.size(); }

  // No further request will be handled: close once the output is flushed.
  bool closing() const { return closing_; }

 private:
  // Stage stamps (servers/stages.hpp) take the precise clock: a stage is
  // microseconds, which the coarse clock cannot tell apart.
  using StampClock = std::chrono::steady_clock;
  // A request's stamps before its handler: when the read that completed it
  // returned, and how long its first byte had waited in the kernel by then.
  struct Arrived {
    StampClock::time_point read;
    std::optional<StampClock::duration> inbound;  // unknown without the kernel's time
  };
  struct Deferred {
    Work work;
    ReplyFraming framing;
    Arrived arrived;
    StampClock::time_point started;  // its handler's start (a held request: not yet)
  };
  // A read's bytes: where they end in the stream of received bytes, when
  // the kernel queued them, and when the read returned (both clocks).
  struct Read {
    uint64_t end;
    int64_t kernel_ns;
    int64_t realtime_ns;
    StampClock::time_point at;
  };
  // A response whose last byte has not gone to the kernel yet: where it
  // ends in the output, and its request's stages so far. Its stages are
  // recorded when consume_output() passes its end (a connection lost
  // first records none, as a request refused or rejected records none).
  struct Unsent {
    size_t end;
    std::optional<StampClock::duration> inbound;
    StampClock::duration queued;
    StampClock::duration service;
    StampClock::time_point service_end;
  };
  void received(size_t n, int64_t kernel_ns);
  // The stamps of the request in the next `size` unparsed bytes, which the
  // parser has just taken.
  Arrived take_arrival(size_t size);

  // The handler ran from `started` for a request that arrived so, and its
  // response is now in the output: it awaits sending.
  void response_appended(const Arrived& arrived, StampClock::time_point started);

  // Runs a parsed request's work and appends its response, or under a
  // deferring policy holds it back and returns its wait.
  std::chrono::microseconds finish_work(const Work& work, const ReplyFraming& framing,
                                        WaitPolicy policy, const Arrived& arrived,
                                        StampClock::time_point started);

  // A stamp's time, or none when the session keeps no stages.
  StampClock::time_point stamp() const {
    return stamps_ ? StampClock::now() : StampClock::time_point{};
  }

  net::RequestParser parser_;
  int interrupt_fd_;
  bool stamps_;  // Limits::attribution
  net::Buffer input_;
  std::string output_;
  size_t output_sent_ = 0;
  bool closing_ = false;
  bool backlogged_ = false;
  bool timed_out_ = false;
  Clock::duration timeout_;
  Clock::time_point progress_at_;
  std::optional<Deferred> deferred_;
  std::optional<Deferred> blocking_;
  Fifo<Unsent> unsent_;    // in output order
  Fifo<Read> reads_;       // the reads whose bytes are not all parsed, in order
  uint64_t received_ = 0;  // bytes received (commit_input, append_input)
  uint64_t parsed_ = 0;    // bytes the parser has taken
};

}  // namespace cmb::servers
