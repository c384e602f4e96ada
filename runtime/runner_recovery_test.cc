// Runner tests of what happens when things go wrong: escalation to the
// operator, confirm, compensation (order, crashes during it, loops not
// finished, results reused from earlier runs), effects in doubt, upgrades,
// the due column, recorded now()/uuid(), and skips through loops.
#include <catch2/catch.hpp>

#include "runtime/runner_test_support.h"

namespace aos {
namespace {

using namespace runner_test;

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
