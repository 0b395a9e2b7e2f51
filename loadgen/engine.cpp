#include "loadgen/engine.hpp"

#include <fmt/format.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "net/fd.hpp"
#include "net/http_response.hpp"
#include "net/socket.hpp"

namespace cmb::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kScanInterval = std::chrono::milliseconds(10);
// A refused or failed connect is retried after this pause, not in a spin.
constexpr auto kConnectRetryDelay = std::chrono::milliseconds(100);
constexpr size_t kReadChunk = 64 * 1024;
constexpr int kMaxEvents = 256;

uint64_t nanos_between(Clock::time_point from, Clock::time_point to) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count());
}

double timeval_seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

std::string build_request(const LoadConfig& config) {
  return fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n{}\r\n", config.url.target,
                     config.url.host_header, config.keep_alive ? "" : "Connection: close\r\n");
}

class Worker {
 public:
  struct Plan {
    const LoadConfig* config;
    const net::Address* address;
    const std::string* request;
    Clock::time_point measure_start;
    Clock::time_point end;
    const std::atomic<bool>* cancel;
  };

  Worker(const Plan& plan, int connections)
      : plan_(plan), connections_(static_cast<size_t>(connections)) {}

  void run(int cpu);
  LoadResult& result() { return result_; }
  Clock::time_point finished() const { return finished_; }

 private:
  enum class State { kClosed, kConnecting, kWriting, kReading };
  struct Connection {
    net::Fd fd;
    State state = State::kClosed;
    size_t sent = 0;
    Clock::time_point started;   // connect or request start
    Clock::time_point deadline;  // for the current connect or request
    Clock::time_point retry_at;  // when kClosed
    net::ResponseParser parser;
  };

  void open(Connection& c, Clock::time_point now);
  void on_event(Connection& c, uint32_t events);
  void start_request(Connection& c, Clock::time_point now);
  void write_some(Connection& c);
  void read_some(Connection& c);
  void on_response(Connection& c, Clock::time_point now);
  void fail(Connection& c, uint64_t ErrorCounts::*cause, int error, Clock::time_point retry_at);
  void scan(Clock::time_point now);
  bool measuring(Clock::time_point now) const { return now >= plan_.measure_start; }

  Plan plan_;
  std::vector<Connection> connections_;
  net::Fd epoll_;
  std::unique_ptr<char[]> buffer_ = std::make_unique<char[]>(kReadChunk);
  LoadResult result_;
  Clock::time_point finished_;
};

void Worker::run(int cpu) {
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    ::sched_setaffinity(0, sizeof set, &set);  // best effort: report, do not fail
  }
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  const Clock::time_point begin = Clock::now();
  for (auto& c : connections_) open(c, begin);

  epoll_event events[kMaxEvents];
  Clock::time_point last_scan = begin;
  for (;;) {
    Clock::time_point now = Clock::now();
    if (now >= plan_.end || (plan_.cancel && plan_.cancel->load(std::memory_order_relaxed))) break;
    const auto wait = std::min<Clock::duration>(plan_.end - now, kScanInterval);
    const int timeout_ms =
        static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
    const int n = ::epoll_wait(epoll_.get(), events, kMaxEvents, timeout_ms);
    for (int i = 0; i < n; ++i)
      on_event(*static_cast<Connection*>(events[i].data.ptr), events[i].events);
    now = Clock::now();
    if (now - last_scan >= kScanInterval) {
      scan(now);
      last_scan = now;
    }
  }
  finished_ = Clock::now();
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  result_.cpu_user_s = timeval_seconds(usage.ru_utime);
  result_.cpu_system_s = timeval_seconds(usage.ru_stime);
  for (auto& c : connections_) c.fd.reset();
}

void Worker::open(Connection& c, Clock::time_point now) {
  const net::Address& address = *plan_.address;
  c.fd.reset(::socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!c.fd) {
    fail(c, &ErrorCounts::connect, errno, now + kConnectRetryDelay);
    return;
  }
  net::set_nodelay(c.fd.get());
  if (::connect(c.fd.get(), address.get(), address.length) != 0 && errno != EINPROGRESS) {
    fail(c, &ErrorCounts::connect, errno, now + kConnectRetryDelay);
    return;
  }
  c.state = State::kConnecting;
  c.started = now;
  c.deadline = now + plan_.config->timeout;
  // Edge-triggered for both directions: registered once, never modified.
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &c;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c.fd.get(), &ev) != 0)
    fail(c, &ErrorCounts::connect, errno, now + kConnectRetryDelay);
}

