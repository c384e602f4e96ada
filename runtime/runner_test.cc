// Runner tests on the in-memory store: every statement kind, approvals,
// timers and signals with a manual clock, retries, compensation, and the
// crash-at-every-append property over every example workflow: a run whose
// store "loses power" after its k-th append and is resumed reaches the same
// output as an uncrashed run, and no effect key is executed twice.
//
// Calls go to FakeCalls, a CallHandler (the interface meant for fakes) that
// behaves like a receiver honouring Idempotency-Key: it counts receipts per
// key and executes each key once. Real HTTP, RocksDB and SIGKILL are tested
// through aosrun in tests/aosrun_cli_test.py.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "lang/checker.h"
#include "runtime/codec.h"
#include "runtime/run_log.h"
#include "runtime/runner.h"
#include "runtime/store.h"

namespace aos {
namespace {

constexpr int64_t kStart = 1'790'000'000'000'000'000;  // 2026-09-21

Value S(std::string s) { return Value::String(std::move(s)); }

class FakeCalls : public CallHandler {
 public:
  CallResult Invoke(const CallRequest& req) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    const std::string url = req.args.Find("url") ? req.args.Find("url")->ToDisplayString() : "";
    if (!req.idempotency_key.empty()) {
      ++receipts_[req.idempotency_key];
      order_.push_back(req.idempotency_key);
      if (auto it = executed_.find(req.idempotency_key); it != executed_.end()) return Ok(it->second);
    }
    if (fail_left_ > 0 && url.find(fail_match_) != std::string::npos) {
      --fail_left_;
      CallResult r;
      r.error_kind = fail_kind_;
      r.message = "scripted failure";
      return r;
    }
    Value v;
    if (req.kind == "http") {
      const std::string id = "id-" + std::to_string(url.size()) + "-" + req.idempotency_key;
      Value json = Value::MapOfUnique(
          {{S("items"), Value::List({Value::MapOfUnique({{S("score"), Value::Double(0.9)},
                                                         {S("priority"), Value::Int(3)},
                                                         {S("title"), S("Alpha")}}),
                                     Value::MapOfUnique({{S("score"), Value::Double(0.2)},
                                                         {S("priority"), Value::Int(1)},
                                                         {S("title"), S("Beta")}}),
                                     Value::MapOfUnique({{S("score"), Value::Double(0.7)},
                                                         {S("priority"), Value::Int(2)},
                                                         {S("title"), S("Gamma")}})})},
           {S("id"), S(id)},
           {S("url"), S("https://cms.example/" + id)},
           {S("status"), S("open")},
           {S("client_email"), S("client@example.com")}});
      v = Value::MapOfUnique({{S("status"), Value::Int(200)},
                              {S("headers"), Value::Map({})},
                              {S("body"), S("")},
                              {S("json"), json}});
    } else if (req.kind == "llm" && !llm_answers_.empty()) {
      prompts_.push_back(req.args.Find("prompt")->ToDisplayString());
      Value data = llm_answers_.front();
      if (llm_answers_.size() > 1) llm_answers_.erase(llm_answers_.begin());
      v = Value::MapOfUnique({{S("text"), S(data.ToJson())},
                              {S("data"), data},
                              {S("model"), S("small")},
                              {S("cost"), Value::MoneyOf(model_cost_)}});
    } else if (req.kind == "llm") {
      const std::string prompt = req.args.Find("prompt")->ToDisplayString();
      Value data = Value::MapOfUnique({{S("title"), S("T:" + prompt.substr(0, 20))},
                                       {S("sections"), Value::List({S("one"), S("two")})},
                                       {S("summary"), S("a summary")},
                                       {S("body"), S("a body")},
                                       {S("tags"), Value::List({S("x")})},
                                       {S("score"), Value::Double(0.8)},
                                       {S("reply"), S("Thanks!")}});
      v = Value::MapOfUnique({{S("text"), S(data.ToJson())},
                              {S("data"), data},
                              {S("model"), S("small")},
                              {S("tokens_in"), Value::Int(10)},
                              {S("tokens_out"), Value::Int(20)},
                              {S("cost"), Value::MoneyOf(model_cost_)}});
    } else if (req.kind == "email") {
      v = Value::MapOfUnique({{S("message_id"), S("<" + req.idempotency_key + "@test>")}});
    }
    if (!req.idempotency_key.empty()) executed_[req.idempotency_key] = v;
    return Ok(v);
  }

  void SetModelCost(Money m) { model_cost_ = std::move(m); }

  // Every keyed request in the order received (repeats included).
  std::vector<std::string> order() {
    std::lock_guard<std::mutex> lock(mu_);
    return order_;
  }
  // Where `key` was first received in order(); -1 if never.
  int FirstAt(const std::string& key) {
    auto o = order();
    auto it = std::find(o.begin(), o.end(), key);
    return it == o.end() ? -1 : static_cast<int>(it - o.begin());
  }

  // The `data` of the next model answers, in order (the last repeats).
  void AnswerWith(std::vector<Value> answers) { llm_answers_ = std::move(answers); }
  std::vector<std::string> prompts() {
    std::lock_guard<std::mutex> lock(mu_);
    return prompts_;
  }

  void FailNext(std::string match, int times, std::string kind) {
    fail_match_ = std::move(match);
    fail_left_ = times;
    fail_kind_ = std::move(kind);
  }

