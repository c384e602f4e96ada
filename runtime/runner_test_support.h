// What the runner tests share: FakeCalls, a CallHandler (the interface meant
// for fakes) that behaves like a receiver honouring Idempotency-Key (it
// counts receipts per key and executes each key once); loading a workflow
// from text or an example file; driving a run through its waits with a
// manual clock; and starting a run or deciding its approval in one call.
// Included by runtime/runner*_test.cc only.
#ifndef AOS_RUNTIME_RUNNER_TEST_SUPPORT_H_
#define AOS_RUNTIME_RUNNER_TEST_SUPPORT_H_

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <vector>
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


namespace aos::runner_test {

constexpr int64_t kStart = 1'790'000'000'000'000'000;  // 2026-09-21


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
    if (req.kind == RequestKind::kHttp) {
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
    } else if (req.kind == RequestKind::kLlm && !llm_answers_.empty()) {
      prompts_.push_back(req.args.Find("prompt")->ToDisplayString());
      Value data = llm_answers_.front();
      if (llm_answers_.size() > 1) llm_answers_.erase(llm_answers_.begin());
      v = Value::MapOfUnique({{S("text"), S(data.ToJson())},
                              {S("data"), data},
                              {S("model"), S("small")},
                              {S("cost"), Value::MoneyOf(model_cost_)}});
    } else if (req.kind == RequestKind::kLlm) {
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
    } else if (req.kind == RequestKind::kEmail) {
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

inline Loaded Load(const std::string& path, std::string source, const std::string& workflow = "") {
  Loaded l;
  l.source = source;
  Diagnostics diags;
  l.program = LoadProgram(path, std::move(source), CheckOptions{}, diags);
  for (const auto& d : diags.all()) {
    if (d.severity == Severity::kError) FAIL(RenderText(d));
  }
  std::string error;
  l.dag = l.program->FindWorkflow(workflow, &error);
  REQUIRE(l.dag);
  return l;
}

inline Loaded LoadFile(const std::string& path, const std::string& workflow = "") {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return Load(path, ss.str(), workflow);
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

// A store that ends its "process" after the batch holding the k-th event
// append, losing nothing it was given (as after SIGKILL): the crash tests of
// a store that keeps every committed write (PgStore). It has the memory
// store's crash hooks, so Drive takes either.
class CrashingStore : public Store {
 public:
  explicit CrashingStore(Store& inner) : inner_(inner) {}
  void Write(const WriteBatch& batch, bool sync) override {
    inner_.Write(batch, sync);
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t before = appends_;
    appends_ += static_cast<uint64_t>(batch.events);
    if (crash_at_ && before < crash_at_ && appends_ >= crash_at_) {
      crash_at_ = 0;
      throw SimulatedCrash{};
    }
  }
  std::optional<std::string> Get(Column c, std::string_view key) override { return inner_.Get(c, key); }
  void Scan(Column c, std::string_view prefix, std::string_view start,
            const std::function<bool(std::string_view, std::string_view)>& visit) override {
    inner_.Scan(c, prefix, start, visit);
  }
  std::optional<std::string> LastKey(Column c, std::string_view prefix) override { return inner_.LastKey(c, prefix); }
  void Sync() override { inner_.Sync(); }
  bool CompareAndSet(Column c, std::string_view key, const std::optional<std::string>& expected,
                     const std::string& value, std::optional<std::string>* current) override {
    return inner_.CompareAndSet(c, key, expected, value, current);
  }
  bool Shared() const override { return inner_.Shared(); }
  bool ClaimRun(const std::string& run_id) override { return inner_.ClaimRun(run_id); }
  bool ClaimNewRun(const std::string& run_id) override { return inner_.ClaimNewRun(run_id); }
  std::vector<std::string> RenewLeases() override { return inner_.RenewLeases(); }
  void ReleaseRun(const std::string& run_id) override { inner_.ReleaseRun(run_id); }
  std::vector<std::string> ClaimDueRuns(int64_t now, int limit, int64_t* next_due) override {
    return inner_.ClaimDueRuns(now, limit, next_due);
  }
  void CrashAfterAppends(uint64_t k) {
    std::lock_guard<std::mutex> lock(mu_);
    crash_at_ = k ? appends_ + k : 0;
  }
  void Crash() {}  // what was committed stays
  void CrashProcess() {}
  uint64_t appends() const { return appends_; }

 private:
  Store& inner_;
  std::mutex mu_;
  uint64_t appends_ = 0, crash_at_ = 0;
};

// StoreT: MemoryStore, or a CrashingStore over another store.
template <class StoreT>
inline Driven Drive(StoreT& store, ManualClock& clock, CallHandler& calls, const Loaded& w, const Value& inputs,
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
          log.Append(name, events::ApprovalDecided{.approved = true, .by = "tester"});
        } else if (kind == "signal") {
          log.Append("", events::SignalReceived{wv.Find("signal")->as_string(), S("paid")});
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

inline Value Inputs(const std::string& workflow) {
  if (workflow == "weekly_issue" || workflow == "content_pipeline") {
    return Value::Map({{S("week"), S("2026-W48")}});
  }
  if (workflow == "invoice_followup") return Value::Map({{S("number"), S("INV-7")}, {S("days_overdue"), Value::Int(45)}});
  if (workflow == "follow_up") return Value::Map({{S("client"), S("Analytical")}, {S("proposal"), S("P-1")}});
  if (workflow == "nudge") return Value::Map({{S("email"), S("ann@example.com")}});
  if (workflow == "ingest_signals") {
    auto row = [](const char* id, const char* email, const char* name) {
      return Value::Map({{S("event_id"), S(id)}, {S("user_email"), S(email)}, {S("event_name"), S(name)}});
    };
    auto ev = [](const char* id, const char* handle, Value email) {
      return Value::Map({{S("id"), S(id)}, {S("handle"), S(handle)}, {S("email"), email}, {S("kind"), S("open")}});
    };
    return Value::Map({{S("ga4"), Value::List({row("1", "Ann@x", "purchase"), row("2", "bob@x", "view")})},
                       {S("mail"), Value::List({ev("m1", "@ann", Value()), ev("m2", "@ann", S("ann@x"))})}});
  }
  if (workflow == "lead_intake") {
    return Value::Map({{S("email"), S("ada@example.com")}, {S("name"), S("Ada")},
                       {S("company"), S("Analytical")}, {S("message"), S("Hi")}});
  }
  return Value::Map({});
}

// A run crashed once and resumed matches the run that never crashed: its
// status and output, and the receiver saw the same keys; a key arrives twice
// only when the crash fell between its intent and its completion (a retry
// carrying the same key, which the receiver deduplicates): at most once per
// effect in doubt at the crash (parallel effects can be several).
inline void SameAsUncrashed(const Driven& base, FakeCalls& base_calls, const Driven& d, FakeCalls& calls) {
  CHECK(d.crashes == 1);
  CHECK(d.outcome.status == base.outcome.status);
  CHECK(d.outcome.output == base.outcome.output);
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

// Every workflow of every example: (file, workflow).
inline std::vector<std::pair<std::filesystem::path, std::string>> ExampleWorkflows() {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(AOS_SOURCE_DIR) / "examples")) {
    if (e.path().extension() == ".aos") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::pair<fs::path, std::string>> runs;
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream text;
    text << in.rdbuf();
    Diagnostics diags;
    auto program = LoadProgram(f.string(), text.str(), CheckOptions{}, diags);
    for (const auto& dag : program->workflows) runs.emplace_back(f, dag->workflow->name);
  }
  return runs;
}

inline void SetSecrets() {
  for (const char* n : {"CMS_TOKEN", "BILLING_KEY", "CRM_TOKEN"}) setenv(n, "s3cr3t-test-token", 1);
}

inline RunOutcome Start(MemoryStore& store, ManualClock& clock, CallHandler& calls, const Loaded& w,
                 const std::string& id, const Value& inputs = Value::Map({}), RunOptions options = {}) {
  RunLog log(store, clock);
  log.Begin(id);
  std::string error;
  REQUIRE(StartRun(log, *w.program, *w.dag, "t.aos", w.source, inputs, false, &error));
  return Runner(log, *w.program, *w.dag, calls, clock, options).Run();
}

inline RunOutcome Decide(MemoryStore& store, ManualClock& clock, CallHandler& calls, const Loaded& w,
                  const std::string& id, const std::string& name, bool approved, Value data = Value()) {
  RunLog log(store, clock);
  std::string error;
  REQUIRE(log.Load(id, &error));
  log.Append(name, events::ApprovalDecided{.approved = approved, .by = "op", .data = data});
  log.Flush(true);
  return Runner(log, *w.program, *w.dag, calls, clock, RunOptions{}).Run();
}
}  // namespace aos::runner_test

#endif  // AOS_RUNTIME_RUNNER_TEST_SUPPORT_H_
