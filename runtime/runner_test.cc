// Runner tests on the in-memory store: every statement kind, approvals,
// timers and signals with a manual clock, retries, compensation, and the
// crash-at-every-append property over every example workflow: a run whose
// store "loses power" after its k-th append and is resumed reaches the same
// output as an uncrashed run, and no effect key is executed twice.
//
// Calls go to FakeCalls (runtime/runner_test_support.h), a CallHandler (the interface meant for fakes) that
// behaves like a receiver honouring Idempotency-Key: it counts receipts per
// key and executes each key once. Real HTTP, RocksDB and SIGKILL are tested
// through aosrun in tests/aosrun_cli_test.py.
#include <catch2/catch.hpp>

#include <thread>

#include "runtime/runner_test_support.h"

namespace aos {
namespace {

using namespace runner_test;

TEST_CASE("hello runs to its output", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("hello.aos", "workflow hello(name: string = \"world\") {\n"
                               "  let greeting = \"Hello, ${name}!\"\n"
                               "  output {greeting: greeting, length: size(greeting)}\n}\n");
  Driven d = Drive(store, clock, calls, w, Value::Map({{S("name"), S("Ada")}}), 0);
  REQUIRE(d.outcome.status == RunStatus::kCompleted);
  CHECK(d.outcome.output.ToJson() == R"({"greeting":"Hello, Ada!","length":11})");
}

TEST_CASE("an approval makes the run wait; the decision continues it", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("a.aos",
                  "workflow a() {\n"
                  "  approval ok { ask \"Go?\" show {n: 1} timeout 48h on_timeout reject }\n"
                  "  effect e = http.post(\"http://x/y\", json: {a: 1}) { key \"k-1\" } when ok.approved\n"
                  "  output {approved: ok.approved, by: ok.by, done: default(e.status, 0)}\n}\n");
  RunLog log(store, clock);
  log.Begin("r1");
  std::string error;
  REQUIRE(StartRun(log, *w.program, *w.dag, "a.aos", w.source, Value::Map({}), false, &error));
  RunOutcome o = Runner(log, *w.program, *w.dag, calls, clock, RunOptions{}).Run();
  REQUIRE(o.status == RunStatus::kWaiting);
  REQUIRE(o.waiting_on.as_list().size() == 1);
  CHECK(o.waiting_on.as_list()[0].Find("ask")->as_string() == "Go?");
  CHECK(calls.calls() == 0);

  // A day later, a fresh process loads the run and the decision arrives.
  clock.Advance(24LL * 3600 * 1'000'000'000);
  RunLog again(store, clock);
  REQUIRE(again.Load("r1", &error));
  again.Append("ok", events::ApprovalDecided{.approved = true, .by = "ada"});
  o = Runner(again, *w.program, *w.dag, calls, clock, RunOptions{}).Run();
  REQUIRE(o.status == RunStatus::kCompleted);
  CHECK(o.output.ToJson() == R"({"approved":true,"by":"ada","done":200})");
  CHECK(calls.receipts().at("k-1") == 1);
}

TEST_CASE("an approval past its timeout is rejected and dependants skip", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("a.aos",
                  "workflow a() {\n"
                  "  approval ok { ask \"Go?\" timeout 48h on_timeout reject }\n"
                  "  effect e = http.post(\"http://x/y\") { key \"k-1\" } when ok.approved\n"
                  "  output {approved: ok.approved, by: ok.by, e: default(e.status, 0)}\n}\n");
  RunLog log(store, clock);
  log.Begin("r1");
  std::string error;
  REQUIRE(StartRun(log, *w.program, *w.dag, "a.aos", w.source, Value::Map({}), false, &error));
  REQUIRE(Runner(log, *w.program, *w.dag, calls, clock, RunOptions{}).Run().status == RunStatus::kWaiting);
  clock.Advance(49LL * 3600 * 1'000'000'000);
  RunOutcome o = Runner(log, *w.program, *w.dag, calls, clock, RunOptions{}).Run();
  REQUIRE(o.status == RunStatus::kCompleted);
  CHECK(o.output.ToJson() == R"({"approved":false,"by":"timeout","e":0})");
  CHECK(calls.calls() == 0);
}

TEST_CASE("a signal delivered before the run reaches it is kept", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("s.aos",
                  "workflow s() {\n"
                  "  wait pause for 2h\n"
                  "  signal paid \"invoice.paid\" after pause\n"
                  "  output paid.data\n}\n");
  RunLog log(store, clock);
  log.Begin("r1");
  std::string error;
  REQUIRE(StartRun(log, *w.program, *w.dag, "s.aos", w.source, Value::Map({}), false, &error));
  RunOutcome o = Runner(log, *w.program, *w.dag, calls, clock, RunOptions{}).Run();
  REQUIRE(o.status == RunStatus::kWaiting);
  CHECK(o.waiting_on.as_list()[0].Find("kind")->as_string() == "timer");
  log.Append("", events::SignalReceived{"invoice.paid", Value::Int(42)});
  clock.Advance(3LL * 3600 * 1'000'000'000);
  o = Runner(log, *w.program, *w.dag, calls, clock, RunOptions{}).Run();
  REQUIRE(o.status == RunStatus::kCompleted);
  CHECK(o.output.ToJson() == "42");
}

TEST_CASE("retries follow the spec, then the step fails and effects compensate", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("c.aos",
                  "workflow c() {\n"
                  "  effect a = http.post(\"http://x/a\") { key \"a-1\" compensate http.delete(\"http://x/a/${a.json.id}\") }\n"
                  "  step b = http.get(\"http://x/FAIL\") { retry 2 backoff 1s x 2 } after a\n"
                  "  output b.status\n}\n");
  calls.FailNext("FAIL", 10, "http.5xx");
  MemoryStore s2;
  Driven d = Drive(store, clock, calls, w, Value::Map({}), 0);
  REQUIRE(d.outcome.status == RunStatus::kFailed);
  CHECK(d.outcome.error.Find("kind")->as_string() == "http.5xx");
  CHECK(d.outcome.error.Find("step")->as_string() == "b");
  auto r = calls.receipts();
  CHECK(r["a-1"] == 1);
  CHECK(r["a-1:undo"] == 1);
  // 1 + 2 retries of b, then the compensation.
  CHECK(calls.calls() == 1 + 3 + 1);
}

TEST_CASE("a retried call that then succeeds completes the run", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("c.aos",
                  "workflow c() {\n"
                  "  step b = http.get(\"http://x/FAIL\") { retry 3 backoff 1s }\n"
                  "  output b.status\n}\n");
  calls.FailNext("FAIL", 2, "net");
  Driven d = Drive(store, clock, calls, w, Value::Map({}), 0);
  REQUIRE(d.outcome.status == RunStatus::kCompleted);
  CHECK(d.outcome.output.ToJson() == "200");
  CHECK(calls.calls() == 3);
}

TEST_CASE("for loops fan out, results are lists in item order, skips propagate", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("f.aos",
                  "workflow f() {\n"
                  "  let xs = [1, 2, 3, 4]\n"
                  "  for x in xs max 2 {\n"
                  "    let sq = x * x\n"
                  "    effect e = http.post(\"http://x/e\", json: {x: x}) { key \"e-${x}\" } when x % 2 == 0\n"
                  "  }\n"
                  "  output {sq: sq, sent: e.filter(v, v != null).size()}\n}\n");
  Driven d = Drive(store, clock, calls, w, Value::Map({}), 0);
  REQUIRE(d.outcome.status == RunStatus::kCompleted);
  CHECK(d.outcome.output.ToJson() == R"({"sq":[1,4,9,16],"sent":2})");
  CHECK(calls.receipts() == std::map<std::string, int>{{"e-2", 1}, {"e-4", 1}});
}

TEST_CASE("a completed effect key is not executed again by a later run", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("e.aos",
                  "workflow e(week: string) {\n"
                  "  effect p = http.post(\"http://x/p\") { key \"p-${week}\" }\n"
                  "  output p.json.id\n}\n");
  Driven a = Drive(store, clock, calls, w, Value::Map({{S("week"), S("W1")}}), 0);
  RunLog log(store, clock);
  log.Begin("run-2");
  std::string error;
  REQUIRE(StartRun(log, *w.program, *w.dag, "e.aos", w.source, Value::Map({{S("week"), S("W1")}}), false, &error));
  RunOutcome b = Runner(log, *w.program, *w.dag, calls, clock, RunOptions{}).Run();
  REQUIRE(b.status == RunStatus::kCompleted);
  CHECK(b.output == a.outcome.output);
  CHECK(calls.calls() == 1);
}

TEST_CASE("missing inputs and unknown parameters are refused at start", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  Loaded w = Load("e.aos", "workflow e(week: string) {\n  output week\n}\n");
  RunLog log(store, clock);
  log.Begin("r");
  std::string error;
  CHECK_FALSE(StartRun(log, *w.program, *w.dag, "e.aos", w.source, Value::Map({}), false, &error));
  CHECK(error.find("needs the input 'week'") != std::string::npos);
  CHECK_FALSE(StartRun(log, *w.program, *w.dag, "e.aos", w.source,
                       Value::Map({{S("week"), S("x")}, {S("wek"), S("y")}}), false, &error));
  CHECK(error.find("no parameter 'wek'") != std::string::npos);
}

TEST_CASE("snapshots bound replay and give the same state", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  std::string src = "workflow long() {\n  let s0 = 0\n";
  for (int i = 1; i <= 300; ++i) src += "  let s" + std::to_string(i) + " = s" + std::to_string(i - 1) + " + 1\n";
  src += "  output s300\n}\n";
  Loaded w = Load("long.aos", src);
  RunLog log(store, clock);
  log.snapshot_every = 100;
  log.Begin("r");
  std::string error;
  REQUIRE(StartRun(log, *w.program, *w.dag, "long.aos", w.source, Value::Map({}), false, &error));
  RunOptions opt;
  opt.durability = Durability::kStrict;  // a flush, and so a snapshot chance, per event
  RunOutcome o = Runner(log, *w.program, *w.dag, calls, clock, opt).Run();
  REQUIRE(o.status == RunStatus::kCompleted);
  CHECK(o.output.ToJson() == "300");
  REQUIRE(store.Get(Column::kSnapshots, "r"));
  RunLog again(store, clock);
  REQUIRE(again.Load("r", &error));
  // Replay started at the last snapshot, not at the first event.
  CHECK(again.loaded_from() >= 300);
  CHECK(again.loaded_from() <= log.state().next_seq);
  CHECK(again.state().next_seq == log.state().next_seq);
  CHECK(again.state().output == log.state().output);
  CHECK(again.state().inst.size() == log.state().inst.size());

  // A damaged snapshot is not trusted: the run replays from its first event
  // to the same state.
  std::string snap = *store.Get(Column::kSnapshots, "r");
  snap[snap.size() / 2] ^= 0x20;
  WriteBatch b;
  b.Put(Column::kSnapshots, "r", snap);
  store.Write(b, true);
  RunLog full(store, clock);
  REQUIRE(full.Load("r", &error));
  CHECK(full.loaded_from() == 0);
  CHECK(full.state().next_seq == log.state().next_seq);
  CHECK(full.state().output == log.state().output);
  CHECK(full.state().inst.size() == log.state().inst.size());
}

TEST_CASE("crash at every append: every example reaches the uncrashed output, no key executed twice",
          "[runner][crash]") {
  SetSecrets();
  const auto runs = ExampleWorkflows();
  REQUIRE(runs.size() >= 8);
  for (const auto& [f, workflow] : runs) {
    Loaded w = LoadFile(f.string(), workflow);
    const Value inputs = Inputs(w.dag->workflow->name);
    MemoryStore base_store;
    ManualClock base_clock(kStart);
    FakeCalls base_calls;
    Driven base = Drive(base_store, base_clock, base_calls, w, inputs, 0);
    INFO(f.filename().string() << ": " << base.outcome.error.ToJson());
    REQUIRE(base.outcome.status != RunStatus::kWaiting);
    const uint64_t appends = base_store.appends();
    REQUIRE(appends > 2);
    for (uint64_t step = 2; step <= 2 * appends + 1; ++step) {
      // Every append, once as a power cut and once as a process kill.
      const uint64_t k = step / 2;
      const CrashKind kind = step % 2 ? CrashKind::kProcess : CrashKind::kPower;
      MemoryStore store;
      ManualClock clock(kStart);
      FakeCalls calls;
      Driven d = Drive(store, clock, calls, w, inputs, k, Durability::kDefault, kind);
      INFO("crash after append " << k << " of " << appends << (kind == CrashKind::kPower ? " (power)" : " (process)"));
      SameAsUncrashed(base, base_calls, d, calls);
    }
  }
}

TEST_CASE("on failure escalate: a call whose attempts are spent waits for the operator", "[runner]") {
  Loaded w = Load("f.aos",
                  "workflow f() {\n"
                  "  on failure escalate\n"
                  "  effect a = http.post(\"http://x/a\") { key \"a-1\" compensate http.delete(\"http://x/a\") }\n"
                  "  step b = http.get(\"http://x/FAIL\") { retry 1 } after a\n"
                  "  output b.status\n}\n");
  {
    MemoryStore store;
    ManualClock clock(kStart);
    FakeCalls calls;
    calls.FailNext("FAIL", 2, "http.503");
    RunOutcome o = Start(store, clock, calls, w, "r");
    REQUIRE(o.status == RunStatus::kWaiting);
    CHECK(o.waiting_on.as_list()[0].Find("name")->as_string() == "b");
    o = Decide(store, clock, calls, w, "r", "b", true);  // retry: the server is back
    REQUIRE(o.status == RunStatus::kCompleted);
    CHECK(o.output.ToJson() == "200");
  }
  {
    MemoryStore store;
    ManualClock clock(kStart);
    FakeCalls calls;
    calls.FailNext("FAIL", 100, "http.503");
    REQUIRE(Start(store, clock, calls, w, "r").status == RunStatus::kWaiting);
    RunOutcome o = Decide(store, clock, calls, w, "r", "b", false);
    REQUIRE(o.status == RunStatus::kFailed);
    CHECK(o.error.Find("kind")->as_string() == "http.503");
    CHECK(calls.receipts().count("a-1:undo") == 0);  // escalate, not compensate
  }
}

TEST_CASE("signals are taken one per waiting statement, in arrival order", "[runner]") {
  Loaded w = Load("g.aos",
                  "workflow g() {\n"
                  "  for x in [1, 2] {\n"
                  "    signal paid \"invoice.paid\"\n"
                  "  }\n"
                  "  output paid.map(p, p.data)\n}\n");
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  REQUIRE(Start(store, clock, calls, w, "r").status == RunStatus::kWaiting);
  auto deliver = [&](int v) {
    RunLog log(store, clock);
    std::string error;
    REQUIRE(log.Load("r", &error));
    log.Append("", events::SignalReceived{"invoice.paid", Value::Int(v)});
    return Runner(log, *w.program, *w.dag, calls, clock, RunOptions{}).Run();
  };
  RunOutcome o = deliver(10);
  REQUIRE(o.status == RunStatus::kWaiting);  // one item has its signal, the other waits
  o = deliver(20);
  REQUIRE(o.status == RunStatus::kCompleted);
  CHECK(o.output.ToJson() == "[10,20]");
}

TEST_CASE("on_timeout escalate: an overdue approval stays open, marked, until decided", "[runner]") {
  Loaded w = Load("e.aos",
                  "workflow e() {\n"
                  "  approval ok { ask \"Go?\" timeout 48h on_timeout escalate }\n"
                  "  output ok.approved\n}\n");
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  REQUIRE(Start(store, clock, calls, w, "r").status == RunStatus::kWaiting);
  clock.Advance(49LL * 3600 * 1'000'000'000);
  RunLog log(store, clock);
  std::string error;
  REQUIRE(log.Load("r", &error));
  RunOutcome o = Runner(log, *w.program, *w.dag, calls, clock, RunOptions{}).Run();
  REQUIRE(o.status == RunStatus::kWaiting);
  const Value& wv = o.waiting_on.as_list()[0];
  CHECK(wv.Find("ask")->as_string().rfind("[overdue since ", 0) == 0);
  CHECK_FALSE(wv.Find("due"));  // no deadline any more
  o = Decide(store, clock, calls, w, "r", "ok", true);
  REQUIRE(o.status == RunStatus::kCompleted);
  CHECK(o.output.ToJson() == "true");
}

// What reaches the handler: each request's kind and timeout.
class RecordingCalls : public CallHandler {
 public:
  CallResult Invoke(const CallRequest& req) override {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.push_back(req);
    CallResult r;
    r.ok = true;
    r.value = Value::MapOfUnique({{S("status"), Value::Int(200)}});
    return r;
  }
  std::vector<CallRequest> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::vector<CallRequest> seen_;
};

TEST_CASE("an http call's timeout: argument bounds its attempts; the statement's timeout wins", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  RecordingCalls calls;
  Loaded w = Load("t.aos", "workflow t() {\n"
                           "  step a = http.get(\"http://x/a\", timeout: 2s)\n"
                           "  step b = http.get(\"http://x/b\", timeout: 2s) { timeout 5s }\n"
                           "  step c = http.get(\"http://x/c\")\n"
                           "  step d = http.get(\"http://x/d\", timeout: 0s)\n"
                           "  output [a.status, b.status, c.status, d.status]\n}\n");
  REQUIRE(Drive(store, clock, calls, w, Value::Map({}), 0).outcome.status == RunStatus::kCompleted);
  std::map<std::string, int64_t> timeout;
  for (const auto& r : calls.seen()) {
    CHECK(r.kind == RequestKind::kHttp);
    timeout[r.instance] = r.timeout_ms;
  }
  // A timeout of nothing is no timeout (it would fail every attempt).
  CHECK(timeout == std::map<std::string, int64_t>{{"a", 2000}, {"b", 5000}, {"c", 0}, {"d", 0}});
}

}  // namespace
}  // namespace aos