  std::map<std::string, int> receipts() {
    std::lock_guard<std::mutex> lock(mu_);
    return receipts_;
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  static CallResult Ok(Value v) {
    CallResult r;
    r.ok = true;
    r.value = std::move(v);
    return r;
  }
  std::mutex mu_;
  std::map<std::string, int> receipts_;
  std::vector<std::string> order_;
  std::map<std::string, Value> executed_;
  int calls_ = 0;
  std::string fail_match_, fail_kind_;
  std::vector<Value> llm_answers_;
  Money model_cost_{0, "usd"};
  std::vector<std::string> prompts_;
  int fail_left_ = 0;
};

struct Loaded {
  std::string source;
  std::unique_ptr<Program> program;
  const Dag* dag = nullptr;
};

Loaded Load(const std::string& path, std::string source) {
  Loaded l;
  l.source = source;
  Diagnostics diags;
  l.program = LoadProgram(path, std::move(source), CheckOptions{}, diags);
  for (const auto& d : diags.all()) {
    if (d.severity == Severity::kError) FAIL(RenderText(d));
  }
  std::string error;
  l.dag = l.program->FindWorkflow("", &error);
  REQUIRE(l.dag);
  return l;
}

Loaded LoadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return Load(path, ss.str());
}

struct Driven {
  RunOutcome outcome;
  int crashes = 0;
  int resumes = 0;
  int in_doubt = 0;  // effects with a durable intent and no outcome after the crash
};

// Runs to the end, answering waits as an operator would: approves
// approvals, delivers signals, lets time pass. With crash_at, the store
// loses its unsynced writes after that many appends, once; the run is then
// loaded back and resumed (or started again when RunStarted was lost).
// How a simulated crash ends the process: a power cut (unsynced writes are
// lost) or a process kill (everything written survives).
enum class CrashKind { kPower, kProcess };

Driven Drive(MemoryStore& store, ManualClock& clock, CallHandler& calls, const Loaded& w, const Value& inputs,
             uint64_t crash_at, Durability durability = Durability::kDefault, CrashKind kind = CrashKind::kPower) {
  Driven d;
  if (crash_at) store.CrashAfterAppends(crash_at);
  RunLog log(store, clock);
  bool started = false;
  for (int round = 0; round < 50; ++round) {
    try {
      if (!started) {
        log.Begin("run-1");
        std::string error;
        REQUIRE(StartRun(log, *w.program, *w.dag, "test.aos", w.source, inputs, false, &error));
        started = true;
      }
      RunOptions opt;
      opt.concurrency = 4;
      opt.durability = durability;
      Runner runner(log, *w.program, *w.dag, calls, clock, opt);
      d.outcome = runner.Run();
      if (d.outcome.status != RunStatus::kWaiting) return d;
      // Answer what it waits for.
      for (const auto& wv : d.outcome.waiting_on.as_list()) {
        const std::string kind = wv.Find("kind")->as_string();
        const std::string name = wv.Find("name")->as_string();
        if (kind == "approval") {
          log.Append(EventType::kApprovalDecided, name,
                     Value::MapOfUnique({{S("approved"), Value::Bool(true)},
                                         {S("by"), S("tester")},
                                         {S("comment"), S("")},
                                         {S("data"), Value()}}));
        } else if (kind == "signal") {
          log.Append(EventType::kSignalReceived, "",
                     Value::MapOfUnique({{S("name"), *wv.Find("signal")}, {S("data"), S("paid")}}));
        } else {
          clock.SleepUntil(wv.Find("due")->as_time().nanos);
        }
      }
      log.Flush(true);
      ++d.resumes;
    } catch (const SimulatedCrash&) {
      ++d.crashes;
      if (kind == CrashKind::kPower) {
        store.Crash();
      } else {
        store.CrashProcess();
      }
      std::string error;
      started = log.Load("run-1", &error);
      if (started) {
        for (const auto& [k, in] : log.state().inst) d.in_doubt += in.intent && in.status == InstStatus::kActive;
      }
    }
  }
  FAIL("the run did not end in 50 rounds");
  return d;
}

Value Inputs(const std::string& workflow) {
  if (workflow == "weekly_issue" || workflow == "content_pipeline") {
    return Value::Map({{S("week"), S("2026-W48")}});
  }
  if (workflow == "invoice_followup") return Value::Map({{S("number"), S("INV-7")}, {S("days_overdue"), Value::Int(45)}});
  if (workflow == "follow_up") return Value::Map({{S("client"), S("Analytical")}, {S("proposal"), S("P-1")}});
  if (workflow == "lead_intake") {
    return Value::Map({{S("email"), S("ada@example.com")}, {S("name"), S("Ada")},
                       {S("company"), S("Analytical")}, {S("message"), S("Hi")}});
  }
  return Value::Map({});
}

void SetSecrets() {
  for (const char* n : {"CMS_TOKEN", "BILLING_KEY", "CRM_TOKEN"}) setenv(n, "s3cr3t-test-token", 1);
}

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
  again.Append(EventType::kApprovalDecided, "ok",
               Value::MapOfUnique({{S("approved"), Value::Bool(true)}, {S("by"), S("ada")}}));
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
  log.Append(EventType::kSignalReceived, "", Value::MapOfUnique({{S("name"), S("invoice.paid")}, {S("data"), Value::Int(42)}}));
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

TEST_CASE("entities are written with the step and read back", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("n.aos",
                  "entity Lead { key email: string  name: string  score: double = 0.0 }\n"
                  "workflow n() {\n"
                  "  step a = Lead.upsert({email: \"a@x\", name: \"A\", score: 0.9})\n"
                  "  step b = Lead.upsert({email: \"b@x\", name: \"B\"}) after a\n"
                  "  step all = Lead.list() after b\n"
                  "  step one = Lead.get(\"b@x\") after b\n"
                  "  output {n: size(all), b: one.score}\n}\n");
  Driven d = Drive(store, clock, calls, w, Value::Map({}), 0);
  REQUIRE(d.outcome.status == RunStatus::kCompleted);
  CHECK(d.outcome.output.ToJson() == R"({"n":2,"b":0.0})");
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
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(AOS_SOURCE_DIR) / "examples")) {
    if (e.path().extension() == ".aos") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 6);
  for (const auto& f : files) {
    Loaded w = LoadFile(f.string());
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
      CHECK(d.crashes == 1);
      CHECK(d.outcome.status == base.outcome.status);
      CHECK(d.outcome.output == base.outcome.output);
      // The receiver saw the same keys; a key arrives twice only when the
      // crash fell between its intent and its completion (a retry carrying
      // the same key, which the receiver deduplicates): at most once per
      // effect in doubt at the crash (parallel effects can be several).
      auto got = calls.receipts();
      auto want = base_calls.receipts();
      CHECK(got.size() == want.size());
      int extra = 0;
      for (const auto& [key, n] : got) {
        CHECK(want.count(key));
        CHECK(n >= 1);
        CHECK(n <= 2);
        extra += n - 1;
      }
      CHECK(extra <= d.in_doubt);
    }
  }
}

}  // namespace
}  // namespace aos

