// Entity calls on the in-memory store (runtime/runner_entities.cc): writes
// with the step, patches that all count, list/find/ref, identities and
// merges. Kills during patches and merges are in tests/state_kill_test.py.
#include <catch2/catch.hpp>

#include <thread>

#include "runtime/codec.h"
#include "runtime/entity_store.h"
#include "runtime/runner_test_support.h"

namespace aos {
namespace {

using namespace runner_test;

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

const char* kCounter =
    "entity Counter { key id: string  n: int = 0  tags: list<string> = [] }\n"
    "workflow bump(xs: list<int>) {\n"
    "  for x in xs max 4 {\n"
    "    step p = Counter.patch(\"c\", {n: it.n + 1, tags: union(it.tags, [\"t${x % 3}\"])})\n"
    "  }\n"
    "  step last = Counter.get(\"c\") after p\n"
    "  output last\n}\n";

Value Items(int n) {
  ValueList xs;
  for (int i = 0; i < n; ++i) xs.push_back(Value::Int(i));
  return Value::Map({{S("xs"), Value::List(std::move(xs))}});
}

TEST_CASE("patches of one record by parallel items all count", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("c.aos", kCounter);
  Driven d = Drive(store, clock, calls, w, Items(20), 0);
  REQUIRE(d.outcome.status == RunStatus::kCompleted);
  // Made from the defaults by the first patch; every item's change counts.
  CHECK(d.outcome.output.ToJson() == R"({"id":"c","n":20,"tags":["t0","t1","t2"]})");
  CHECK(calls.calls() == 0);
}

TEST_CASE("patches of one record by two runs at once all count", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("c.aos", kCounter);
  RunOutcome a, b;
  std::thread t([&] { a = Start(store, clock, calls, w, "run-a", Items(50)); });
  b = Start(store, clock, calls, w, "run-b", Items(50));
  t.join();
  REQUIRE(a.status == RunStatus::kCompleted);
  REQUIRE(b.status == RunStatus::kCompleted);
  auto raw = store.Get(Column::kEntities, std::string("Counter") + std::string(1, '\0') + "c");
  REQUIRE(raw);
  Value v;
  REQUIRE(DecodeValue(*raw, &v));
  CHECK(v.Find("n")->as_int() == 100);
}

TEST_CASE("upserts of one record by two runs at once: its index holds its value only, its history every write in order",
          "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);  // the clock stands still: every write has the same "now"
  FakeCalls calls;
  Loaded w = Load("l.aos",
                  "entity Lead { key email: string  company: string\n  index company }\n"
                  "workflow w(c: string, xs: list<int>) {\n"
                  "  for x in xs max 4 {\n    step u = Lead.upsert({email: \"l\", company: c})\n  }\n"
                  "  output size(u)\n}\n");
  auto input = [](const char* c) {
    Value in = Items(40);
    ValueMap m = in.as_map();
    m.emplace_back(S("c"), S(c));
    return Value::Map(std::move(m));
  };
  RunOutcome a, b;
  std::thread t([&] { a = Start(store, clock, calls, w, "run-a", input("a")); });
  b = Start(store, clock, calls, w, "run-b", input("b"));
  t.join();
  REQUIRE(a.status == RunStatus::kCompleted);
  REQUIRE(b.status == RunStatus::kCompleted);
  // Each write read the record under the writers' lock: the index entry of
  // the value it replaced is gone, whichever run wrote last.
  Loaded f = Load("f.aos", "entity Lead { key email: string  company: string\n  index company }\n"
                           "workflow f() {\n  step a = Lead.find(company: \"a\")\n"
                           "  step b = Lead.find(company: \"b\")\n  output size(a) + size(b)\n}\n");
  CHECK(Start(store, clock, calls, f, "run-f", Value::Map({})).output == Value::Int(1));
  // History: 80 entries at 80 distinct times, in the order they were
  // committed; the last is the write of the run whose value stands.
  std::vector<int64_t> times;
  std::string last_run;
  const std::string prefix = entities::HistoryPrefix("Lead", "l");
  store.Scan(Column::kEntities, prefix, prefix, [&](std::string_view k, std::string_view raw) {
    times.push_back(static_cast<int64_t>(GetBigEndian64(k.substr(prefix.size(), 8))));
    Value h;
    REQUIRE(DecodeValue(raw, &h));
    last_run = h.Find("run")->ToDisplayString();
    return true;
  });
  CHECK(times.size() == 80);
  CHECK(std::adjacent_find(times.begin(), times.end(), std::greater_equal<int64_t>()) == times.end());
  const Value rec = entities::Load(store, "Lead", "l");
  CHECK(last_run == "run-" + rec.Find("company")->ToDisplayString());
}

TEST_CASE("a key holding NUL is refused: the step fails and nothing is written", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  for (const char* call : {R"(Lead.upsert({email: "a\u0000b", name: "A"}))", R"(Lead.patch("a\u0000b", {name: "B"}))"}) {
    Loaded w = Load("n.aos", std::string("entity Lead { key email: string  name: string? }\n"
                                         "workflow n() {\n  step u = ") + call + "\n  output 1 after u\n}\n");
    Driven d = Drive(store, clock, calls, w, Value::Map({}), 0);
    INFO(call);
    REQUIRE(d.outcome.status == RunStatus::kFailed);
    CHECK(d.outcome.error.Find("message")->ToDisplayString().find("NUL") != std::string::npos);
  }
  const std::string prefix = entities::RecordPrefix("Lead");
  int records = 0;
  store.Scan(Column::kEntities, prefix, prefix, [&](std::string_view, std::string_view) { return ++records, true; });
  CHECK(records == 0);
}

TEST_CASE("a patch that cannot apply fails its step and writes nothing", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("p.aos",
                  "entity Lead { key email: string  n: int = 12 }\n"
                  "workflow p(by: int) {\n"
                  "  step a = Lead.patch(\"a@x\", {n: it.n / by})\n"
                  "  output a\n}\n");
  Driven d = Drive(store, clock, calls, w, Value::Map({{S("by"), Value::Int(0)}}), 0);
  CHECK(d.outcome.status == RunStatus::kFailed);
  CHECK(d.outcome.error.Find("message")->ToDisplayString().find("the changes") != std::string::npos);
  CHECK_FALSE(store.Get(Column::kEntities, std::string("Lead") + std::string(1, '\0') + "a@x"));
  Driven ok = Drive(store, clock, calls, w, Value::Map({{S("by"), Value::Int(4)}}), 0);
  REQUIRE(ok.outcome.status == RunStatus::kCompleted);
  CHECK(ok.outcome.output.ToJson() == R"({"email":"a@x","n":3})");
}

TEST_CASE("E.list filters with where (it: each record), orders by a field, limits", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("l.aos",
                  "entity Lead { key email: string  score: double?  tier: string = \"free\" }\n"
                  "workflow l(min: double) {\n"
                  "  for r in [[\"a\", 0.9], [\"b\", 0.2], [\"c\", 0.7], [\"d\", 0.95]] {\n"
                  "    step u = Lead.upsert({email: r[0], score: r[1]})\n"
                  "  }\n"
                  "  step n = Lead.upsert({email: \"e\"}) after u\n"
                  "  step top = Lead.list(where: it.tier == \"free\" && default(it.score, 0.0) >= min, "
                  "order_by: \"score\", desc: true, limit: 2) after n\n"
                  "  step asc = Lead.list(order_by: \"score\") after n\n"
                  "  step keyed = Lead.list(where: it.email != \"a\", limit: 2) after n\n"
                  "  output {top: top.map(x, x.email), asc: asc.map(x, x.email), keyed: keyed.map(x, x.email)}\n}\n");
  Driven d = Drive(store, clock, calls, w, Value::Map({{S("min"), Value::Double(0.5)}}), 0);
  REQUIRE(d.outcome.status == RunStatus::kCompleted);
  // Nulls (e has no score) sort last; key order without order_by.
  CHECK(d.outcome.output.ToJson() == R"({"top":["d","a"],"asc":["b","c","a","d","e"],"keyed":["b","c"]})");
}

TEST_CASE("E.find looks records up by an indexed field, built for older records and kept on writes",
          "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  const std::string lead = "entity Lead { key email: string  company: string?  n: int = 0 }\n";
  const std::string indexed_lead =
      "entity Lead { key email: string  company: string?  n: int = 0\n  index company }\n";
  // Records written by a program without the index...
  Loaded before = Load("b.aos", lead +
                       "workflow b() {\n"
                       "  for r in [[\"a\", \"acme\"], [\"b\", \"zed\"], [\"c\", \"acme\"]] {\n"
                       "    step u = Lead.upsert({email: r[0], company: r[1]})\n"
                       "  }\n"
                       "  output 1 after u\n}\n");
  REQUIRE(Drive(store, clock, calls, before, Value::Map({}), 0).outcome.status == RunStatus::kCompleted);
  // ...are found by one that declares it; its own writes keep the index.
  Loaded w = Load("f.aos", indexed_lead +
                  "workflow f() {\n"
                  "  step first = Lead.find(company: \"acme\")\n"
                  "  step moved = Lead.patch(\"a\", {company: \"zed\"}) after first\n"
                  "  step gone = Lead.delete(\"b\") after moved\n"
                  "  step added = Lead.upsert({email: \"d\", company: \"zed\"}) after gone\n"
                  "  step acme = Lead.find(company: \"acme\") after added\n"
                  "  step zed = Lead.find(company: \"zed\") after added\n"
                  "  step none = Lead.find(company: \"nobody\") after added\n"
                  "  output {first: first.map(x, x.email), acme: acme.map(x, x.email), zed: zed.map(x, x.email), "
                  "none: size(none)}\n}\n");
  Driven d = Drive(store, clock, calls, w, Value::Map({}), 0);
  REQUIRE(d.outcome.status == RunStatus::kCompleted);
  CHECK(d.outcome.output.ToJson() == R"({"first":["a","c"],"acme":["c"],"zed":["a","d"],"none":0})");
  // A program without the index changes a record: once an index is built,
  // every program keeps it (the old entry goes, the new one comes).
  Loaded other = Load("o.aos", lead +
                      "workflow o() {\n  step u = Lead.upsert({email: \"c\", company: \"zed\"})\n  output u.email\n}\n");
  REQUIRE(Drive(store, clock, calls, other, Value::Map({}), 0).outcome.status == RunStatus::kCompleted);
  Loaded again = Load("g.aos", indexed_lead +
                      "workflow g() {\n  step acme = Lead.find(company: \"acme\")\n"
                      "  step zed = Lead.find(company: \"zed\")\n"
                      "  output {acme: size(acme), zed: zed.map(x, x.email)}\n}\n");
  Driven g = Drive(store, clock, calls, again, Value::Map({}), 0);
  REQUIRE(g.outcome.status == RunStatus::kCompleted);
  CHECK(g.outcome.output.ToJson() == R"({"acme":0,"zed":["a","c","d"]})");
}

TEST_CASE("a ref<T> field must name a stored T record when written; T.get follows it", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  const std::string decls =
      "entity Company { key name: string  size: int = 0 }\n"
      "entity Person { key email: string  company: ref<Company>? }\n";
  Loaded orphan = Load("o.aos", decls +
                                    "workflow o() {\n"
                                    "  step p = Person.upsert({email: \"a@x\", company: \"acme\"})\n"
                                    "  output p\n}\n");
  Driven d = Drive(store, clock, calls, orphan, Value::Map({}), 0);
  CHECK(d.outcome.status == RunStatus::kFailed);
  CHECK(d.outcome.error.Find("kind")->ToDisplayString() == "entity.ref");
  CHECK(d.outcome.error.Find("message")->ToDisplayString().find("no Company record has the key 'acme'") !=
        std::string::npos);
  CHECK_FALSE(store.Get(Column::kEntities, std::string("Person") + std::string(1, '\0') + "a@x"));
  Loaded ok = Load("k.aos", decls +
                                "workflow k() {\n"
                                "  step c = Company.upsert({name: \"acme\", size: 12})\n"
                                "  step p = Person.upsert({email: \"a@x\", company: c.name})\n"
                                "  step none = Person.upsert({email: \"b@x\"}) after p\n"
                                "  step moved = Person.patch(\"b@x\", {company: \"zed\"}) after none\n"
                                "  output moved\n}\n");
  Driven k = Drive(store, clock, calls, ok, Value::Map({}), 0);
  // The null ref is fine; the patch to a missing company fails, as the upsert did.
  CHECK(k.outcome.status == RunStatus::kFailed);
  CHECK(k.outcome.error.Find("kind")->ToDisplayString() == "entity.ref");
  Loaded follow = Load("f.aos", decls +
                                    "workflow f() {\n"
                                    "  step p = Person.get(\"a@x\")\n"
                                    "  step c = Company.get(p.company)\n"
                                    "  output c.size\n}\n");
  Driven f = Drive(store, clock, calls, follow, Value::Map({}), 0);
  REQUIRE(f.outcome.status == RunStatus::kCompleted);
  CHECK(f.outcome.output == Value::Int(12));
}

TEST_CASE("a where that is not a bool fails the step", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("l.aos",
                  "entity Lead { key email: string  tags: any = null }\n"
                  "workflow l() {\n"
                  "  step u = Lead.upsert({email: \"a\", tags: \"x\"})\n"
                  "  step bad = Lead.list(where: it.tags == \"x\" ? it.tags : false) after u\n"
                  "  output bad\n}\n");
  Driven d = Drive(store, clock, calls, w, Value::Map({}), 0);
  CHECK(d.outcome.status == RunStatus::kFailed);
  CHECK(d.outcome.error.Find("message")->ToDisplayString().find("not bool") != std::string::npos);
}


const char* kSubscriber =
    "entity Subscriber {\n"
    "  key id: string\n"
    "  identity email: string?\n"
    "  identity handle: string?\n"
    "  name: string?\n"
    "  score: double = 0.0\n"
    "  sources: list<string> = []\n"
    "}\n";

// One upsert per run, a second of the clock apart: the record made first is
// the older one.
RunOutcome Upsert(MemoryStore& store, ManualClock& clock, FakeCalls& calls, const std::string& record) {
  clock.Advance(1'000'000'000);
  Loaded w = Load("u.aos", std::string(kSubscriber) + "workflow u() {\n  step u = Subscriber.upsert(" + record +
                               ")\n  output u\n}\n");
  RunOutcome o = Drive(store, clock, calls, w, Value::Map({}), 0).outcome;
  REQUIRE(o.status == RunStatus::kCompleted);
  return o;
}

Value Ask(MemoryStore& store, ManualClock& clock, FakeCalls& calls, const std::string& expr) {
  Loaded w = Load("q.aos", std::string(kSubscriber) + "workflow q() {\n  step q = " + expr + "\n  output q\n}\n");
  RunOutcome o = Drive(store, clock, calls, w, Value::Map({}), 0).outcome;
  REQUIRE(o.status == RunStatus::kCompleted);
  return o.output;
}

int Stored(MemoryStore& store, const std::string& type) {
  int n = 0;
  const std::string prefix = type + std::string(1, '\0');
  store.Scan(Column::kEntities, prefix, prefix, [&](std::string_view, std::string_view) {
    ++n;
    return true;
  });
  return n;
}

TEST_CASE("identities: a record found by any of them, merged when a write joins two", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  // Without a key: made with the first identity's value as its key.
  Upsert(store, clock, calls, R"({email: "ann@x", name: "Ann", sources: ["ga4"]})");
  Upsert(store, clock, calls, R"({handle: "@ann", sources: ["x"], score: 1.0})");
  CHECK(Stored(store, "Subscriber") == 2);
  // Found by its identity: the write joins the stored record.
  RunOutcome same = Upsert(store, clock, calls, R"({email: "ann@x", score: 0.5})");
  CHECK(same.output.ToJson() ==
        R"({"id":"ann@x","email":"ann@x","handle":null,"name":"Ann","score":0.5,"sources":["ga4"]})");
  // Email and handle lead to two records: merged into the older, the
  // write's fields win, lists are unioned.
  RunOutcome merged = Upsert(store, clock, calls, R"({email: "ann@x", handle: "@ann", sources: ["crm"]})");
  CHECK(merged.output.ToJson() ==
        R"({"id":"ann@x","email":"ann@x","handle":"@ann","name":"Ann","score":0.5,"sources":["ga4","x","crm"]})");
  CHECK(Stored(store, "Subscriber") == 1);
  // The merged key and both identities lead to the survivor.
  CHECK(Ask(store, clock, calls, R"(Subscriber.get("@ann"))").Find("id")->ToDisplayString() == "ann@x");
  CHECK(Ask(store, clock, calls, R"(Subscriber.resolve({handle: "@ann"}))") == Value::String("ann@x"));
  CHECK(Ask(store, clock, calls, R"(Subscriber.resolve({email: "ann@x", handle: "@ann"}))") ==
        Value::String("ann@x"));
  CHECK(Ask(store, clock, calls, R"(Subscriber.resolve({email: "bob@x"}))").is_null());
  // A patch by the merged key changes the survivor.
  CHECK(Ask(store, clock, calls, R"(Subscriber.patch("@ann", {score: it.score + 1.0}))").Find("score")->as_double() ==
        1.5);
  // An upsert by the merged key goes to the survivor: merged in, the
  // survivor's key and what the merge brought kept.
  RunOutcome by_old = Upsert(store, clock, calls, R"({id: "@ann", sources: ["sms"]})");
  CHECK(by_old.output.Find("id")->ToDisplayString() == "ann@x");
  CHECK(by_old.output.Find("handle")->ToDisplayString() == "@ann");
  CHECK(by_old.output.Find("sources")->ToJson() == R"(["ga4","x","crm","sms"])");
  CHECK(Stored(store, "Subscriber") == 1);
  // A key the write names that no record had leads to the record its
  // identity found.
  Upsert(store, clock, calls, R"({id: "crm-7", email: "ann@x", name: "Ann B"})");
  CHECK(Ask(store, clock, calls, R"(Subscriber.get("crm-7"))").Find("name")->ToDisplayString() == "Ann B");
  CHECK(Stored(store, "Subscriber") == 1);
}

TEST_CASE("a merge records EntitiesMerged and follows a third record sharing an identity", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  // Written before email was an identity: two records share one.
  Loaded old = Load("o.aos",
                    "entity Subscriber { key id: string  email: string?  handle: string?  name: string?\n"
                    "  score: double = 0.0  sources: list<string> = [] }\n"
                    "workflow o() {\n"
                    "  step a = Subscriber.upsert({id: \"a\", email: \"a@x\", handle: \"@a\", sources: [\"1\"]})\n"
                    "  step b = Subscriber.upsert({id: \"b\", email: \"b@x\", handle: \"@b\", sources: [\"2\"]}) after a\n"
                    "  step c = Subscriber.upsert({id: \"c\", email: \"b@x\", name: \"Cy\", sources: [\"3\"]}) after b\n"
                    "  output 1 after c\n}\n");
  REQUIRE(Drive(store, clock, calls, old, Value::Map({}), 0).outcome.status == RunStatus::kCompleted);
  CHECK(Stored(store, "Subscriber") == 3);
  // a's email and b's handle: a and b are one; c shares b's email, so it is too.
  clock.Advance(1'000'000'000);
  Loaded w = Load("m.aos", std::string(kSubscriber) +
                               "workflow m() {\n  step u = Subscriber.upsert({email: \"a@x\", handle: \"@b\"})\n"
                               "  output u\n}\n");
  RunOutcome o = Start(store, clock, calls, w, "merge-run");
  REQUIRE(o.status == RunStatus::kCompleted);
  CHECK(Stored(store, "Subscriber") == 1);
  CHECK(o.output.Find("id")->ToDisplayString() == "a");
  CHECK(o.output.Find("name")->ToDisplayString() == "Cy");
  CHECK(o.output.Find("handle")->ToDisplayString() == "@b");
  CHECK(o.output.Find("sources")->ToJson() == R"(["1","2","3"])");
  std::vector<std::string> merged;
  ScanRunEvents(store, "merge-run", [&](uint64_t, const Event* e, const std::string&) {
    if (e && e->type == EventType::kEntitiesMerged) {
      const auto ev = events::Read<events::EntitiesMerged>(*e);
      CHECK(ev.into == "a");
      merged.push_back(ev.from + ":" + ev.record.Find("email")->ToDisplayString());
    }
    return true;
  });
  CHECK(merged == std::vector<std::string>{"b:b@x", "c:b@x"});
  // Every identity any of them held leads to the survivor.
  for (const char* q : {R"({email: "b@x"})", R"({handle: "@a"})", R"({handle: "@b"})"}) {
    CHECK(Ask(store, clock, calls, std::string("Subscriber.resolve(") + q + ")") == Value::String("a"));
  }
  CHECK(Ask(store, clock, calls, R"(Subscriber.get("c"))").Find("id")->ToDisplayString() == "a");
}

const char* kGa4 =
    "type Ga4Row { event_id: string  user_email: string  event_name: string }\n"
    "entity Signal { key id: string  email: string  kind: string  weight: double = 1.0 }\n"
    "transform ga4_signal v2 (row: Ga4Row) -> Signal {\n"
    "  id: \"ga4-${row.event_id}\"\n"
    "  email: lower(row.user_email)\n"
    "  kind: row.event_name\n"
    "}\n"
    "workflow g(rows: list<any>) {\n"
    "  for r in rows {\n"
    "    step s = Signal.upsert(ga4_signal(r))\n"
    "  }\n"
    "  output s.map(x, x.id)\n"
    "}\n";

Value Rows(const std::string& json) {
  std::string error;
  auto v = ParseJson(json, &error);
  REQUIRE(v);
  return Value::Map({{S("rows"), *v}});
}

TEST_CASE("a transform makes the record it upserts, named in the record's provenance", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("g.aos", kGa4);
  RunOutcome o = Start(store, clock, calls, w, "ga4-run",
                       Rows(R"([{"event_id": "1", "user_email": "Ann@X", "event_name": "view", "extra": 1}])"));
  REQUIRE(o.status == RunStatus::kCompleted);
  CHECK(o.output.ToJson() == R"(["ga4-1"])");
  auto rec = store.Get(Column::kEntities, std::string("Signal") + '\0' + "ga4-1");
  REQUIRE(rec);
  Value v;
  REQUIRE(DecodeValue(*rec, &v));
  CHECK(v.ToJson() == R"({"id":"ga4-1","email":"ann@x","kind":"view","weight":1.0})");
  v = entities::Provenance(store, "Signal", "ga4-1");
  REQUIRE(v.kind() == ValueKind::kMap);
  CHECK(v.Find("transform")->ToDisplayString() == "ga4_signal@v2");
  CHECK(v.Find("run")->ToDisplayString() == "ga4-run");
  CHECK(v.Find("step")->ToDisplayString() == "s[0]");
}

TEST_CASE("a payload that does not fit its transform is schema drift: the statement escalates", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  Loaded w = Load("g.aos", kGa4);
  // user_email renamed upstream.
  RunOutcome o = Start(store, clock, calls, w, "drift", Rows(R"([{"event_id": "1", "email": "a@x", "event_name": "view"}])"));
  REQUIRE(o.status == RunStatus::kWaiting);
  const std::string waiting = o.waiting_on.ToJson();
  CHECK(waiting.find("ga4_signal@v2") != std::string::npos);
  CHECK(waiting.find("row.user_email: missing") != std::string::npos);
  CHECK_FALSE(store.Get(Column::kEntities, std::string("Signal") + '\0' + "ga4-1"));
  // Rejected: the run fails with the kind.
  RunOutcome r = Decide(store, clock, calls, w, "drift", "s[0]", false);
  REQUIRE(r.status == RunStatus::kFailed);
  CHECK(r.error.Find("kind")->ToDisplayString() == "schema.drift");
}

TEST_CASE("E.summary is progressive: the model sees only what is new, nothing new costs nothing", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  calls.AnswerWith({S("Ann: score 3, likes the newsletter"), S("Ann: score 4")});
  const std::string decls = "entity Lead { key email: string  score: int = 0 }\n";
  auto run = [&](const std::string& body) {
    clock.Advance(1'000'000'000);
    Loaded w = Load("s.aos", decls + "workflow s() {\n" + body + "}\n");
    RunOutcome o = Drive(store, clock, calls, w, Value::Map({}), 0).outcome;
    REQUIRE(o.status == RunStatus::kCompleted);
    return o.output;
  };
  run("  for i in [1, 2, 3] max 1 {\n    step p = Lead.patch(\"ann@x\", {score: it.score + 1})\n  }\n"
      "  step n = Lead.note(\"ann@x\", \"asked about pricing\") after p\n  output n\n");
  const Value first = run("  step s = Lead.summary(\"ann@x\", model: \"small\")\n  output s\n");
  REQUIRE(calls.prompts().size() == 1);
  const std::string p1 = calls.prompts()[0];
  CHECK(p1.find("asked about pricing") != std::string::npos);
  CHECK(p1.find("score 2 -> 3") != std::string::npos);
  // Nothing new: the kept summary, no model call, zero tokens.
  const Value kept = run("  step s = Lead.summary(\"ann@x\", model: \"small\")\n  output s\n");
  CHECK(calls.prompts().size() == 1);
  CHECK(kept.Find("text")->ToDisplayString() == first.Find("text")->ToDisplayString());
  CHECK(kept.Find("tokens_in")->as_int() == 0);
  // One change: the model gets the kept summary and that change only.
  run("  step p = Lead.patch(\"ann@x\", {score: it.score + 1})\n  output p\n");
  run("  step s = Lead.summary(\"ann@x\", model: \"small\")\n  output s\n");
  REQUIRE(calls.prompts().size() == 2);
  const std::string p2 = calls.prompts()[1];
  CHECK(p2.find("The summary so far:") != std::string::npos);
  CHECK(p2.find("likes the newsletter") != std::string::npos);
  CHECK(p2.find("score 3 -> 4") != std::string::npos);
  CHECK(p2.find("score 2 -> 3") == std::string::npos);
  CHECK(p2.find("asked about pricing") == std::string::npos);
}

TEST_CASE("llm.summarize with previous: sends the previous summary and the new texts", "[runner]") {
  MemoryStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  calls.AnswerWith({S("short")});
  Loaded w = Load("m.aos",
                  "workflow m() {\n"
                  "  step s = llm.summarize([\"met at the fair\", \"wants a demo\"], model: \"small\", "
                  "previous: \"a lead from March\")\n"
                  "  output s.text\n}\n");
  RunOutcome o = Drive(store, clock, calls, w, Value::Map({}), 0).outcome;
  REQUIRE(o.status == RunStatus::kCompleted);
  REQUIRE(calls.prompts().size() == 1);
  CHECK(calls.prompts()[0] ==
        "The summary so far:\na lead from March\n\nWhat is new since (update the summary):\n- met at the fair\n"
        "- wants a demo\n");
}

}  // namespace
}  // namespace aos
