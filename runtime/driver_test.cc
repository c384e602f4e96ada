// The Driver on a MemoryStore: starts and continues runs, indexes due
// times at recovery, and never loses a schedule fire it had recorded as due
// (a kill between "due" and "done" fires it again at the next start, under
// the same run id, whatever the missed policy).
#include "runtime/driver.h"

#include <chrono>
#include <functional>
#include <thread>

#include "runtime/operations.h"
#include "runtime/runner_test_support.h"

namespace aos {
namespace {

using namespace runner_test;

std::shared_ptr<Program> Checked(const std::string& text) {
  Diagnostics diags;
  std::shared_ptr<Program> p = LoadProgram("d.aos", text, CheckOptions{}, diags);
  for (const auto& d : diags.all()) {
    if (d.severity == Severity::kError) FAIL(RenderText(d));
  }
  return p;
}

// Workers fire triggers off the calling thread: wait (bounded, 5 s) until
// `done` holds.
bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

bool RunAppears(MemoryStore& store, const std::string& id) {
  return Eventually([&] { return store.Get(Column::kRuns, id).has_value(); });
}

const char* kFlows =
    "workflow three(n: int) {\n  let a = n + 1\n  output a * 2\n}\n"
    "workflow later() {\n  wait w for 1h\n  output 1 after w\n}\n"
    "workflow asks() {\n  approval ok {\n    ask \"go?\"\n  }\n  output 2 after ok\n}\n";

std::optional<RunStatus> StatusOf(MemoryStore& store, Clock& clock, const std::string& id) {
  RunLog log(store, clock);
  std::string error;
  if (!log.Load(id, &error)) return std::nullopt;
  return log.state().status;
}

TEST_CASE("the driver starts runs, continues an existing id, refuses another workflow's", "[driver]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Driver d(store, clock, calls, RunOptions{}, 1);
  const std::string text = kFlows;
  d.AddProgram(Checked(text), text);
  auto s = d.Start("three", Value::Map({{S("n"), Value::Int(4)}}), "t1");
  CHECK(s.status == 201);
  CHECK(s.outcome.output == Value::Int(10));
  s = d.Start("three", Value::Map({{S("n"), Value::Int(9)}}), "t1");
  CHECK(s.status == 200);  // the same run, as it was
  CHECK(s.outcome.output == Value::Int(10));
  s = d.Start("later", Value::Map({}), "t1");
  CHECK(s.status == 409);
  CHECK(d.Start("nope", Value::Map({}), "").status == 404);
  CHECK(d.Start("three", Value::Map({{S("n"), S("x")}}), "").status == 400);
}

TEST_CASE("recovery indexes every waiting run's due time from the store", "[driver]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  const std::string text = kFlows;
  {
    Driver d(store, clock, calls, RunOptions{}, 1);
    d.AddProgram(Checked(text), text);
    for (const char* id : {"w1", "w2", "w3"}) REQUIRE(d.Start("later", Value::Map({}), id).status == 201);
    CHECK(d.due_count() == 3);
  }
  Driver again(store, clock, calls, RunOptions{}, 1);
  again.AddProgram(Checked(text), text);
  CHECK(again.due_count() == 0);
  again.Recover();
  CHECK(again.due_count() == 3);
}

TEST_CASE("a schedule fire recorded as due but not as done fires again at the next start", "[driver]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  const std::string text =
      "workflow tick(at: time) {\n  output at\n}\n"
      "trigger t {\n  every 1h\n  missed skip\n  start tick(at: fired_at)\n}\n";
  const int64_t due = kStart - 600'000'000'000;  // ten minutes ago, while the killed serve ran
  WriteBatch b;
  b.Put(Column::kMeta, "trigger-pending:t", std::to_string(due));
  store.Write(b, true);
  Driver d(store, clock, calls, RunOptions{}, 1);
  d.AddProgram(Checked(text), text);
  d.Recover();
  const std::string id = Driver::FireRunId("t", due);
  REQUIRE(RunAppears(store, id));
  RunLog log(store, clock);
  std::string error;
  REQUIRE(log.Load(id, &error));
  CHECK(log.state().inputs.Find("at")->as_time().nanos == due);
  // Done: the pending record is gone, the fire is the last one.
  CHECK(Eventually([&] { return !store.Get(Column::kMeta, "trigger-pending:t"); }));
  CHECK(store.Get(Column::kMeta, "trigger-last:t") == std::optional<std::string>(std::to_string(due)));
}

TEST_CASE("a trigger's first fire missed while serve was down runs once (missed run_once)", "[driver]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  const std::string text =
      "workflow tick(at: time) {\n  output at\n}\n"
      "trigger t {\n  schedule \"0 * * * *\"\n  start tick(at: fired_at)\n}\n";
  {
    Driver d(store, clock, calls, RunOptions{}, 1);
    d.AddProgram(Checked(text), text);
    d.Recover();  // first served now: remembered, nothing fires yet
  }
  CHECK(store.Get(Column::kMeta, "trigger-since:t"));
  clock.Advance(3LL * 3600 * 1'000'000'000);  // down for three hours
  Driver d(store, clock, calls, RunOptions{}, 1);
  d.AddProgram(Checked(text), text);
  d.Recover();
  // The latest missed hour fires, once.
  const int64_t hour = 3600LL * 1'000'000'000;
  const int64_t latest = (clock.NowNanos() / hour) * hour;
  REQUIRE(RunAppears(store, Driver::FireRunId("t", latest)));
  CHECK_FALSE(store.Get(Column::kRuns, Driver::FireRunId("t", latest - hour)));
}

// The due column as "run@time" strings.
std::vector<std::string> DueKeys(MemoryStore& store) {
  std::vector<std::string> keys;
  store.Scan(Column::kDue, "", "", [&](std::string_view k, std::string_view) {
    int64_t at = 0;
    std::string run;
    SplitDueKey(k, &at, &run);
    keys.push_back(run + "@" + std::to_string(at));
    return true;
  });
  return keys;
}

// A process killed after recording a decision or a signal and before going
// on from it (serve's approve, pg_workers' SIGKILL) leaves a waiting run
// with nothing new to wait for: it is due now, so the next start (or
// another worker) goes on, once.
TEST_CASE("a decision or signal recorded but not acted on makes the run due; recovery continues it", "[driver]") {
  const std::string text =
      "workflow asks() {\n  approval ok {\n    ask \"go?\"\n  }\n  output 2 after ok\n}\n"
      "workflow two() {\n  approval a {\n    ask \"a?\"\n  }\n  approval b {\n    ask \"b?\"\n  }\n"
      "  let x = 1 after a\n  output 3 after b, x\n}\n"
      "workflow hears() {\n  signal paid \"paid\"\n  output paid\n}\n";
  struct Case {
    const char* workflow;
    const char* event;  // "approval NAME" or "signal NAME"
    RunStatus after;    // once recovery went on from it
    bool snapshot;      // the recording flush writes a snapshot, which Load starts from
  };
  const Case cases[] = {{"asks", "approval ok", RunStatus::kCompleted, false},
                        {"asks", "approval ok", RunStatus::kCompleted, true},
                        {"two", "approval a", RunStatus::kWaiting, false},  // b still asked: waits again
                        {"hears", "signal paid", RunStatus::kCompleted, true}};
  for (const Case& c : cases) {
    INFO(c.workflow << " " << c.event << (c.snapshot ? " (snapshot)" : ""));
    MemoryStore store;
    ManualClock clock(kStart);
    FakeCalls calls;
    Loaded w = Load("d.aos", text, c.workflow);
    {
      Driver d(store, clock, calls, RunOptions{}, 1);
      d.AddProgram(Checked(text), text);
      d.Recover();  // as serve starts: the due column is complete from here on
      REQUIRE(d.Start(c.workflow, Value::Map({}), "r").status == 201);
    }
    CHECK(DueKeys(store).empty());  // no timeouts: nothing is due
    {
      RunLog log(store, clock);
      if (c.snapshot) log.snapshot_every = 1;
      std::string error;
      REQUIRE(log.Load("r", &error));
      const std::string event = c.event;
      const std::string name = event.substr(event.find(' ') + 1);
      if (event.rfind("approval", 0) == 0) {
        Decision yes;
        REQUIRE(Decide(log, w.program.get(), w.dag, name, yes).ok());
      } else {
        REQUIRE(DeliverSignal(log, w.dag, name, S("paid")).ok());
      }
      CHECK(log.state().woken);  // ... and the process dies here
    }
    CHECK(DueKeys(store) == std::vector<std::string>{"r@1"});  // due as a running run
    {
      RunLog log(store, clock);
      std::string error;
      REQUIRE(log.Load("r", &error));
      CHECK(log.state().woken);  // from the snapshot too
    }
    {
      Driver again(store, clock, calls, RunOptions{}, 1);
      again.AddProgram(Checked(text), text);
      again.Recover();
      CHECK(Eventually([&] { return StatusOf(store, clock, "r") == c.after; }));
    }  // the pool's jobs end with it
    CHECK(DueKeys(store).empty());  // gone on from once: nothing left due
    RunLog log(store, clock);
    std::string error;
    REQUIRE(log.Load("r", &error));
    CHECK_FALSE(log.state().woken);
  }
}

TEST_CASE("Wake makes a waiting run due now", "[driver]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Driver d(store, clock, calls, RunOptions{}, 1);
  const std::string text = kFlows;
  d.AddProgram(Checked(text), text);
  REQUIRE(d.Start("later", Value::Map({}), "w").status == 201);
  CHECK(d.due_count() == 1);
  d.Wake("w");
  CHECK(d.due_count() == 1);  // still one entry: moved to now, not added
}

}  // namespace
}  // namespace aos