namespace aos {
namespace {

RunOutcome Start(MemoryStore& store, ManualClock& clock, CallHandler& calls, const Loaded& w,
                 const std::string& id, const Value& inputs = Value::Map({})) {
  RunLog log(store, clock);
  log.Begin(id);
  std::string error;
  REQUIRE(StartRun(log, *w.program, *w.dag, "t.aos", w.source, inputs, false, &error));
  return Runner(log, *w.program, *w.dag, calls, clock, RunOptions{}).Run();
}

RunOutcome Decide(MemoryStore& store, ManualClock& clock, CallHandler& calls, const Loaded& w,
                  const std::string& id, const std::string& name, bool approved, Value data = Value()) {
  RunLog log(store, clock);
  std::string error;
  REQUIRE(log.Load(id, &error));
  log.Append(EventType::kApprovalDecided, name,
             Value::MapOfUnique({{S("approved"), Value::Bool(approved)}, {S("by"), S("op")}, {S("data"), data}}));
  log.Flush(true);
  return Runner(log, *w.program, *w.dag, calls, clock, RunOptions{}).Run();
}

TEST_CASE("escalate after N opens an approval: retry, skip with a value, or fail", "[runner]") {
  Loaded w = Load("x.aos",
                  "workflow x() {\n"
                  "  step b = http.get(\"http://x/FAIL\") { retry 5 escalate after 2 }\n"
                  "  output default(b.status, -1)\n}\n");
  {
    MemoryStore store;
    ManualClock clock(kStart);
    FakeCalls calls;
    calls.FailNext("FAIL", 3, "http.503");
    RunOutcome o = Start(store, clock, calls, w, "r");
    REQUIRE(o.status == RunStatus::kWaiting);
    CHECK(o.waiting_on.as_list()[0].Find("ask")->as_string().find("failed 2 times") != std::string::npos);
    CHECK(calls.calls() == 2);
    // Retry: a fresh round (Apply resets the count, so a reload sees the same).
    o = Decide(store, clock, calls, w, "r", "b", true);
    REQUIRE(o.status == RunStatus::kCompleted);
    CHECK(o.output.ToJson() == "200");
    CHECK(calls.calls() == 4);
  }
  {
    MemoryStore store;
    ManualClock clock(kStart);
    FakeCalls calls;
    calls.FailNext("FAIL", 10, "http.503");
    REQUIRE(Start(store, clock, calls, w, "r").status == RunStatus::kWaiting);
    RunOutcome o = Decide(store, clock, calls, w, "r", "b", true,
                          Value::MapOfUnique({{S("skip"), Value::MapOfUnique({{S("status"), Value::Int(7)}})}}));
    REQUIRE(o.status == RunStatus::kCompleted);
    CHECK(o.output.ToJson() == "7");
  }
  {
    MemoryStore store;
    ManualClock clock(kStart);
    FakeCalls calls;
    calls.FailNext("FAIL", 10, "http.503");
    REQUIRE(Start(store, clock, calls, w, "r").status == RunStatus::kWaiting);
    RunOutcome o = Decide(store, clock, calls, w, "r", "b", false);
    REQUIRE(o.status == RunStatus::kFailed);
    CHECK(o.error.Find("kind")->as_string() == "http.503");
  }
}

TEST_CASE("confirm shows the request with secrets masked, then runs on approval", "[runner]") {
  setenv("AOS_TEST_TOKEN", "tok-very-secret", 1);
  Loaded w = Load("c.aos",
                  "workflow c() {\n"
                  "  effect e = http.post(\"http://x/e\", headers: {auth: secret(\"AOS_TEST_TOKEN\")}, json: {a: 1}) {\n"
                  "    key \"c-1\"\n    confirm\n  }\n"
                  "  output e.status\n}\n");
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  REQUIRE(Start(store, clock, calls, w, "r").status == RunStatus::kWaiting);
  CHECK(calls.calls() == 0);
  bool masked = false, leaked = false;
  store.Scan(Column::kEvents, "", "", [&](std::string_view, std::string_view v) {
    leaked = leaked || std::string(v).find("tok-very-secret") != std::string::npos;
    masked = masked || std::string(v).find("<secret AOS_TEST_TOKEN>") != std::string::npos;
    return true;
  });
  CHECK(masked);
  CHECK_FALSE(leaked);
  RunOutcome o = Decide(store, clock, calls, w, "r", "e", true);
  REQUIRE(o.status == RunStatus::kCompleted);
  CHECK(calls.receipts().at("c-1") == 1);
}

TEST_CASE("a result reused from an earlier run is not compensated by this one", "[runner]") {
  Loaded w = Load("u.aos",
                  "workflow u(explode: bool) {\n"
                  "  effect p = http.post(\"http://x/p\") { key \"p-1\" compensate http.delete(\"http://x/p\") }\n"
                  "  step boom = http.get(\"http://x/FAIL\") when explode after p\n"
                  "  output p.status\n}\n");
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  REQUIRE(Start(store, clock, calls, w, "a", Value::Map({{S("explode"), Value::Bool(false)}})).status ==
          RunStatus::kCompleted);
  calls.FailNext("FAIL", 10, "http.404");
  RunOutcome o = Start(store, clock, calls, w, "b", Value::Map({{S("explode"), Value::Bool(true)}}));
  REQUIRE(o.status == RunStatus::kFailed);
  CHECK(o.error.Find("kind")->as_string() == "http.404");
  CHECK(calls.receipts().count("p-1:undo") == 0);
}

TEST_CASE("a crash during compensation resumes it and keeps the run's error", "[runner]") {
  Loaded w = Load("k.aos",
                  "workflow k() {\n"
                  "  effect a = http.post(\"http://x/a\") { key \"a-1\" compensate http.delete(\"http://x/a\") }\n"
                  "  effect b = http.post(\"http://x/b\") { key \"b-1\" compensate http.delete(\"http://x/b\") } after a\n"
                  "  step c = http.get(\"http://x/FAIL\") after b\n"
                  "  output c.status\n}\n");
  MemoryStore base_store;
  ManualClock base_clock(kStart);
  FakeCalls base_calls;
  base_calls.FailNext("FAIL", 100, "http.400");
  REQUIRE(Drive(base_store, base_clock, base_calls, w, Value::Map({}), 0).outcome.status == RunStatus::kFailed);
  const uint64_t total = base_store.appends();
  REQUIRE(total > 8);
  for (CrashKind kind : {CrashKind::kPower, CrashKind::kProcess}) {
    for (uint64_t k = 1; k < total; ++k) {
      MemoryStore store;
      ManualClock clock(kStart);
      FakeCalls calls;
      calls.FailNext("FAIL", 100, "http.400");
      Driven d = Drive(store, clock, calls, w, Value::Map({}), k, Durability::kDefault, kind);
      INFO("crash after append " << k << (kind == CrashKind::kPower ? " (power)" : " (process)"));
      CHECK(d.crashes == 1);  // the crash happened: the sweep tests something
      REQUIRE(d.outcome.status == RunStatus::kFailed);
      CHECK(d.outcome.error.Find("kind")->as_string() == "http.400");
      auto r = calls.receipts();
      // Each undo happened, at most once more for the crash.
      CHECK(r["a-1:undo"] >= 1);
      CHECK(r["b-1:undo"] >= 1);
      CHECK(r["a-1:undo"] <= 2);
      CHECK(r["b-1:undo"] <= 2);
      CHECK(r["a-1"] <= 2);
      CHECK(r["b-1"] <= 2);
      // Reverse completion order: b was done after a, so it is undone first.
      CHECK(calls.FirstAt("b-1:undo") < calls.FirstAt("a-1:undo"));
    }
  }
}

TEST_CASE("an effect in doubt blocks an upgrade that changes it", "[runner]") {
  const std::string v1 =
      "workflow u() {\n"
      "  effect e = http.post(\"http://x/e\", json: {v: 1}) { key \"e-1\" }\n"
      "  output e.status\n}\n";
  std::string v2 = v1;
  v2.replace(v2.find("{v: 1}"), 6, "{v: 2}");
  Loaded w1 = Load("u.aos", v1);
  Loaded w2 = Load("u.aos", v2);
  bool seen = false;
  for (uint64_t k = 1; k < 10 && !seen; ++k) {
    MemoryStore store;
    ManualClock clock(kStart);
    FakeCalls calls;
    store.CrashAfterAppends(k);
    RunLog log(store, clock);
    log.Begin("r");
    std::string error;
    try {
      REQUIRE(StartRun(log, *w1.program, *w1.dag, "u.aos", w1.source, Value::Map({}), false, &error));
      Runner(log, *w1.program, *w1.dag, calls, clock, RunOptions{}).Run();
    } catch (const SimulatedCrash&) {
    }
    store.Crash();
    RunLog loaded(store, clock);
    if (!loaded.Load("r", &error)) continue;
    const Instance* e = loaded.state().Find("e");
    if (!e || !e->intent || e->status != InstStatus::kActive) continue;
    // The intent is durable and the outcome unknown: the effect may have
    // happened, so its definition may not change under it.
    seen = true;
    const auto blockers = UpgradeBlockers(*w1.dag, *w2.dag, loaded.state());
    REQUIRE(blockers.size() == 1);
    CHECK(blockers[0].rfind("e:", 0) == 0);
    CHECK(UpgradeBlockers(*w1.dag, *w1.dag, loaded.state()).empty());
  }
  CHECK(seen);
}

TEST_CASE("the due column follows each run: its wait's due time, 1 while running, nothing once ended", "[runner]") {
  Loaded w = Load("d.aos", "workflow d() {\n  wait w for 1h\n  output 1 after w\n}\n");
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  auto keys = [&] {
    std::vector<std::pair<int64_t, std::string>> out;
    store.Scan(Column::kDue, "", "", [&](std::string_view k, std::string_view) {
      int64_t due = 0;
      std::string run;
      SplitDueKey(k, &due, &run);
      out.emplace_back(due, run);
      return true;
    });
    return out;
  };
  RunLog log(store, clock);
  log.Begin("r");
  std::string error;
  REQUIRE(StartRun(log, *w.program, *w.dag, "d.aos", w.source, Value::Map({}), false, &error));
  log.Flush(false);
  CHECK(keys() == std::vector<std::pair<int64_t, std::string>>{{1, "r"}});  // running
  RunOptions opt;
  opt.max_inline_wait_ms = 0;
  REQUIRE(Runner(log, *w.program, *w.dag, calls, clock, opt).Run().status == RunStatus::kWaiting);
  const int64_t hour = 3'600'000'000'000;
  CHECK(keys() == std::vector<std::pair<int64_t, std::string>>{{kStart + hour, "r"}});
  clock.SleepUntil(kStart + hour);
  RunLog again(store, clock);
  REQUIRE(again.Load("r", &error));
  REQUIRE(Runner(again, *w.program, *w.dag, calls, clock, opt).Run().status == RunStatus::kCompleted);
  CHECK(keys().empty());
}

TEST_CASE("compensation undoes in reverse completion order", "[runner]") {
  Loaded w = Load("o.aos",
                  "workflow o() {\n"
                  "  effect a = http.post(\"http://x/a\") { key \"a\" compensate http.delete(\"http://x/a\") }\n"
                  "  effect b = http.post(\"http://x/b\") { key \"b\" compensate http.delete(\"http://x/b\") } after a\n"
                  "  effect c = http.post(\"http://x/c\") { key \"c\" compensate http.delete(\"http://x/c\") } after b\n"
                  "  step f = http.get(\"http://x/FAIL\") after c\n"
                  "  output f.status\n}\n");
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  calls.FailNext("FAIL", 100, "http.400");
  REQUIRE(Start(store, clock, calls, w, "r").status == RunStatus::kFailed);
  CHECK(calls.order() == std::vector<std::string>{"a", "b", "c", "c:undo", "b:undo", "a:undo"});
}

}  // namespace
}  // namespace aos

