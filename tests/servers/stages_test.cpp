// The stages a request's time is split into inside the server
// (servers/stages.hpp): the histogram's buckets, and the stamps the shared
// HttpSession takes, read back through the server's counters.
#include "servers/stages/stages.hpp"

#include <gtest/gtest.h>
#include <malloc.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/socket.hpp"
#include "servers/counters.hpp"
#include "servers/fifo.hpp"
#include "servers/http_session.hpp"
#include "servers/work_queue.hpp"

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

// Limits::attribution: the sessions stamp their requests' stages.
const Limits kAttributed{.attribution = true};

// A time the kernel might have stamped, `ago` before now.
int64_t kernel_time(std::chrono::nanoseconds ago) { return net::realtime_ns() - ago.count(); }

// A pipelined burst: each request gets its own stamps, and each is recorded
// only once its whole response has gone to the kernel.
TEST(SessionStages, APipelinedBurstRecordsEachRequestWhenItsResponseIsSent) {
  HttpSession session(kAttributed);
  const std::string request = "GET /?sleep_us=2000 HTTP/1.1\r\nHost: x\r\n\r\n";
  session.append_input(request + request + request, kernel_time(5ms));
  auto stages = stages_during([&] { session.process(HttpSession::WaitPolicy::kBlock); });
  EXPECT_EQ(of(stages, Stage::kService).count, 0u) << "nothing sent yet";
  const size_t all = session.pending_output().size();
  ASSERT_GT(all, 0u);
  stages = stages_during([&] { session.consume_output(all / 3 + 1); });  // the first, and a bit
  EXPECT_EQ(of(stages, Stage::kService).count, 1u);
  stages = stages_during([&] { session.consume_output(session.pending_output().size()); });
  for (const Stage stage : {Stage::kInbound, Stage::kQueued, Stage::kService, Stage::kOutbound})
    EXPECT_EQ(of(stages, stage).count, 2u) << kStageNames[static_cast<size_t>(stage)];
  EXPECT_GE(of(stages, Stage::kService).mean_us(), 2000) << "the sleep is service";
  // All three came in one read, 5 ms after the kernel had them.
  EXPECT_GE(of(stages, Stage::kInbound).mean_us(), 5000);
  EXPECT_LT(of(stages, Stage::kInbound).mean_us(), 50'000);
  // The second waited for the first's 2 ms, the third for 4: queued.
  EXPECT_GE(of(stages, Stage::kQueued).mean_us(), 3000);
  EXPECT_GE(of(stages, Stage::kOutbound).mean_us(), 0);
}

// A request in pieces: inbound runs from its first byte's arrival to the
// read that made it whole.
TEST(SessionStages, ARequestInPiecesIsInboundFromItsFirstByte) {
  HttpSession pieces(kAttributed);
  const auto stages = stages_during([&] {
    pieces.append_input("GET /?cpu_us=10 HT", kernel_time(40ms));
    pieces.process(HttpSession::WaitPolicy::kBlock);
    pieces.append_input("TP/1.1\r\nHost: x\r\n", kernel_time(20ms));
    pieces.process(HttpSession::WaitPolicy::kBlock);
    pieces.append_input("\r\nGET /?cpu_us=10 HTTP/1.1\r\nHost: x\r\n\r\n", kernel_time(0ms));
    pieces.process(HttpSession::WaitPolicy::kBlock);
    pieces.consume_output(pieces.pending_output().size());
  });
  const StageHistogram& inbound = of(stages, Stage::kInbound);
  ASSERT_EQ(inbound.count, 2u);
  // The first from 40 ms ago; the second came whole in the last read.
  EXPECT_GE(inbound.percentile_us(100), 40'000 * 0.96);
  EXPECT_LT(inbound.percentile_us(50), 10'000);

  // Without the kernel's time (a socket whose listener did not ask for
  // it) there is no inbound, and the rest is still stamped.
  HttpSession unstamped(kAttributed);
  const auto without = stages_during([&] {
    unstamped.append_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0);
    unstamped.process(HttpSession::WaitPolicy::kBlock);
    unstamped.consume_output(unstamped.pending_output().size());
  });
  EXPECT_EQ(of(without, Stage::kInbound).count, 0u);
  EXPECT_EQ(of(without, Stage::kService).count, 1u);
}

// Bad input (4xx, 501) and a connection lost before its response went out
// record nothing. (A connection refused with 503 never gets a session.)
TEST(SessionStages, OnlyAnsweredRequestsRecordStages) {
  const auto stages = stages_during([] {
    HttpSession pieces(kAttributed);
    pieces.append_input("GET /?cpu_us=100 HT", kernel_time(1ms));
    pieces.process(HttpSession::WaitPolicy::kBlock);
    pieces.append_input("TP/1.1\r\nHost: x\r\n\r\n", kernel_time(0ms));
    pieces.process(HttpSession::WaitPolicy::kBlock);
    pieces.consume_output(pieces.pending_output().size());

    for (const char* refused : {"BREW /pot HTTP/1.1\r\n\r\n",                       // 501
                                "GET /?sleep_us=x HTTP/1.1\r\nHost: x\r\n\r\n"}) {  // 400
      HttpSession bad(kAttributed);
      bad.append_input(refused, kernel_time(0ms));
      bad.process(HttpSession::WaitPolicy::kBlock);
      ASSERT_TRUE(bad.has_output());
      bad.consume_output(bad.pending_output().size());
    }

    HttpSession lost(kAttributed);
    lost.append_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n", kernel_time(0ms));
    lost.process(HttpSession::WaitPolicy::kBlock);
    lost.consume_output(3);  // reset mid-response: the session ends here
  });
  for (const Stage stage : {Stage::kInbound, Stage::kQueued, Stage::kService, Stage::kOutbound})
    EXPECT_EQ(of(stages, stage).count, 1u) << "only the request in pieces";
  EXPECT_GE(of(stages, Stage::kService).mean_us(), 100);
}

// Without Limits::attribution a session stamps nothing and records no stage.
TEST(SessionStages, WithoutAttributionNothingIsRecorded) {
  HttpSession plain(Limits{});
  const auto stages = stages_during([&] {
    plain.append_input("GET /?cpu_us=10 HTTP/1.1\r\nHost: x\r\n\r\n", kernel_time(1ms));
    plain.process(HttpSession::WaitPolicy::kBlock);
    plain.consume_output(plain.pending_output().size());
  });
  ASSERT_FALSE(plain.has_output()) << "answered all the same";
  for (const auto& stage : stages) EXPECT_EQ(stage.count, 0u);
}

// A deferred wait (an event loop's wait_us) is service; AMPED's request
// held for a helper waits in queued.
TEST(SessionStages, ADeferredWaitIsServiceAndAHeldRequestIsQueued) {
  HttpSession loop(kAttributed);
  loop.input().append("GET /?wait_us=3000 HTTP/1.1\r\nHost: x\r\n\r\n");
  auto stages = stages_during([&] {
    ASSERT_EQ(loop.process(HttpSession::WaitPolicy::kDefer), 3000us);
    std::this_thread::sleep_for(3ms);
    loop.finish_wait();
    loop.consume_output(loop.pending_output().size());
  });
  EXPECT_GE(of(stages, Stage::kService).mean_us(), 3000);
  EXPECT_LT(of(stages, Stage::kQueued).mean_us(), 1000);

  HttpSession amped(kAttributed);
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

// The stamps' queues keep order through their compaction, and an idle
// session allocates nothing for them. (Under a sanitizer's allocator
// mallinfo2 counts nothing, and the second half checks nothing.)
TEST(SessionStages, TheStampQueuesKeepOrderAndCostNothingEmpty) {
  Fifo<int> fifo;
  int next_in = 0;
  int next_out = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < round % 7 + 1; ++i) fifo.push_back(next_in++);
    for (int i = 0; i < round % 5 + 1 && !fifo.empty(); ++i, fifo.pop_front())
      ASSERT_EQ(fifo.front(), next_out++);
    ASSERT_EQ(fifo.size(), static_cast<size_t>(next_in - next_out));
  }
  int expected = next_out;
  for (int value : fifo) EXPECT_EQ(value, expected++);
  while (!fifo.empty()) fifo.pop_front();

  // An idle connection's session: what it allocates besides itself (its
  // read buffer's first block, nothing for stamps), with attribution on.
  constexpr int kSessions = 1000;
  const size_t before = ::mallinfo2().uordblks;
  std::vector<std::unique_ptr<HttpSession>> sessions;
  sessions.reserve(kSessions);
  const size_t reserved = ::mallinfo2().uordblks;
  for (int i = 0; i < kSessions; ++i)
    sessions.push_back(std::make_unique<HttpSession>(kAttributed));
  const size_t per_session = (::mallinfo2().uordblks - reserved) / kSessions;
  EXPECT_LT(per_session, sizeof(HttpSession) + 256)
      << "an idle session allocates " << per_session - sizeof(HttpSession) << " bytes besides its "
      << sizeof(HttpSession) << " (heap " << before << " before)";
}

// A queue given a stage counts what it holds as waiting there, with their
// waits so far, whichever thread pushes or pops; one without counts nothing.
TEST(Waiting, AQueueCountsWhatWaitsInItsStage) {
  const auto queued = [] { return read_counters().waiting[static_cast<size_t>(Stage::kQueued)]; };
  WorkQueue<int> plain(8);
  ASSERT_TRUE(plain.push(0));
  EXPECT_EQ(queued().count, 0u);

  WorkQueue<int> queue(8, Stage::kQueued);
  ASSERT_TRUE(queue.push(1));
  ASSERT_TRUE(queue.push(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(queue.push(3));
  EXPECT_EQ(queued().count, 3u);
  EXPECT_GE(queued().age_ns, 2 * 20'000'000u) << "two have waited 20 ms or more";
  std::thread([&] { EXPECT_EQ(queue.pop(), 1); }).join();  // another thread takes one
  EXPECT_EQ(queued().count, 2u);
  queue.close();
  EXPECT_EQ(queue.pop(), 2);
  EXPECT_EQ(queue.pop(), 3);
  EXPECT_EQ(queued().count, 0u);
  EXPECT_EQ(queued().age_ns, 0u);
  EXPECT_EQ(read_counters().waiting[static_cast<size_t>(Stage::kInbound)].count, 0u);
}

}  // namespace
}  // namespace cmb::servers
