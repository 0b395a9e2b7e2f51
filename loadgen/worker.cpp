// The worker: a load thread's loop, schedule, parsing and accounting. Its
// transports are transport_epoll.cpp and transport_uring.cpp.
#include "loadgen/worker.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace cmb::loadgen::detail {
namespace {

double timeval_seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

}  // namespace

uint64_t nanos(Clock::duration d) {
  return static_cast<uint64_t>(
      std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()));
}

std::string error_text(int error) {
  switch (error) {
    case 0:
      return "connection closed before the response was complete";
    case EADDRNOTAVAIL:
      return "no free local port (ephemeral ports exhausted by TIME_WAIT): lower the rate, use "
             "keep-alive, or widen net.ipv4.ip_local_port_range";
    default:
      return std::strerror(error);
  }
}

Worker::Worker(Plan& plan, int first_connection, int connections, uint64_t seed)
    : plan_(plan),
      config_(*plan.config),
      connections_(static_cast<size_t>(connections)),
      random_(seed) {
  result_.targets.resize(config_.targets.size());
  // A budget of requests has no window length to slice.
  if (plan_.max_requests == 0) result_.slices.resize(kWindowSlices);
  if (plan_.open_loop()) {
    for (int i = 0; i < connections; ++i) {
      const uint64_t own_seed = seed * 7919 + static_cast<uint64_t>(i);
      auto& schedule = connections_[static_cast<size_t>(i)].schedule;
      if (config_.ramp.ramps())
        schedule.emplace(config_.ramp, plan_.measure_start, config_.connections,
                         first_connection + i, plan_.start, config_.arrival, own_seed);
      else
        schedule.emplace(config_.rate, config_.connections, first_connection + i, plan_.start,
                         config_.arrival, own_seed);
    }
  }
}

void Worker::run(int cpu) {
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    ::sched_setaffinity(0, sizeof set, &set);  // best effort
  }
  Clock::time_point begin;
  try {
    transport_ =
        config_.engine == IoEngine::kIoUring ? uring_transport(*this) : epoll_transport(*this);
    // The kernel may let a timer fire this much late to batch wake-ups (50
    // us by default); an open loop's sends are due to the microsecond.
    if (plan_.open_loop()) ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    begin = Clock::now();
    for (uint32_t i = 0; i < connections_.size(); ++i) open(i, begin);
    drive();
  } catch (...) {
    leave_edges();  // the others open and close the window without this one
    throw;
  }
  // The window ran to its end (not cancelled, not a request budget, which
  // ends when every request is answered): the others are waited for at its
  // closing edge, every connection still open.
  if (window_open_ && plan_.max_requests == 0 && Clock::now() >= plan_.end) {
    plan_.window_close->arrive_and_wait();
    record_unfinished(plan_.end);
  } else {
    leave_edges();
  }
  finished_ = Clock::now();
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  result_.cpu_user_s = timeval_seconds(usage.ru_utime);
  result_.cpu_system_s = timeval_seconds(usage.ru_stime);
  result_.threads.push_back({result_.cpu_user_s + result_.cpu_system_s,
                             std::chrono::duration<double>(finished_ - begin).count()});
  result_.abandoned = in_flight_;
  for (auto& c : connections_) c.fd.reset();
  transport_.reset();
}

void Worker::leave_edges() {
  if (!window_open_) plan_.window_edge->arrive_and_drop();
  plan_.window_close->arrive_and_drop();
}