namespace aos {
namespace {

TEST_CASE("now() and uuid() are recorded once and replay to the same values", "[runner]") {
  Loaded w = Load("n.aos",
                  "workflow n() {\n"
                  "  let id = uuid()\n"
                  "  let at = now()\n"
                  "  wait pause for 1h after id, at\n"
                  "  let again = {id: uuid(), at: now()} after pause\n"
                  "  output {id: id, at: string(at), same: again.id == id, later: again.at > at}\n}\n");
  MemoryStore base_store;
  ManualClock base_clock(kStart);
  FakeCalls calls;
  Driven base = Drive(base_store, base_clock, calls, w, Value::Map({}), 0);
  REQUIRE(base.outcome.status == RunStatus::kCompleted);
  const std::string id = base.outcome.output.Find("id")->as_string();
  CHECK(id.size() == 36);
  CHECK(id[14] == '4');  // a version 4 UUID
  CHECK(base.outcome.output.Find("same")->as_bool() == false);
  CHECK(base.outcome.output.Find("later")->as_bool() == true);
  for (uint64_t k = 1; k <= base_store.appends(); ++k) {
    MemoryStore store;
    ManualClock clock(kStart);
    Driven d = Drive(store, clock, calls, w, Value::Map({}), k);
    // Each call site is recorded once in the final log, and the output
    // uses the recorded value: nothing drawn twice across the crash.
    INFO("crash after append " << k);
    REQUIRE(d.outcome.status == RunStatus::kCompleted);
    std::map<std::string, int> recorded;
    std::string id_value;
    ScanRunEvents(store, "run-1", [&](uint64_t, const Event* e, const std::string&) {
      if (e && e->type == EventType::kNondeterministicValue) {
        const std::string site = e->Field("site").as_string();
        ++recorded[site];
        if (e->step == "id") id_value = e->Field("value").as_string();
      }
      return true;
    });
    CHECK(recorded.size() == 4);
    for (const auto& [site, n] : recorded) CHECK(n == 1);
    CHECK(d.outcome.output.Find("id")->as_string() == id_value);
  }
}

}  // namespace
}  // namespace aos

