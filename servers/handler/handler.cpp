#include "servers/handler/handler.hpp"

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <thread>

#include "net/http_response.hpp"

namespace cmb::servers {
namespace {

constexpr std::string_view kHello = "Hello, World!";

bool parse_number(std::string_view text, uint64_t max, uint64_t& value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty() && value <= max;
}

int64_t thread_cpu_nanos() {
  timespec ts;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// A filler body, shared by every thread: large bodies are copied from it.
const std::string& filler() {
  static const std::string text(64 * 1024, 'x');
  return text;
}

}  // namespace

WorkField parse_work_field(std::string_view key, std::string_view value, Work& work) {
  const auto known = std::find_if(std::begin(kWorkKeys), std::end(kWorkKeys),
                                  [&](const WorkKey& k) { return k.name == key; });
  if (known == std::end(kWorkKeys)) return WorkField::kUnknownKey;
  uint64_t number = 0;
  if (!parse_number(value, known->max, number)) return WorkField::kBadValue;
  const auto micros = std::chrono::microseconds(number);
  if (key == "cpu_us") {
    work.cpu = micros;
  } else if (key == "sleep_us") {
    work.sleep = micros;
  } else if (key == "wait_us") {
    work.wait = micros;
  } else {
    work.body_bytes = static_cast<size_t>(number);
    work.custom_body = true;
  }
  return WorkField::kRead;
}

int parse_work(std::string_view query, Work& work) {
  bool bad = false;
  for_each_query_field(query, [&](std::string_view key, std::string_view value) {
    bad = bad || parse_work_field(key, value, work) == WorkField::kBadValue;
  });
  return bad ? 400 : 0;
}

void burn_cpu(std::chrono::microseconds amount, int interrupt_fd) {
  if (amount.count() <= 0) return;
  const int64_t deadline = thread_cpu_nanos() + amount.count() * 1000;
  // The interrupt is looked at after every millisecond of CPU: a poll costs
  // about a microsecond, 0.1 % of the burn (and is this thread's CPU, so the
  // burn stays exact).
  constexpr int64_t kCheckEveryNanos = 1'000'000;
  int64_t next_check =
      interrupt_fd >= 0 ? deadline - amount.count() * 1000 + kCheckEveryNanos : INT64_MAX;
  // xorshift steps between clock reads; the result goes to an atomic so the
  // loop has an observable effect.
  static std::atomic<uint64_t> sink{0};
  uint64_t x = 0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(deadline);
  for (;;) {
    for (int i = 0; i < 256; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
    }
    const int64_t now = thread_cpu_nanos();
    if (now >= deadline) break;
    if (now >= next_check) {
      pollfd p{interrupt_fd, POLLIN, 0};
      if (::poll(&p, 1, 0) > 0) break;
      next_check = now + kCheckEveryNanos;
    }
  }
  sink.fetch_add(x, std::memory_order_relaxed);
}

void interruptible_sleep(std::chrono::microseconds amount, int interrupt_fd) {
  if (amount.count() <= 0) return;
  if (interrupt_fd < 0) {
    std::this_thread::sleep_for(amount);
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + amount;
  pollfd p{interrupt_fd, POLLIN, 0};
  for (;;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return;
    // ppoll for sub-millisecond precision: sleep_us=100 must not become 1 ms.
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    const timespec timeout{static_cast<time_t>(ns / 1'000'000'000),
                           static_cast<long>(ns % 1'000'000'000)};
    const int n = ::ppoll(&p, 1, &timeout, nullptr);
    if (n > 0) return;  // interrupted
  }
}

void run_inline_work(const Work& work, int interrupt_fd) {
  burn_cpu(work.cpu, interrupt_fd);
  interruptible_sleep(work.sleep, interrupt_fd);
}

void append_work_response(std::string& out, const Work& work, const ReplyFraming& framing) {
  net::append_response_head(out, {.status = 200,
                                  .content_type = "text/plain",
                                  .content_length = work.body_bytes,
                                  .keep_alive = framing.keep_alive,
                                  .version_minor = framing.version_minor});
  if (framing.head_only) return;
  if (!work.custom_body) {
    out += kHello;
    return;
  }
  for (size_t left = work.body_bytes; left > 0;) {
    const size_t take = std::min(left, filler().size());
    out.append(filler(), 0, take);
    left -= take;
  }
}

}  // namespace cmb::servers
