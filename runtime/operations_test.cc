// Operations: each refusal carries its reason (callers map reasons to exit
// codes and HTTP statuses, never message text), a refused operation writes
// nothing, and cancel, upgrade and the cost report do what the CLI and the
// API rely on.
#include "runtime/operations.h"

#include "runtime/runner_test_support.h"

namespace aos {
namespace {

using namespace runner_test;

const char* kGate =
    "type Plan { budget: int }\n"
    "workflow g() {\n"
    "  approval ok { ask \"Plan?\" returns Plan approvers [\"ada\"] }\n"
    "  effect e = http.post(\"http://x/pay\", json: {b: ok.data.budget}) { key \"pay-1\" compensate http.post(\"http://x/refund\") }\n"
    "  output e.status\n}\n";

Decision By(const std::string& who, Value data = Value()) {
  Decision d;
  d.by = who;
  d.data = std::move(data);
  d.at_nanos = kStart;
  return d;
}

TEST_CASE("a refused decision says why and records nothing", "[operations]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("g.aos", kGate);
  REQUIRE(Start(store, clock, calls, w, "r1").status == RunStatus::kWaiting);
  RunLog log(store, clock);
  std::string error;
  REQUIRE(log.Load("r1", &error));
  const uint64_t before = log.state().next_seq;
  const Value plan = Value::Map({{S("budget"), Value::Int(5)}});

  OpResult r = aos::Decide(log, w.program.get(), w.dag, "nope", By("ada", plan));
  CHECK(r.status == OpStatus::kNotFound);
  CHECK(r.message.find("waiting: ok") != std::string::npos);
  r = aos::Decide(log, w.program.get(), w.dag, "ok", By("eve", plan));
  CHECK(r.status == OpStatus::kForbidden);
  r = aos::Decide(log, w.program.get(), w.dag, "ok", By("ada", Value::Map({{S("budget"), S("x")}})));
  CHECK(r.status == OpStatus::kInvalid);
  Decision stale = By("ada", plan);
  stale.expect_hash = "0000";
  CHECK(aos::Decide(log, w.program.get(), w.dag, "ok", stale).status == OpStatus::kStale);
  CHECK(log.state().next_seq == before);  // nothing appended

  REQUIRE(aos::Decide(log, w.program.get(), w.dag, "ok", By("ada", plan)).ok());
  CHECK(log.state().next_seq == before + 1);
  r = aos::Decide(log, w.program.get(), w.dag, "ok", By("ada", plan));
  CHECK(r.status == OpStatus::kConflict);  // a decision is final
  CHECK(r.message.find("already decided") != std::string::npos);
}

TEST_CASE("an approval's explain is in the inbox and in the payload hash", "[operations]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  auto gate = [&](const std::string& why, const std::string& id) {
    Loaded w = Load("x.aos", "workflow x() {\n  approval ok {\n    ask \"Send?\"\n    show {n: 3}\n" +
                                 (why.empty() ? std::string() : "    explain \"" + why + "\"\n") +
                                 "    timeout 1h\n  }\n  output ok.approved\n}\n");
    REQUIRE(Start(store, clock, calls, w, id).status == RunStatus::kWaiting);
  };
  gate("the model found 3 new leads", "with");
  gate("another reason", "other");
  gate("", "without");
  std::vector<std::string> damaged;
  std::map<std::string, InboxItem> items;
  for (auto& i : Inbox(store, clock, &damaged)) items[i.run_id] = i;
  REQUIRE(items.size() == 3);
  CHECK(items["with"].explain == "the model found 3 new leads");
  CHECK(InboxItemJson(items["with"]).find("\"explain\":\"the model found 3 new leads\"") != std::string::npos);
  CHECK(InboxItemJson(items["without"]).find("\"explain\":null") != std::string::npos);
  // The same payload with another explanation is another decision.
  CHECK(items["with"].payload_hash != items["other"].payload_hash);
  CHECK(items["with"].payload_hash != items["without"].payload_hash);
}

TEST_CASE("cancel compensates what the run did; an ended run is refused", "[operations]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("g.aos",
                  "workflow c() {\n"
                  "  effect e = http.post(\"http://x/pay\", json: {}) { key \"pay-2\" compensate http.post(\"http://x/refund\") }\n"
                  "  wait later for 2d after e\n"
                  "  output 1 after later\n}\n");
  REQUIRE(Start(store, clock, calls, w, "c1").status == RunStatus::kWaiting);
  RunLog log(store, clock);
  std::string error;
  REQUIRE(log.Load("c1", &error));
  RunOutcome o;
  REQUIRE(CancelRun(log, *w.program, *w.dag, calls, clock, RunOptions{}, &o).ok());
  CHECK(o.status == RunStatus::kCancelled);
  CHECK(calls.receipts()["pay-2:undo"] == 1);
  const uint64_t after = log.state().next_seq;
  CHECK(CancelRun(log, *w.program, *w.dag, calls, clock, RunOptions{}, &o).status == OpStatus::kEnded);
  CHECK(log.state().next_seq == after);
}