namespace aos {
namespace {

TEST_CASE("a skipped loop's body names are skipped outside it", "[runner]") {
  Loaded w = Load("l.aos",
                  "workflow l(go: bool) {\n"
                  "  for x in [1, 2] {\n"
                  "    let y = x * 10\n"
                  "  } when go\n"
                  "  output {ys: default(y, []), n: size(default(y, []))}\n}\n");
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Driven d = Drive(store, clock, calls, w, Value::Map({{S("go"), Value::Bool(false)}}), 0);
  REQUIRE(d.outcome.status == RunStatus::kCompleted);
  CHECK(d.outcome.output.ToJson() == R"({"ys":[],"n":0})");
  MemoryStore store2;
  Driven e = Drive(store2, clock, calls, w, Value::Map({{S("go"), Value::Bool(true)}}), 0);
  REQUIRE(e.outcome.status == RunStatus::kCompleted);
  CHECK(e.outcome.output.ToJson() == R"({"ys":[10,20],"n":2})");
}

}  // namespace
}  // namespace aos

namespace aos {
namespace {

TEST_CASE("loop items decided out of order all run after a resume", "[runner]") {
  Loaded w = Load("o.aos",
                  "workflow o() {\n"
                  "  for x in [1, 2, 3] max 2 {\n"
                  "    approval a { ask \"ok ${x}?\" }\n"
                  "  }\n"
                  "  output a.map(v, v.approved)\n}\n");
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  REQUIRE(Start(store, clock, calls, w, "r").status == RunStatus::kWaiting);
  RunOutcome o = Decide(store, clock, calls, w, "r", "a[1]", true);
  REQUIRE(o.status == RunStatus::kWaiting);
  o = Decide(store, clock, calls, w, "r", "a[2]", false);
  REQUIRE(o.status == RunStatus::kWaiting);
  o = Decide(store, clock, calls, w, "r", "a[0]", true);
  REQUIRE(o.status == RunStatus::kCompleted);
  CHECK(o.output.ToJson() == "[true,true,false]");
}

TEST_CASE("cancel compensates effects inside a loop that has not finished", "[runner]") {
  Loaded w = Load("c.aos",
                  "workflow c() {\n"
                  "  for x in [1, 2] {\n"
                  "    effect e = http.post(\"http://x/e\") { key \"e-${x}\" compensate http.delete(\"http://x/e/${x}\") }\n"
                  "    approval a { ask \"?\" } after e\n"
                  "  }\n"
                  "  output size(e)\n}\n");
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  REQUIRE(Start(store, clock, calls, w, "r").status == RunStatus::kWaiting);
  RunLog log(store, clock);
  std::string error;
  REQUIRE(log.Load("r", &error));
  RunOutcome o = Runner(log, *w.program, *w.dag, calls, clock, RunOptions{}).Cancel();
  REQUIRE(o.status == RunStatus::kCancelled);
  auto r = calls.receipts();
  CHECK(r["e-1:undo"] == 1);
  CHECK(r["e-2:undo"] == 1);
}

TEST_CASE("an effect in doubt when the run fails is settled with its key, then compensated", "[runner]") {
  Loaded w = Load("d.aos",
                  "workflow d() {\n"
                  "  effect a = http.post(\"http://x/a\") { key \"a-1\" compensate http.delete(\"http://x/a\") }\n"
                  "  step b = http.get(\"http://x/FAIL\")\n"
                  "  output {a: a.status, b: b.status}\n}\n");
  MemoryStore base_store;
  ManualClock base_clock(kStart);
  FakeCalls base_calls;
  base_calls.FailNext("FAIL", 100, "http.400");
  Driven base = Drive(base_store, base_clock, base_calls, w, Value::Map({}), 0, Durability::kStrict);
  REQUIRE(base.outcome.status == RunStatus::kFailed);
  int in_doubt_seen = 0;
  for (uint64_t k = 1; k < base_store.appends(); ++k) {
    MemoryStore store;
    ManualClock clock(kStart);
    FakeCalls calls;
    calls.FailNext("FAIL", 100, "http.400");
    Driven d = Drive(store, clock, calls, w, Value::Map({}), k, Durability::kStrict);
    INFO("crash after append " << k);
    CHECK(d.crashes == 1);
    in_doubt_seen += d.in_doubt;
    REQUIRE(d.outcome.status == RunStatus::kFailed);
    CHECK(d.outcome.error.Find("kind")->as_string() == "http.400");
    auto r = calls.receipts();
    CHECK(r["a-1"] >= 1);
    CHECK(r["a-1"] <= 2);  // at most once more, with the same key, to settle it
    CHECK(r["a-1:undo"] == 1);
    CHECK(calls.FirstAt("a-1") < calls.FirstAt("a-1:undo"));
  }
  CHECK(in_doubt_seen > 0);  // some crash did leave the effect in doubt
}

TEST_CASE("a body statement referring to a skipped statement is skipped per item, not the loop", "[runner]") {
  Loaded w = Load("l.aos",
                  "workflow l() {\n"
                  "  let flag = 1 when false\n"
                  "  for x in [1, 2] {\n"
                  "    let a = x * 10\n"
                  "    let y = flag + x\n"
                  "  }\n"
                  "  output {a: a, y: y}\n}\n");
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Driven d = Drive(store, clock, calls, w, Value::Map({}), 0);
  REQUIRE(d.outcome.status == RunStatus::kCompleted);
  CHECK(d.outcome.output.ToJson() == R"({"a":[10,20],"y":[null,null]})");
}

TEST_CASE("a name two loops deep is a list of lists after them", "[runner]") {
  Loaded w = Load("n.aos",
                  "workflow n() {\n"
                  "  for x in [1, 2] {\n"
                  "    for y in [10, 20] {\n"
                  "      let p = x * y\n"
                  "    }\n"
                  "  }\n"
                  "  output p\n}\n");
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Driven d = Drive(store, clock, calls, w, Value::Map({}), 0);
  REQUIRE(d.outcome.status == RunStatus::kCompleted);
  CHECK(d.outcome.output.ToJson() == "[[10,20],[20,40]]");
}

TEST_CASE("an escalated confirm effect is retried without asking for confirmation again", "[runner]") {
  Loaded w = Load("e.aos",
                  "workflow e() {\n"
                  "  effect p = http.post(\"http://x/FAIL\") { key \"p-1\" confirm escalate after 1 }\n"
                  "  output p.status\n}\n");
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  calls.FailNext("FAIL", 1, "http.500");
  REQUIRE(Start(store, clock, calls, w, "r").status == RunStatus::kWaiting);
  RunOutcome o = Decide(store, clock, calls, w, "r", "p", true);  // the confirm gate
  REQUIRE(o.status == RunStatus::kWaiting);                      // the escalation
  CHECK(o.waiting_on.as_list()[0].Find("ask")->as_string().find("failed 1 times") != std::string::npos);
  o = Decide(store, clock, calls, w, "r", "p", true);  // retry
  REQUIRE(o.status == RunStatus::kCompleted);
  CHECK(o.output.ToJson() == "200");
}

}  // namespace
}  // namespace aos

