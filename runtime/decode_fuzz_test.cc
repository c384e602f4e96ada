// A bounded, deterministic fuzz run over everything the runtime reads back
// from a data directory: event records, snapshots and run index records,
// taken from a real run and mutated (bit flips, truncation, splices, random
// bytes) with a fixed seed. Decoding may refuse; it must never crash, hang
// or accept a record whose checksum no longer matches. Loading a run whose
// log holds a mutated record reports it instead of replaying past it.
#include <catch2/catch.hpp>

#include <random>

#include "lang/checker.h"
#include "runtime/clock.h"
#include "runtime/codec.h"
#include "runtime/event.h"
#include "runtime/run_log.h"
#include "runtime/runner.h"
#include "runtime/store.h"

namespace aos {
namespace {

class EchoCalls : public CallHandler {
 public:
  CallResult Invoke(const CallRequest& req) override {
    CallResult r;
    r.ok = true;
    r.value = Value::Map({{Value::String("status"), Value::Int(200)},
                          {Value::String("json"), Value::Map({{Value::String("id"), Value::String("p1")}})},
                          {Value::String("key"), Value::String(req.idempotency_key)}});
    return r;
  }
};

// Records of one real run: its events, a snapshot and its index entry.
struct Sample {
  std::vector<std::string> events;
  std::string snapshot;
  std::string index;
};

Sample MakeSample(MemoryStore& store) {
  const std::string src =
      "entity Lead { key email: string  score: double = 0.0 }\n"
      "workflow w(n: int = 3) {\n"
      "  let xs = [1, 2, 3]\n"
      "  for x in xs max 2 {\n"
      "    effect e = http.post(\"http://h/e\", json: {x: x, at: now()}) { key \"e-${x}\" retry 2 }\n"
      "  }\n"
      "  step l = Lead.upsert({email: \"a@b\", score: 0.5})\n"
      "  approval ok { ask \"Go?\" show {n: n, ids: e.map(v, v.json.id)} timeout 1h }\n"
      "  output {n: size(e), ok: ok.approved, id: uuid()}\n}\n";
  Diagnostics d;
  auto program = LoadProgram("w.aos", src, CheckOptions{}, d);
  REQUIRE_FALSE(d.has_errors());
  std::string error;
  const Dag* dag = program->FindWorkflow("", &error);
  REQUIRE(dag);
  ManualClock clock(1'790'000'000'000'000'000);
  EchoCalls calls;
  RunLog log(store, clock);
  log.snapshot_every = 5;
  log.Begin("fz");
  REQUIRE(StartRun(log, *program, *dag, "w.aos", src, Value::Map({}), false, &error));
  RunOptions opt;
  opt.durability = Durability::kStrict;
  REQUIRE(Runner(log, *program, *dag, calls, clock, opt).Run().status == RunStatus::kWaiting);
  Sample s;
  store.Scan(Column::kEvents, EventPrefix("fz"), EventPrefix("fz"), [&](std::string_view, std::string_view v) {
    s.events.emplace_back(v);
    return true;
  });
  s.snapshot = *store.Get(Column::kSnapshots, "fz");
  s.index = *store.Get(Column::kRuns, "fz");
  REQUIRE(s.events.size() > 10);
  return s;
}

std::string Mutate(std::string s, std::mt19937& rng) {
  if (s.empty()) return s;
  std::uniform_int_distribution<size_t> at(0, s.size() - 1);
  switch (rng() % 5) {
    case 0:
      s[at(rng)] ^= static_cast<char>(1u << (rng() % 8));
      break;
    case 1:
      s.resize(at(rng));
      break;
    case 2:
      s.insert(at(rng), std::string(1 + rng() % 8, static_cast<char>(rng())));
      break;
    case 3:
      for (int i = 0; i < 4; ++i) s[at(rng)] = static_cast<char>(rng());
      break;
    default: {
      const size_t a = at(rng), b = at(rng);
      s = s.substr(0, std::min(a, b)) + s.substr(std::max(a, b));
    }
  }
  return s;
}

TEST_CASE("mutated records are refused or decoded, never a crash", "[fuzz][runtime]") {
  MemoryStore store;
  const Sample sample = MakeSample(store);
  std::mt19937 rng(20261125);
  int refused = 0, accepted_changed = 0, values_decoded = 0;
  for (int i = 0; i < 6000; ++i) {
    const std::string& original = sample.events[rng() % sample.events.size()];
    const std::string bad = Mutate(original, rng);
    Event e;
    std::string why;
    if (DecodeEvent(bad, &e, &why)) {
      // Only possible when the mutation left the record as it was.
      accepted_changed += bad != original;
    } else {
      ++refused;
    }
    // The value codec below the checksum: anything, never a crash, and
    // what it accepts is a value that encodes and decodes back to itself.
    Value v;
    if (DecodeValue(bad, &v)) {
      Value again;
      REQUIRE(DecodeValue(EncodeValue(v), &again));
      CHECK(again == v);
      ++values_decoded;
    }
    // Snapshots: a damaged one is not trusted (RunLog falls back to events);
    // one that is taken names the run.
    const std::string snap = Mutate(sample.snapshot, rng);
    RunState st;
    if (DecodeValue(snap.substr(0, snap.size() > 4 ? snap.size() - 4 : 0), &v) && RunState::FromSnapshot(v, &st)) {
      CHECK(!st.run_id.empty());
    }
    RunIndexEntry idx;
    if (DecodeRunIndex("fz", Mutate(sample.index, rng), &idx)) CHECK(idx.run_id == "fz");
  }
  CHECK(accepted_changed == 0);
  CHECK(refused > 5000);
  CHECK(values_decoded > 0);  // the round trip above was exercised
}

TEST_CASE("a run whose log holds a damaged record is reported when loaded", "[fuzz][runtime]") {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    MemoryStore store;
    const Sample sample = MakeSample(store);
    store.Write(
        [&] {
          WriteBatch b;
          b.Delete(Column::kSnapshots, "fz");  // replay from the events
          const size_t k = rng() % sample.events.size();
          std::string bad = Mutate(sample.events[k], rng);
          if (bad == sample.events[k]) bad += "x";
          b.Put(Column::kEvents, EventKey("fz", k), bad);
          return b;
        }(),
        true);
    ManualClock clock(0);
    RunLog log(store, clock);
    std::string error;
    CHECK_FALSE(log.Load("fz", &error));
    CHECK(error.find("damaged") != std::string::npos);
  }
}

}  // namespace
}  // namespace aos
