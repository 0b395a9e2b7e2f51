// The stages a request's time is split into inside the server
// (servers/stages.hpp): the histogram's buckets, and the stamps the shared
// HttpSession takes, read back through the server's counters.
#include "servers/stages.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "servers/counters.hpp"
#include "servers/http_session.hpp"

namespace cmb::servers {
namespace {

using namespace std::chrono_literals;

TEST(StageHistogram, BucketsHoldTheirValuesWithinAThirtySecond) {
  int last = -1;
  for (uint64_t nanos : {0ull, 63ull, 64ull, 1023ull, 1024ull, 1500ull, 10'000ull, 1'000'000ull,
                         10'000'000ull, 2'000'000'000ull, 1ull << 40}) {
    const int bucket = stage_bucket(nanos);
    EXPECT_GE(bucket, last) << nanos;
    EXPECT_LT(bucket, kStageBuckets);
    last = bucket;
    if (nanos >= 1024) {
      EXPECT_NEAR(stage_bucket_middle(bucket), static_cast<double>(nanos),
                  0.033 * static_cast<double>(nanos))
          << nanos;
    }
  }
  EXPECT_EQ(stage_bucket(~0ull), kStageBuckets - 1) << "beyond the range: the last bucket";

  StageHistogram h;
  for (int i = 0; i < 99; ++i) h.record(10'000);
  h.record(5'000'000);
  EXPECT_DOUBLE_EQ(h.mean_us(), (99 * 10.0 + 5000.0) / 100);
  EXPECT_NEAR(h.percentile_us(50), 10, 0.33);
  EXPECT_NEAR(h.percentile_us(100), 5000, 165);
  StageHistogram later = h;
  later.record(20'000);
  const StageHistogram window = later.since(h);
  EXPECT_EQ(window.count, 1u);
  EXPECT_NEAR(window.percentile_us(99), 20, 0.66);
}

// What the stages gained while `action` ran, in this process.
template <typename Action>
std::array<StageHistogram, kStages> stages_during(Action action) {
  const CounterValues before = read_counters();
  action();
  const CounterValues after = read_counters();
  std::array<StageHistogram, kStages> out;
  for (size_t i = 0; i < kStages; ++i) out[i] = after.stages[i].since(before.stages[i]);
  return out;
}

const StageHistogram& of(const std::array<StageHistogram, kStages>& all, Stage stage) {
  return all[static_cast<size_t>(stage)];
}

// A pipelined burst: each request gets its own stamps, and each is recorded
// only once its whole response has gone to the kernel.
TEST(SessionStages, APipelinedBurstRecordsEachRequestWhenItsResponseIsSent) {
  HttpSession session(Limits{});
  const std::string request = "GET /?sleep_us=2000 HTTP/1.1\r\nHost: x\r\n\r\n";
  session.input().append(request + request + request);
  auto stages = stages_during([&] { session.process(HttpSession::WaitPolicy::kBlock); });
  EXPECT_EQ(of(stages, Stage::kService).count, 0u) << "nothing sent yet";
  const size_t all = session.pending_output().size();
  ASSERT_GT(all, 0u);
  stages = stages_during([&] { session.consume_output(all / 3 + 1); });  // the first, and a bit
  EXPECT_EQ(of(stages, Stage::kService).count, 1u);
  stages = stages_during([&] { session.consume_output(session.pending_output().size()); });
  EXPECT_EQ(of(stages, Stage::kService).count, 2u);
  EXPECT_EQ(of(stages, Stage::kQueued).count, 2u);
  EXPECT_EQ(of(stages, Stage::kOutbound).count, 2u);
  EXPECT_GE(of(stages, Stage::kService).mean_us(), 2000) << "the sleep is service";
  EXPECT_LT(of(stages, Stage::kQueued).mean_us(), 1000) << "handled as soon as parsed";
  // The third response waited for the second's 2 ms of service: outbound.
  EXPECT_GE(of(stages, Stage::kOutbound).mean_us(), 1000);
}

// A request in pieces is stamped from when it is whole; bad input and a
// connection lost before its response went out record nothing.
TEST(SessionStages, OnlyAnsweredRequestsRecordStages) {
  const auto stages = stages_during([] {
    HttpSession pieces(Limits{});
    pieces.input().append("GET /?cpu_us=100 HT");
    pieces.process(HttpSession::WaitPolicy::kBlock);
    pieces.input().append("TP/1.1\r\nHost: x\r\n\r\n");
    pieces.process(HttpSession::WaitPolicy::kBlock);
    pieces.consume_output(pieces.pending_output().size());

    HttpSession bad(Limits{});
    bad.input().append("BREW /pot HTTP/1.1\r\n\r\n");
    bad.process(HttpSession::WaitPolicy::kBlock);
    ASSERT_TRUE(bad.has_output());
    bad.consume_output(bad.pending_output().size());

    HttpSession lost(Limits{});
    lost.input().append("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    lost.process(HttpSession::WaitPolicy::kBlock);
    lost.consume_output(3);  // reset mid-response: the session ends here
  });
  EXPECT_EQ(of(stages, Stage::kService).count, 1u) << "only the request in pieces";
  EXPECT_GE(of(stages, Stage::kService).mean_us(), 100);
}

// A deferred wait (an event loop's wait_us) is service; AMPED's request
// held for a helper waits in queued.
TEST(SessionStages, ADeferredWaitIsServiceAndAHeldRequestIsQueued) {
  HttpSession loop(Limits{});
  loop.input().append("GET /?wait_us=3000 HTTP/1.1\r\nHost: x\r\n\r\n");
  auto stages = stages_during([&] {
    ASSERT_EQ(loop.process(HttpSession::WaitPolicy::kDefer), 3000us);
    std::this_thread::sleep_for(3ms);
    loop.finish_wait();
    loop.consume_output(loop.pending_output().size());
  });
  EXPECT_GE(of(stages, Stage::kService).mean_us(), 3000);
  EXPECT_LT(of(stages, Stage::kQueued).mean_us(), 1000);

  HttpSession amped(Limits{});
  amped.input().append("GET /?sleep_us=1000 HTTP/1.1\r\nHost: x\r\n\r\n");
  stages = stages_during([&] {
    amped.process(HttpSession::WaitPolicy::kDeferAndHoldBlocking);
    ASSERT_TRUE(amped.blocking_pending());
    std::this_thread::sleep_for(2ms);  // no helper free yet
    amped.run_blocking();
    amped.consume_output(amped.pending_output().size());
  });
  EXPECT_GE(of(stages, Stage::kQueued).mean_us(), 2000);
  EXPECT_GE(of(stages, Stage::kService).mean_us(), 1000);
}

}  // namespace
}  // namespace cmb::servers