namespace aos {
namespace {

Value Json(const std::string& text) {
  std::string e;
  auto v = ParseJson(text, &e);
  REQUIRE(v);
  return *v;
}

const char* kTyped =
    "type Outline { title: string  sections: list<string>  score: double = 0.0 }\n"
    "agent writer { model: \"small\"  output: Outline }\n"
    "workflow t() {\n"
    "  step o = writer.ask(\"Draft it.\")\n"
    "  output o.data\n}\n";

TEST_CASE("typed output: a valid answer is typed by the declaration", "[runner][typed]") {
  Loaded w = Load("t.aos", kTyped);
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  calls.AnswerWith({Json(R"({"title":"T","sections":["a"],"score":1,"chatter":"hi"})")});
  Driven d = Drive(store, clock, calls, w, Value::Map({}), 0);
  REQUIRE(d.outcome.status == RunStatus::kCompleted);
  CHECK(d.outcome.output.ToJson() == R"({"title":"T","sections":["a"],"score":1.0})");
}

TEST_CASE("typed output: an invalid answer is asked for again with the mismatch", "[runner][typed]") {
  Loaded w = Load("t.aos", kTyped);
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  calls.AnswerWith({Json(R"({"title":"T","sections":"not a list"})"), Json(R"({"title":"T","sections":["a"]})")});
  Driven d = Drive(store, clock, calls, w, Value::Map({}), 0);
  REQUIRE(d.outcome.status == RunStatus::kCompleted);
  CHECK(d.outcome.output.ToJson() == R"({"title":"T","sections":["a"],"score":0.0})");
  auto prompts = calls.prompts();
  REQUIRE(prompts.size() == 2);
  CHECK(prompts[0].find("not valid") == std::string::npos);
  CHECK(prompts[1].find("Your previous answer was not valid") != std::string::npos);
  CHECK(prompts[1].find("sections: expected an array") != std::string::npos);
}

TEST_CASE("typed output: always invalid fails with llm.schema after the limit", "[runner][typed]") {
  Loaded w = Load("t.aos", kTyped);
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  calls.AnswerWith({Json(R"({"sections":[]})")});
  Driven d = Drive(store, clock, calls, w, Value::Map({}), 0);
  REQUIRE(d.outcome.status == RunStatus::kFailed);
  CHECK(d.outcome.error.Find("kind")->as_string() == "llm.schema");
  CHECK(d.outcome.error.Find("message")->as_string().find("title: missing") != std::string::npos);
  CHECK(calls.prompts().size() == 3);  // the first answer and two more tries
}

}  // namespace
}  // namespace aos

