// Cross-run idempotency claims (idempotency.h): who may send an effect key,
// and what a run does when another run holds it — on the record alone, then
// through the runner, including two runs of one process racing for a key.
#include "runtime/idempotency.h"

#include <catch2/catch.hpp>

#include <future>
#include <thread>

#include "runtime/codec.h"
#include "runtime/run_log.h"
#include "runtime/runner_test_support.h"

namespace aos {
namespace {

using runner_test::FakeCalls;
using runner_test::kStart;
using runner_test::Load;
using runner_test::Loaded;
using runner_test::Start;

void Index(Store& s, const std::string& run, RunStatus status) {
  RunIndexEntry e;
  e.run_id = run;
  e.workflow = "w";
  e.status = status;
  WriteBatch b;
  b.Put(Column::kRuns, run, EncodeRunIndex(e));
  s.Write(b, true);
}

void Put(Store& s, const std::string& key, const std::string& value) {
  WriteBatch b;
  b.Put(Column::kIdempotency, key, value);
  s.Write(b, true);
}

TEST_CASE("an effect key is claimed once; a claim passes on when its run ended or is gone", "[idempotency]") {
  MemoryStore s;
  const std::string k = IdempotencyRecordKey("w", "k-1");
  CHECK(k == std::string("w\0k-1", 5));
  using K = ClaimOutcome::Kind;
  CHECK(ClaimIdempotencyKey(s, k, "a", "e").kind == K::kClaimed);
  CHECK(*s.Get(Column::kIdempotency, k) == EncodeClaim("a", "e"));
  CHECK(HoldsClaim(s, k, "a", "e"));
  CHECK_FALSE(HoldsClaim(s, k, "a", "e2"));
  CHECK(ClaimIdempotencyKey(s, k, "a", "e").kind == K::kClaimed);  // again: still its own

  // Another run while the holder runs (or waits): held.
  Index(s, "a", RunStatus::kWaiting);
  ClaimOutcome held = ClaimIdempotencyKey(s, k, "b", "e");
  CHECK(held.kind == K::kHeld);
  CHECK(held.holder_run == "a");
  CHECK(held.holder_instance == "e");
  CHECK(HoldsClaim(s, k, "a", "e"));
  // Another instance of the same run (its first sender failed): taken over.
  CHECK(ClaimIdempotencyKey(s, k, "a", "e2").kind == K::kClaimed);
  CHECK(HoldsClaim(s, k, "a", "e2"));
  // The holder ended without giving the key up (cancelled, or a crash
  // before its failure was recorded): taken over.
  for (RunStatus ended : {RunStatus::kCancelled, RunStatus::kFailed, RunStatus::kCompleted}) {
    Put(s, k, EncodeClaim("a", "e"));
    Index(s, "a", ended);
    CHECK(ClaimIdempotencyKey(s, k, "b", "e").kind == K::kClaimed);
    CHECK(HoldsClaim(s, k, "b", "e"));
  }
  // A holder gone from the index, and an unreadable record: taken over.
  Put(s, k, EncodeClaim("gone", "e"));
  CHECK(ClaimIdempotencyKey(s, k, "b", "e").kind == K::kClaimed);
  Put(s, k, std::string("\x80no-separator"));
  CHECK(DecodeIdemRecord(s.Get(Column::kIdempotency, k)).kind == IdemRecord::Kind::kUnreadable);
  CHECK(ClaimIdempotencyKey(s, k, "b", "e").kind == K::kClaimed);
  // A result recorded under the key: every claim reads it.
  Put(s, k, EncodeValue(Value::Int(7)));
  ClaimOutcome done = ClaimIdempotencyKey(s, k, "c", "e");
  CHECK(done.kind == K::kDone);
  CHECK(done.result == Value::Int(7));
  CHECK(DecodeIdemRecord(std::nullopt).kind == IdemRecord::Kind::kNone);
}

const char* kWorkflow =
    "workflow w() {\n"
    "  effect e = http.post(\"http://x/e\") { key \"k-1\" }\n"
    "  output e.status\n}\n";

RunOutcome Resume(MemoryStore& store, ManualClock& clock, CallHandler& calls, const Loaded& w, const std::string& id) {
  RunLog log(store, clock);
  std::string error;
  REQUIRE(log.Load(id, &error));
  return Runner(log, *w.program, *w.dag, calls, clock, RunOptions{}).Run();
}

// One workflow with one keyed effect, a store, a clock, a receiver.
struct Fixture {
  Loaded w = Load("w.aos", kWorkflow);
  MemoryStore store;
  ManualClock clock{kStart};
  FakeCalls calls;
  std::string k = IdempotencyRecordKey("w", "k-1");
};

TEST_CASE("a run whose effect key another run holds waits for it, then takes its result", "[idempotency]") {
  Fixture f;
  auto& [w, store, clock, calls, k] = f;
  Put(store, k, EncodeClaim("a", "e"));
  Index(store, "a", RunStatus::kRunning);
  // Looks again after 1, 2, 4, 8, 16 s (slept inline), then waits.
  RunOutcome o = Start(store, clock, calls, w, "b");
  REQUIRE(o.status == RunStatus::kWaiting);
  CHECK(calls.calls() == 0);
  REQUIRE(o.waiting_on.as_list().size() == 1);
  const Value& on = o.waiting_on.as_list()[0];
  CHECK(on.Find("kind")->as_string() == "effect_key");
  CHECK(on.Find("name")->as_string() == "e");
  CHECK(on.Find("held_by")->as_string() == "a");
  CHECK(clock.NowNanos() - kStart >= 31'000'000'000LL);
  CHECK(on.Find("turns")->as_int() == 6);
  // Resumed (serve at the due time) while a still holds it: the next look
  // is 5 minutes on, not back to 1 s (the turns come back from the wait).
  o = Resume(store, clock, calls, w, "b");
  REQUIRE(o.status == RunStatus::kWaiting);
  CHECK(o.waiting_on.as_list()[0].Find("due")->as_time().nanos - clock.NowNanos() == 300'000'000'000LL);
  CHECK(o.waiting_on.as_list()[0].Find("turns")->as_int() == 7);
  // Run a completes the effect: b takes its result without a call.
  Put(store, k, EncodeValue(Value::MapOfUnique({{Value::String("status"), Value::Int(201)}})));
  o = Resume(store, clock, calls, w, "b");
  REQUIRE(o.status == RunStatus::kCompleted);
  CHECK(o.output == Value::Int(201));
  CHECK(calls.calls() == 0);
}

TEST_CASE("a claim left by a run that ended is taken over; a failed effect gives its key up", "[idempotency]") {
  Fixture f;
  auto& [w, store, clock, calls, k] = f;
  calls.FailNext("x/e", 1, "http.404");
  RunOutcome o = Start(store, clock, calls, w, "a");
  REQUIRE(o.status == RunStatus::kFailed);
  CHECK_FALSE(store.Get(Column::kIdempotency, k));  // given up with the failure
  // A claim its run never gave up (cancelled mid-effect): the next run sends.
  Put(store, k, EncodeClaim("gone-run", "e"));
  Index(store, "gone-run", RunStatus::kCancelled);
  o = Start(store, clock, calls, w, "b");
  REQUIRE(o.status == RunStatus::kCompleted);
  CHECK(calls.receipts().at("k-1") == 2);
  CHECK(DecodeIdemRecord(store.Get(Column::kIdempotency, k)).kind == IdemRecord::Kind::kDone);
  // --replay-effects sends again whatever the record says.
  RunLog log(store, clock);
  log.Begin("c");
  std::string error;
  REQUIRE(StartRun(log, *w.program, *w.dag, "w.aos", w.source, Value::Map({}), /*replay_effects=*/true, &error));
  o = Runner(log, *w.program, *w.dag, calls, clock, RunOptions{}).Run();
  REQUIRE(o.status == RunStatus::kCompleted);
  CHECK(calls.receipts().at("k-1") == 3);
}

// Holds every call until released: run a is mid-effect while run b starts.
class GatedCalls : public CallHandler {
 public:
  explicit GatedCalls(FakeCalls& inner) : inner_(inner) {}
  CallResult Invoke(const CallRequest& req) override {
    entered_.set_value();
    gate_.wait();
    return inner_.Invoke(req);
  }
  std::promise<void> entered_;
  std::shared_future<void> gate_;

 private:
  FakeCalls& inner_;
};

// Notes, at each claim, whether the claiming run's index is stored: another
// worker looking at the claim then finds the run, not one that is gone.
class ClaimWatchingStore : public MemoryStore {
 public:
  bool CompareAndSet(Column c, std::string_view key, const std::optional<std::string>& expected,
                     const std::string& value, std::optional<std::string>* current) override {
    const IdemRecord r = DecodeIdemRecord(value);
    if (r.kind == IdemRecord::Kind::kClaimed) {
      ++claims;
      if (!Get(Column::kRuns, r.run_id)) ++unindexed;
    }
    return MemoryStore::CompareAndSet(c, key, expected, value, current);
  }
  int claims = 0, unindexed = 0;
};

TEST_CASE("two runs of one process racing for an effect key: one sends, the other takes its result",
          "[idempotency]") {
  Loaded w = Load("w.aos", kWorkflow);
  ClaimWatchingStore store;
  ManualClock clock(kStart), clock_b(kStart);  // one per thread
  FakeCalls calls;
  GatedCalls gated(calls);
  std::promise<void> open;
  gated.gate_ = open.get_future().share();
  std::future<void> entered = gated.entered_.get_future();
  RunOutcome a;
  std::thread ta([&] { a = Start(store, clock, gated, w, "a"); });
  entered.wait();  // a is sending
  RunOutcome b = Start(store, clock_b, calls, w, "b");
  CHECK(b.status == RunStatus::kWaiting);
  CHECK(calls.calls() == 0);
  open.set_value();
  ta.join();
  REQUIRE(a.status == RunStatus::kCompleted);
  b = Resume(store, clock_b, calls, w, "b");
  REQUIRE(b.status == RunStatus::kCompleted);
  CHECK(b.output == a.output);
  CHECK(calls.receipts().at("k-1") == 1);
  CHECK(store.claims == 1);
  CHECK(store.unindexed == 0);
}

}  // namespace
}  // namespace aos