void Worker::on_event(Connection& c, uint32_t events) {
  if (c.state == State::kConnecting) {
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    const Clock::time_point now = Clock::now();
    if (error != 0) {
      fail(c, &ErrorCounts::connect, error, now + kConnectRetryDelay);
      return;
    }
    if ((events & EPOLLOUT) == 0) return;
    if (measuring(now)) result_.connect_latency.record(nanos_between(c.started, now));
    start_request(c, now);
    // Fall through: this edge may also say the peer already wrote or closed.
  } else if (c.state == State::kWriting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    write_some(c);
  }
  if (c.state == State::kReading && (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
    read_some(c);
}

void Worker::start_request(Connection& c, Clock::time_point now) {
  c.state = State::kWriting;
  c.sent = 0;
  c.started = now;
  c.deadline = now + plan_.config->timeout;
  c.parser.reset();
  write_some(c);
}

void Worker::write_some(Connection& c) {
  const std::string& request = *plan_.request;
  while (c.sent < request.size()) {
    const ssize_t n =
        ::send(c.fd.get(), request.data() + c.sent, request.size() - c.sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;  // the next EPOLLOUT edge continues
    } else {
      fail(c, &ErrorCounts::write, errno, Clock::now());
      return;
    }
  }
  c.state = State::kReading;
}

void Worker::read_some(Connection& c) {
  while (c.state == State::kReading) {
    const ssize_t n = ::recv(c.fd.get(), buffer_.get(), kReadChunk, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) fail(c, &ErrorCounts::read, errno, Clock::now());
      return;
    }
    const Clock::time_point now = Clock::now();
    if (n == 0) {
      c.parser.on_eof();
      if (c.parser.state() == net::ResponseParser::State::kComplete) {
        on_response(c, now);
      } else {
        fail(c, &ErrorCounts::read, 0, now);
      }
      return;
    }
    if (measuring(now)) result_.bytes_read += static_cast<uint64_t>(n);
    const std::string_view data(buffer_.get(), static_cast<size_t>(n));
    const size_t used = c.parser.feed(data);
    if (c.parser.state() == net::ResponseParser::State::kError) {
      fail(c, &ErrorCounts::read, EPROTO, now);
      return;
    }
    if (c.parser.state() == net::ResponseParser::State::kComplete) {
      if (used != data.size()) {  // bytes nobody asked for: the stream is out of step
        fail(c, &ErrorCounts::read, EPROTO, now);
        return;
      }
      on_response(c, now);
    }
  }
}

void Worker::on_response(Connection& c, Clock::time_point now) {
  if (measuring(now)) {
    ++result_.requests;
    result_.latency.record(nanos_between(c.started, now));
    if (c.parser.status() >= 400) ++result_.errors.status;
  }
  if (plan_.config->keep_alive && c.parser.keep_alive() && c.fd) {
    start_request(c, now);
  } else {
    c.fd.reset();
    open(c, now);
  }
}

void Worker::fail(Connection& c, uint64_t ErrorCounts::*cause, int error,
                  Clock::time_point retry_at) {
  const Clock::time_point now = Clock::now();
  if (measuring(now)) {
    ++(result_.errors.*cause);
    if (result_.first_error.empty()) {
      result_.first_error = error == 0
                                ? std::string("connection closed before the response was complete")
                                : std::string(std::strerror(error));
    }
  }
  c.fd.reset();
  c.state = State::kClosed;
  c.retry_at = retry_at;
  if (retry_at <= now) open(c, now);
}

void Worker::scan(Clock::time_point now) {
  for (auto& c : connections_) {
    if (c.state == State::kClosed) {
      if (now >= c.retry_at) open(c, now);
    } else if (now >= c.deadline) {
      // A request abandoned at the timeout took at least that long: keep it
      // in the latency figures (wrk drops it, which hides starvation).
      if (measuring(now)) result_.latency.record(nanos_between(c.started, now));
      fail(c, &ErrorCounts::timeout, ETIMEDOUT, now);
    }
  }
}

}  // namespace

ErrorCounts& ErrorCounts::operator+=(const ErrorCounts& other) {
  connect += other.connect;
  read += other.read;
  write += other.write;
  timeout += other.timeout;
  status += other.status;
  return *this;
}

LoadResult run_load(const LoadConfig& config, const std::atomic<bool>* cancel) {
  if (config.connections < 1) throw std::invalid_argument("need at least one connection");
  if (config.threads < 1) throw std::invalid_argument("need at least one thread");
  if (config.duration.count() <= 0) throw std::invalid_argument("the duration must be positive");
  const net::Address address = net::resolve(config.url.host, config.url.port);
  const std::string request = build_request(config);
  const int threads = std::min(config.threads, config.connections);

  const Clock::time_point start = Clock::now();
  const Worker::Plan plan{
      &config, &address, &request, start + config.warmup, start + config.warmup + config.duration,
      cancel};
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < threads; ++i) {
    const int share = config.connections / threads + (i < config.connections % threads ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(plan, share));
  }
  std::vector<std::thread> running;
  for (int i = 0; i < threads; ++i) {
    const int cpu =
        config.cpus.empty() ? -1 : config.cpus[static_cast<size_t>(i) % config.cpus.size()];
    running.emplace_back([&worker = *workers[static_cast<size_t>(i)], cpu] { worker.run(cpu); });
  }
  for (auto& thread : running) thread.join();

  LoadResult total;
  Clock::time_point finished = plan.measure_start;
  for (auto& worker : workers) {
    LoadResult& part = worker->result();
    total.requests += part.requests;
    total.bytes_read += part.bytes_read;
    total.errors += part.errors;
    total.latency.merge(part.latency);
    total.connect_latency.merge(part.connect_latency);
    total.cpu_user_s += part.cpu_user_s;
    total.cpu_system_s += part.cpu_system_s;
    if (total.first_error.empty()) total.first_error = part.first_error;
    finished = std::max(finished, worker->finished());
  }
  total.duration_s = std::chrono::duration<double>(finished - plan.measure_start).count();
  return total;
}

}  // namespace cmb::loadgen