namespace aos {
namespace {

const char* kBudget =
    "agent a { model: \"small\" }\n"
    "workflow b() {\n"
    "  budget 0.50 usd\n"
    "  step one = a.ask(\"one\")\n"
    "  step two = a.ask(\"two\") after one\n"
    "  step three = a.ask(\"three\") after two\n"
    "  output [one.cost, two.cost, three.cost]\n}\n";

TEST_CASE("a model call past the budget waits for the operator, who can raise it", "[runner][budget]") {
  Loaded w = Load("b.aos", kBudget);
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  calls.SetModelCost(Money{300'000'000, "usd"});  // 0.30 usd a call
  RunOutcome o = Start(store, clock, calls, w, "r");
  REQUIRE(o.status == RunStatus::kWaiting);  // 0.60 spent: the third call would pass 0.50
  CHECK(calls.calls() == 2);
  const std::string ask = o.waiting_on.as_list()[0].Find("ask")->as_string();
  CHECK(ask.find("over the budget of 0.50 usd") != std::string::npos);
  o = Decide(store, clock, calls, w, "r", "three", true);
  REQUIRE(o.status == RunStatus::kCompleted);
  CHECK(calls.calls() == 3);
  RunLog log(store, clock);
  std::string error;
  REQUIRE(log.Load("r", &error));
  CHECK(log.state().spent_nanos == 900'000'000);
  CHECK(log.state().budget_raised_nanos == 500'000'000);
}

TEST_CASE("a refused budget raise fails the call with budget.exceeded", "[runner][budget]") {
  Loaded w = Load("b.aos", kBudget);
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  calls.SetModelCost(Money{300'000'000, "usd"});
  REQUIRE(Start(store, clock, calls, w, "r").status == RunStatus::kWaiting);
  RunOutcome o = Decide(store, clock, calls, w, "r", "three", false);
  REQUIRE(o.status == RunStatus::kFailed);
  CHECK(o.error.Find("kind")->as_string() == "budget.exceeded");
  CHECK(calls.calls() == 2);
}

}  // namespace
}  // namespace aos

