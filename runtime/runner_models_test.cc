// Runner tests of model and connector calls: typed output asked for again
// on a mismatch, budgets (waiting for the operator, shared by parallel
// calls, charged on a type failure), the call cache, connector allow lists.
#include <catch2/catch.hpp>

#include "runtime/runner_test_support.h"

namespace aos {
namespace {

using namespace runner_test;

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

TEST_CASE("an allow glob's '*' stays within one path segment at run time, as in the checker", "[runner]") {
  Loaded w = Load("g.aos",
                  "connector cms = http { base_url: \"http://cms\"  allow: [\"GET /items/*\"] }\n"
                  "workflow g(id: string) {\n"
                  "  step r = cms.get(\"/items/\" + id)\n"
                  "  output r.status\n}\n");
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Driven ok = Drive(store, clock, calls, w, Value::Map({{S("id"), S("42")}}), 0);
  CHECK(ok.outcome.status == RunStatus::kCompleted);
  // "/items/42/secrets": refused (fnmatch without FNM_PATHNAME let it through).
  MemoryStore store2;
  Driven denied = Drive(store2, clock, calls, w, Value::Map({{S("id"), S("42/secrets")}}), 0);
  REQUIRE(denied.outcome.status == RunStatus::kFailed);
  CHECK(denied.outcome.error.Find("kind")->as_string() == "connector.denied");
}

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

TEST_CASE("a budget per day counts every run of the workflow that day; the config's counts all", "[runner][budget]") {
  Loaded w = Load("d.aos",
                  "agent a { model: \"small\" }\n"
                  "workflow daily() {\n  budget 0.50 usd per day\n  step one = a.ask(\"one\")\n  output one.cost\n}\n");
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  calls.SetModelCost(Money{300'000'000, "usd"});  // 0.30 usd a call
  CHECK(Start(store, clock, calls, w, "d1").status == RunStatus::kCompleted);
  CHECK(Start(store, clock, calls, w, "d2").status == RunStatus::kCompleted);  // 0.30 spent before it
  RunOutcome third = Start(store, clock, calls, w, "d3");                     // 0.60 spent: over
  REQUIRE(third.status == RunStatus::kWaiting);
  CHECK(third.waiting_on.as_list()[0].Find("ask")->as_string().find("daily's budget per day (all its runs) of 0.50") !=
        std::string::npos);
  CHECK(calls.calls() == 2);
  // The next day starts afresh.
  clock.Advance(24LL * 3600 * 1'000'000'000);
  CHECK(Start(store, clock, calls, w, "d4").status == RunStatus::kCompleted);
  CHECK(calls.calls() == 3);
  // The config's budget of all workflows per month: 0.90 spent this month.
  Config config;
  config.budget_month = Money{1'000'000'000, "usd"};
  Loaded other = Load("o.aos", "agent a { model: \"small\" }\nworkflow other() {\n  step one = a.ask(\"x\")\n  output 1\n}\n");
  RunOptions ro;
  ro.config = &config;
  CHECK(Start(store, clock, calls, other, "o1", Value::Map({}), ro).status == RunStatus::kCompleted);  // 0.90 before
  RunOutcome over = Start(store, clock, calls, other, "o2", Value::Map({}), ro);                       // 1.20: over 1.00
  REQUIRE(over.status == RunStatus::kWaiting);
  CHECK(over.waiting_on.as_list()[0].Find("ask")->as_string().find("all workflows per month") != std::string::npos);
}

}  // namespace
}  // namespace aos