TEST_CASE("an upgrade that changes completed steps is refused unless forced", "[operations]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  const std::string v1 = "workflow u() {\n  let a = 1\n  wait w for 1d after a\n  output a after w\n}\n";
  const std::string v2 = "workflow u() {\n  let a = 2\n  wait w for 1d after a\n  output a after w\n}\n";
  const std::string v3 = "workflow u() {\n  let a = 1\n  wait w for 1d after a\n  output a + 10 after w\n}\n";
  Loaded w1 = Load("u.aos", v1), w2 = Load("u.aos", v2), w3 = Load("u.aos", v3);
  REQUIRE(Start(store, clock, calls, w1, "u1").status == RunStatus::kWaiting);
  RunLog log(store, clock);
  std::string error;
  REQUIRE(log.Load("u1", &error));
  std::vector<std::string> blockers;
  const uint64_t before = log.state().next_seq;
  OpResult r = UpgradeRun(log, *w2.program, *w1.dag, *w2.dag, "u2.aos", v2, false, &blockers);
  CHECK(r.status == OpStatus::kConflict);
  REQUIRE(blockers.size() == 1);
  CHECK(blockers[0].rfind("a:", 0) == 0);
  CHECK(log.state().next_seq == before);
  // A change to a pending statement only: allowed, and the run uses it.
  REQUIRE(UpgradeRun(log, *w3.program, *w1.dag, *w3.dag, "u3.aos", v3, false, &blockers).ok());
  CHECK(blockers.empty());
  CHECK(log.state().source == v3);
  CHECK(log.state().file == "u3.aos");
  clock.Advance(2LL * 24 * 3600 * 1'000'000'000);
  CHECK(Runner(log, *w3.program, *w3.dag, calls, clock, RunOptions{}).Run().output == Value::Int(11));
}

TEST_CASE("the cost report sums model calls per run and model, failed-but-answered ones included",
          "[operations]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  calls.SetModelCost(Money{2'000'000, "usd"});  // 0.002 usd per call
  Loaded w = Load("m.aos",
                  "agent a { model: \"small\" }\n"
                  "workflow m() {\n"
                  "  step x = a.ask(\"one\")\n"
                  "  step y = a.ask(\"two\") after x\n"
                  "  output y.text\n}\n");
  REQUIRE(Start(store, clock, calls, w, "m1").status == RunStatus::kCompleted);
  // A typed agent whose answers never fit: three answered attempts, failed.
  Loaded t = Load("t.aos",
                  "type Out { n: int }\n"
                  "agent b { model: \"small\"  output: Out }\n"
                  "workflow t() {\n  step o = b.ask(\"n?\")\n  output o\n}\n");
  calls.AnswerWith({Value::Map({{S("n"), S("many")}})});
  REQUIRE(Start(store, clock, calls, t, "t1").status == RunStatus::kFailed);
  auto rows = Costs(store, ListRuns(store));
  std::sort(rows.begin(), rows.end(), [](const CostRow& a, const CostRow& b) { return a.run_id < b.run_id; });
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].run_id == "m1");
  CHECK(rows[0].workflow == "m");
  CHECK(rows[0].model == "small");
  CHECK(rows[0].calls == 2);
  CHECK(rows[0].tokens_in == 20);
  CHECK(rows[0].tokens_out == 40);
  CHECK(rows[0].cost.nanos == 4'000'000);
  CHECK(rows[0].cost.currency == "usd");
  CHECK(rows[1].run_id == "t1");
  CHECK(rows[1].calls == 3);
  CHECK(rows[1].cost.nanos == 6'000'000);
}

}  // namespace
}  // namespace aos