void Worker::drive() {
  Clock::time_point last_scan = Clock::now();
  for (;;) {
    Clock::time_point now = Clock::now();
    if (now >= plan_.end || (plan_.cancel && plan_.cancel->load(std::memory_order_relaxed))) break;
    if (budget_spent() && in_flight_ == 0) break;
    open_window_when_due(now);
    Clock::duration wait = std::min<Clock::duration>(plan_.end - now, kScanInterval);
    if (!window_open_) wait = std::min<Clock::duration>(wait, plan_.measure_start - now);
    if (!due_.empty())
      wait = std::min<Clock::duration>(wait, std::max<Clock::duration>(due_.top().first - now, {}));
    Clock::duration sleep = wait;
    if (config_.busy_poll)
      sleep = {};
    else if (plan_.open_loop())
      sleep = std::max<Clock::duration>(wait - wake_early_, {});
    const int n = transport_->wait(sleep);
    const Clock::time_point woke = Clock::now();
    if (n == 0 && sleep > Clock::duration{}) learn_wake_lateness(woke - (now + sleep));
    open_window_when_due(woke);
    transport_->handle(woke);
    now = Clock::now();
    run_due(now);
    if (now - last_scan >= kScanInterval) {
      scan(now);
      last_scan = now;
    }
  }
}

void Worker::learn_wake_lateness(Clock::duration late) {
  constexpr Clock::duration kStep = std::chrono::nanoseconds(50);
  if (late > wake_early_)
    wake_early_ = std::min<Clock::duration>(wake_early_ + 99 * kStep, config_.max_spin);
  else
    wake_early_ = std::max<Clock::duration>(wake_early_ - kStep, {});
}

void Worker::open_window_when_due(Clock::time_point now) {
  if (window_open_ || !measuring(now)) return;
  plan_.window_edge->arrive_and_wait();
  window_open_ = true;
  result_.in_flight_at_open = in_flight_;
}

void Worker::open(uint32_t index, Clock::time_point now) {
  Connection& c = connections_[index];
  const net::Address& address = plan_.address;
  c.fd.reset(::socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!c.fd) {
    fail(index, &ErrorCounts::connect, "connect: " + error_text(errno), now, kConnectRetryDelay);
    return;
  }
  net::set_nodelay(c.fd.get());
  if (::connect(c.fd.get(), address.get(), address.length) != 0 && errno != EINPROGRESS) {
    fail(index, &ErrorCounts::connect, "connect: " + error_text(errno), now, kConnectRetryDelay);
    return;
  }
  c.state = State::kConnecting;
  c.connect_started = now;
  transport_->connecting(index, now);
}