namespace aos {
namespace {

TEST_CASE("cache: an identical call within the TTL answers from the cache, at zero cost", "[runner][cache]") {
  Loaded w = Load("c.aos",
                  "agent a { model: \"small\" }\n"
                  "workflow c(topic: string) {\n"
                  "  step o = a.ask(\"About ${topic}\") { cache 7d }\n"
                  "  output o.text\n}\n");
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  calls.SetModelCost(Money{10'000'000, "usd"});
  RunOutcome first = Start(store, clock, calls, w, "r1", Value::Map({{S("topic"), S("tea")}}));
  REQUIRE(first.status == RunStatus::kCompleted);
  clock.Advance(3LL * 24 * 3600 * 1'000'000'000);
  RunOutcome second = Start(store, clock, calls, w, "r2", Value::Map({{S("topic"), S("tea")}}));
  REQUIRE(second.status == RunStatus::kCompleted);
  CHECK(second.output == first.output);
  CHECK(calls.calls() == 1);  // the second run did not call the model
  RunLog log(store, clock);
  std::string error;
  REQUIRE(log.Load("r2", &error));
  CHECK(log.state().spent_nanos == 0);
  bool hit = false;
  ScanRunEvents(store, "r2", [&](uint64_t, const Event* e, const std::string&) {
    hit = hit || (e && e->type == EventType::kStepCompleted && e->Field("cache").kind() == ValueKind::kString &&
                  e->Field("cache").as_string() == "hit");
    return true;
  });
  CHECK(hit);
  // Other arguments, or past the TTL: called again.
  REQUIRE(Start(store, clock, calls, w, "r3", Value::Map({{S("topic"), S("coffee")}})).status == RunStatus::kCompleted);
  CHECK(calls.calls() == 2);
  clock.Advance(5LL * 24 * 3600 * 1'000'000'000);
  REQUIRE(Start(store, clock, calls, w, "r4", Value::Map({{S("topic"), S("tea")}})).status == RunStatus::kCompleted);
  CHECK(calls.calls() == 3);
}

TEST_CASE("a connector call outside its allow list fails with connector.denied", "[runner]") {
  Loaded w = Load("a.aos",
                  "connector cms = http { base_url: \"http://cms\"  allow: [\"POST /posts\"] }\n"
                  "workflow a(path: string) {\n"
                  "  step g = cms.get(path)\n"
                  "  output g.status\n}\n");
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Driven d = Drive(store, clock, calls, w, Value::Map({{S("path"), S("/admin")}}), 0);
  REQUIRE(d.outcome.status == RunStatus::kFailed);
  CHECK(d.outcome.error.Find("kind")->as_string() == "connector.denied");
  CHECK(calls.calls() == 0);
}

}  // namespace
}  // namespace aos

namespace aos {
namespace {

TEST_CASE("parallel model calls share the budget: estimates are held while calls run", "[runner][budget]") {
  Loaded w = Load("p.aos",
                  "agent a { model: \"small\" }\n"
                  "workflow p() {\n"
                  "  budget 1.00 usd\n"
                  "  for t in [1, 2, 3, 4, 5, 6] max 6 {\n"
                  "    step o = a.ask(\"topic ${t}\")\n"
                  "  }\n"
                  "  output size(o)\n}\n");
  Config config;
  ModelConfig small;
  small.base_url = "http://x";
  small.model = "m";
  small.output_per_mtok = 200.0;  // 1,024 answer tokens estimate at about 0.20 usd
  config.models["small"] = small;
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  calls.SetModelCost(Money{300'000'000, "usd"});
  RunLog log(store, clock);
  log.Begin("r");
  std::string error;
  REQUIRE(StartRun(log, *w.program, *w.dag, "p.aos", w.source, Value::Map({}), false, &error));
  RunOptions opt;
  opt.concurrency = 6;
  opt.config = &config;
  RunOutcome o = Runner(log, *w.program, *w.dag, calls, clock, opt).Run();
  REQUIRE(o.status == RunStatus::kWaiting);  // a budget approval, before all six ran
  CHECK(calls.calls() <= 4);
  CHECK(o.waiting_on.as_list()[0].Find("ask")->as_string().find("over the budget") != std::string::npos);
}

TEST_CASE("an answered model call that fails its type is still charged", "[runner][budget]") {
  Loaded w = Load("t.aos", kTyped);
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  calls.SetModelCost(Money{100'000'000, "usd"});
  calls.AnswerWith({Json(R"({"sections":[]})")});
  Driven d = Drive(store, clock, calls, w, Value::Map({}), 0);
  REQUIRE(d.outcome.status == RunStatus::kFailed);
  RunLog log(store, clock);
  std::string error;
  REQUIRE(log.Load("run-1", &error));
  CHECK(log.state().spent_nanos == 300'000'000);  // three answers, three charges
}

}  // namespace
}  // namespace aos

namespace aos {
namespace {

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

}  // namespace
}  // namespace aos

namespace aos {
namespace {

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
    log.Append(EventType::kSignalReceived, "",
               Value::MapOfUnique({{S("name"), S("invoice.paid")}, {S("data"), Value::Int(v)}}));
    return Runner(log, *w.program, *w.dag, calls, clock, RunOptions{}).Run();
  };
  RunOutcome o = deliver(10);
  REQUIRE(o.status == RunStatus::kWaiting);  // one item has its signal, the other waits
  o = deliver(20);
  REQUIRE(o.status == RunStatus::kCompleted);
  CHECK(o.output.ToJson() == "[10,20]");
}

}  // namespace
}  // namespace aos

namespace aos {
namespace {

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

}  // namespace
}  // namespace aos