bool Worker::connect_succeeded(uint32_t index) {
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(connections_[index].fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
  if (error == 0) return true;
  fail(index, &ErrorCounts::connect, "connect: " + error_text(error), Clock::now(),
       kConnectRetryDelay);
  return false;
}

void Worker::on_connected(uint32_t index, Clock::time_point now) {
  Connection& c = connections_[index];
  c.state = State::kOpen;
  if (window_open_) result_.connect_latency.record(nanos(now - c.connect_started));
  transport_->opened(index);
  try_send(index, now);
}

uint16_t Worker::pick_target() {
  if (plan_.cumulative_weight.size() == 1) return 0;
  std::uniform_int_distribution<unsigned> pick(0, plan_.cumulative_weight.back() - 1);
  const unsigned ticket = pick(random_);
  const auto it =
      std::upper_bound(plan_.cumulative_weight.begin(), plan_.cumulative_weight.end(), ticket);
  return static_cast<uint16_t>(it - plan_.cumulative_weight.begin());
}

// Queues as many requests as the pipeline, the schedule (open loop) or the
// think time (closed loop) allow, then writes them.
void Worker::try_send(uint32_t index, Clock::time_point now) {
  Connection& c = connections_[index];
  if (c.state != State::kOpen) return;
  const size_t depth = config_.keep_alive ? static_cast<size_t>(config_.pipeline) : 1;
  bool queued = false;
  while (c.in_flight.size() < depth) {
    Clock::time_point intended = now;
    if (c.schedule) {
      if (c.schedule->next() > now) {
        due_.push({c.schedule->next(), index});
        break;
      }
    } else if (c.ready_at > now) {
      due_.push({c.ready_at, index});
      break;
    }
    if (plan_.max_requests > 0 &&
        plan_.issued.fetch_add(1, std::memory_order_relaxed) >= plan_.max_requests)
      break;
    if (c.schedule) intended = c.schedule->take();
    const uint16_t target = pick_target();
    c.out += plan_.requests[target];
    c.in_flight.push_back({intended, now, target});
    ++in_flight_;
    if (window_open_) {
      ++result_.sent;
      if (c.schedule) result_.schedule_lag.record(nanos(now - intended));
    }
    queued = true;
  }
  if (queued) transport_->send(index);
}

void Worker::on_eof(uint32_t index, Clock::time_point now) {
  Connection& c = connections_[index];
  if (c.parsing) {
    c.parser.on_eof();
    if (c.parser.state() == net::ResponseParser::State::kComplete) {
      c.parsing = false;
      on_response(index, now);
    }
  }
  if (c.state != State::kOpen) return;
  if (!c.in_flight.empty()) {
    fail(index, &ErrorCounts::read, "read: " + error_text(0), now);
  } else {  // the server closed an idle connection: reconnect quietly
    close_socket(c);
    open(index, now);
  }
}

void Worker::consume(uint32_t index, std::string_view data, Clock::time_point now) {
  Connection& c = connections_[index];
  if (window_open_) result_.bytes_read += data.size();
  while (!data.empty() && c.state == State::kOpen) {
    if (c.in_flight.empty()) {
      fail(index, &ErrorCounts::read,
           std::string(kNotHttp) + "bytes arrived with no request outstanding", now);
      return;
    }
    if (!c.parsing) {
      c.parser.reset();
      c.parsing = true;
    }
    data.remove_prefix(c.parser.feed(data));
    if (c.parser.state() == net::ResponseParser::State::kError) {
      fail(index, &ErrorCounts::read, fmt::format("{}{}", kNotHttp, c.parser.error()), now);
      return;
    }
    if (c.parser.state() == net::ResponseParser::State::kComplete) {
      c.parsing = false;
      on_response(index, now);
    }
  }
}

void Worker::on_response(uint32_t index, Clock::time_point now) {
  Connection& c = connections_[index];
  const InFlight request = c.in_flight.front();
  c.in_flight.pop_front();
  --in_flight_;
  if (window_open_) {
    ++result_.requests;
    c.answered_in_window = true;
    if (result_.targets.size() > 1) ++result_.targets[request.target].requests;
    record_latency(c, request, now);
    result_.answered_ns += nanos(now - request.sent);
    TimelineSecond* s = second(now);
    ++s->requests;
    if (!result_.slices.empty())
      ++result_.slices[window_slice(now - plan_.measure_start, plan_.end - plan_.measure_start)];
    if (const int status = c.parser.status(); status >= 400) {
      ++result_.errors.status;
      ++result_.error_details[status_detail(status / 100)];
      ++s->errors;
    }
  }
  if (!config_.keep_alive || !c.parser.keep_alive()) {
    if (!c.in_flight.empty()) {  // the server closed with requests pipelined behind
      fail(index, &ErrorCounts::read,
           "read: the server closed the connection with requests outstanding", now);
      return;
    }
    close_socket(c);
    if (c.schedule && !config_.keep_alive) {
      // An open loop of new connections: the next one is opened when its
      // request is due, so its latency counts the connect and the accept.
      c.state = State::kClosed;
      c.retry_at = c.schedule->next();
      due_.push({c.retry_at, index});
      return;
    }
    open(index, now);
    return;
  }
  if (!c.schedule) c.ready_at = now + config_.think;
  try_send(index, now);
}

uint64_t Worker::record_latency(const Connection& c, const InFlight& request, Clock::time_point now,
                                bool answered) {
  const uint64_t latency = nanos(now - request.intended);
  result_.latency.record(latency);
  if (result_.targets.size() > 1)  // with one URL the totals say it all
    result_.targets[request.target].latency.record(latency);
  second(now)->latency.record(latency);
  IntervalLatency* interval = nullptr;
  if (config_.interval_histograms) {
    const size_t index = second_index(now);
    if (result_.intervals.size() <= index) result_.intervals.resize(index + 1);
    interval = &result_.intervals[index];
    interval->latency.record(latency);
  }
  if (c.schedule && answered) {
    const uint64_t uncorrected = nanos(now - request.sent);
    result_.uncorrected_latency.record(uncorrected);
    if (interval != nullptr) interval->uncorrected.record(uncorrected);
  }
  return latency;
}

void Worker::record_unfinished(Clock::time_point end) {
  for (Connection& c : connections_) {
    result_.connections_unanswered += !c.answered_in_window;
    for (const InFlight& request : c.in_flight)
      result_.unanswered_ns += record_latency(c, request, end, false);
    result_.unfinished += c.in_flight.size();
    if (!c.schedule) continue;
    while (c.schedule->next() < end) {
      result_.unanswered_ns +=
          record_latency(c, {c.schedule->take(), end, pick_target()}, end, false);
      ++result_.unfinished;
    }
  }
}

void Worker::fail(uint32_t index, uint64_t ErrorCounts::*cause, const std::string& what,
                  Clock::time_point now, Clock::duration retry_after) {
  Connection& c = connections_[index];
  // Every request lost with the connection is one error; a connect error is one.
  const uint64_t lost = std::max<uint64_t>(1, c.in_flight.size());
  if (window_open_) {
    result_.errors.*cause += lost;
    result_.error_details[what] += lost;
    second(now)->errors += lost;
    if (cause == &ErrorCounts::timeout) {
      result_.timed_out += c.in_flight.size();
      for (const auto& request : c.in_flight)
        result_.unanswered_ns += record_latency(c, request, now);
    }
  }
  in_flight_ -= c.in_flight.size();
  c.in_flight.clear();
  c.out.clear();
  transport_->dropped(index);
  c.parsing = false;
  close_socket(c);
  c.state = State::kClosed;
  c.retry_at = now + retry_after;
  if (retry_after == Clock::duration::zero()) open(index, now);
}

void Worker::close_socket(Connection& c) {
  if (c.fd) transport_->closing(c.fd.get());
  c.fd.reset();
}

void Worker::scan(Clock::time_point now) {
  const auto timeout = config_.timeout;
  for (uint32_t i = 0; i < connections_.size(); ++i) {
    Connection& c = connections_[i];
    if (c.state == State::kClosed) {
      if (now >= c.retry_at) open(i, now);
    } else if (c.state == State::kConnecting) {
      if (now - c.connect_started >= timeout)
        fail(i, &ErrorCounts::timeout, "timeout: no connection within the timeout", now);
    } else if (!c.in_flight.empty() && now - c.in_flight.front().sent >= timeout) {
      fail(i, &ErrorCounts::timeout, "timeout: no response within the timeout", now);
    }
  }
}

void Worker::run_due(Clock::time_point now) {
  while (!due_.empty() && due_.top().first <= now) {
    const uint32_t index = due_.top().second;
    due_.pop();
    if (connections_[index].state == State::kClosed) {
      if (now >= connections_[index].retry_at) open(index, now);  // a new connection, now due
      continue;
    }
    try_send(index, now);  // re-queues itself if still not due
  }
}

size_t window_second(Clock::duration since_open, Clock::duration window) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  const auto whole = [](Clock::duration d) {
    return static_cast<size_t>(
        duration_cast<seconds>(std::max(d, Clock::duration::zero())).count());
  };
  // A window of exactly N seconds has seconds 0 .. N-1.
  return std::min(whole(since_open), whole(window - Clock::duration(1)));
}

size_t window_slice(Clock::duration since_open, Clock::duration window) {
  if (window <= Clock::duration::zero() || since_open <= Clock::duration::zero()) return 0;
  // Integers: a window of hours in nanoseconds times 20 still fits.
  const auto slice =
      static_cast<size_t>(since_open.count()) * kWindowSlices / static_cast<size_t>(window.count());
  return std::min(slice, kWindowSlices - 1);
}

size_t Worker::second_index(Clock::time_point now) const {
  return window_second(now - plan_.measure_start, plan_.end - plan_.measure_start);
}

TimelineSecond* Worker::second(Clock::time_point now) {
  const size_t index = second_index(now);
  if (result_.timeline.size() <= index) result_.timeline.resize(index + 1);
  return &result_.timeline[index];
}

}  // namespace cmb::loadgen::detail
