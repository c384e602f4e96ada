#include "runtime/offline.h"

#include "runtime/operations.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <mutex>
#include <sstream>

#include "runtime/clock.h"
#include "runtime/codec.h"
#include "runtime/entity_store.h"
#include "runtime/kv_kb.h"
#include "runtime/schema.h"
#include "runtime/driver.h"
#include "runtime/run_log.h"
#include "runtime/store.h"

namespace aos {

namespace {

struct MockError {
  int line;
  std::string message;
};

int LineOf(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 1 : 0; }

// YAML to Value: scalars as JSON would read them (42 int, 1.5 double, true,
// null), otherwise strings.
Value ToValue(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return Value();
    case YAML::NodeType::Scalar: {
      const std::string text = n.Scalar();
      if (n.Tag() != "!") {  // not quoted
        std::string err;
        if (auto v = ParseJson(text, &err); v && v->kind() != ValueKind::kString) return *v;
        if (text == "~" || text == "null") return Value();
      }
      return Value::String(text);
    }
    case YAML::NodeType::Sequence: {
      ValueList l;
      for (const auto& e : n) l.push_back(ToValue(e));
      return Value::List(std::move(l));
    }
    case YAML::NodeType::Map: {
      ValueMap m;
      for (const auto& kv : n) m.emplace_back(Value::String(kv.first.Scalar()), ToValue(kv.second));
      return Value::Map(std::move(m));
    }
  }
  return Value();
}

void Only(const YAML::Node& n, const std::string& where, std::initializer_list<const char*> keys) {
  if (!n.IsMap()) throw MockError{LineOf(n), where + " must be a mapping"};
  for (const auto& kv : n) {
    bool ok = false;
    for (const char* k : keys) ok = ok || kv.first.Scalar() == k;
    if (!ok) throw MockError{LineOf(kv.first), "unknown key '" + kv.first.Scalar() + "' in " + where};
  }
}

class MockCalls : public CallHandler {
 public:
  explicit MockCalls(const Mock& mock) : answers_(mock.calls), used_(mock.calls.size(), 0) {}

  CallResult Invoke(const CallRequest& req) override {
    std::lock_guard<std::mutex> lock(mu_);
    OfflineCall c{req.instance, req.callee, std::string(RequestKindName(req.kind)), req.idempotency_key, true};
    CallResult r;
    for (size_t i = 0; i < answers_.size(); ++i) {
      const MockAnswer& a = answers_[i];
      const bool prefix = !a.call.empty() && a.call.back() == '*';
      const bool match = prefix ? req.callee.rfind(a.call.substr(0, a.call.size() - 1), 0) == 0 : req.callee == a.call;
      if (!match || (a.times && used_[i] >= a.times)) continue;
      ++used_[i];
      if (a.error) {
        r.error_kind = a.kind;
        r.message = a.message.empty() ? "mocked failure" : a.message;
      } else {
        r.ok = true;
        r.value = a.result;
      }
      c.ok = r.ok;
      calls_.push_back(c);
      return r;
    }
    r.error_kind = "effect.unknown";
    r.message = "the mock file has no answer for " + req.callee;
    c.ok = false;
    calls_.push_back(c);
    return r;
  }

  std::vector<OfflineCall> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::vector<MockAnswer> answers_;
  std::vector<int> used_;
  std::vector<OfflineCall> calls_;
};

const Value* FindIn(const std::vector<std::pair<std::string, Value>>& list, const std::string& name) {
  for (const auto& [k, v] : list) {
    if (k == name) return &v;
  }
  return nullptr;
}

}  // namespace

std::optional<Mock> LoadMock(const std::string& path, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = path + ": cannot read the mock file";
    return std::nullopt;
  }
  try {
    const YAML::Node root = YAML::Load(in);
    Mock m;
    m.inputs = Value::Map({});
    if (root.IsNull()) return m;
    Only(root, "the mock file", {"inputs", "calls", "approvals", "signals", "seed"});
    if (auto n = root["seed"]) {
      Only(n, "seed", {"entities", "kv", "kb"});
      if (auto e = n["entities"]) {
        if (!e.IsMap()) throw MockError{LineOf(e), "'seed.entities' must map entity names to lists of records"};
        for (const auto& kv : e) {
          if (!kv.second.IsSequence()) throw MockError{LineOf(kv.second), "seed.entities." + kv.first.Scalar() + " must be a list of records"};
          for (const auto& r : kv.second) {
            if (!r.IsMap()) throw MockError{LineOf(r), "a seeded " + kv.first.Scalar() + " record must be a mapping of fields"};
          }
        }
      }
      if (auto k = n["kv"]; k && !k.IsMap()) throw MockError{LineOf(k), "'seed.kv' must map keys to values"};
      if (auto k = n["kb"]) {
        if (!k.IsMap()) throw MockError{LineOf(k), "'seed.kb' must map collections to lists of entries"};
        for (const auto& kv : k) {
          if (!kv.second.IsSequence()) throw MockError{LineOf(kv.second), "seed.kb." + kv.first.Scalar() + " must be a list of entries"};
          for (const auto& entry : kv.second) {
            Only(entry, "a kb entry", {"id", "text", "meta", "vector"});
            if (!entry["id"] || !entry["text"]) throw MockError{LineOf(entry), "a kb entry needs 'id' and 'text'"};
          }
        }
      }
      m.seed = ToValue(n);
    }
    if (auto n = root["inputs"]) {
      if (!n.IsMap()) throw MockError{LineOf(n), "'inputs' must be a mapping"};
      m.inputs = ToValue(n);
    }
    if (auto n = root["calls"]) {
      if (!n.IsSequence()) throw MockError{LineOf(n), "'calls' must be a list"};
      for (const auto& c : n) {
        Only(c, "a call", {"call", "result", "error", "times"});
        MockAnswer a;
        if (!c["call"]) throw MockError{LineOf(c), "a call needs 'call' (the callee, such as cms.post)"};
        a.call = c["call"].Scalar();
        if (c["error"]) {
          a.error = true;
          Only(c["error"], "error", {"kind", "message"});
          if (!c["error"]["kind"]) throw MockError{LineOf(c["error"]), "an error needs 'kind' (such as http.503)"};
          a.kind = c["error"]["kind"].Scalar();
          if (c["error"]["message"]) a.message = c["error"]["message"].Scalar();
        } else {
          a.result = ToValue(c["result"]);
        }
        if (c["times"]) {
          try {
            a.times = c["times"].as<int>();
          } catch (const YAML::Exception&) {
            throw MockError{LineOf(c["times"]), "'times' must be a whole number"};
          }
        }
        m.calls.push_back(std::move(a));
      }
    }
    if (auto n = root["approvals"]) {
      if (!n.IsMap()) throw MockError{LineOf(n), "'approvals' must be a mapping of names"};
      for (const auto& kv : n) {
        Only(kv.second, "approval " + kv.first.Scalar(), {"approved", "by", "comment", "data"});
        m.approvals.emplace_back(kv.first.Scalar(), ToValue(kv.second));
      }
    }
    if (auto n = root["signals"]) {
      if (!n.IsMap()) throw MockError{LineOf(n), "'signals' must be a mapping of names"};
      for (const auto& kv : n) m.signals.emplace_back(kv.first.Scalar(), ToValue(kv.second));
    }
    return m;
  } catch (const MockError& e) {
    *error = path + ":" + std::to_string(e.line) + ": " + e.message;
  } catch (const YAML::Exception& e) {
    *error = path + ":" + std::to_string(e.mark.line + 1) + ": malformed YAML: " + e.msg;
  }
  return std::nullopt;
}

namespace {

// The mock's seed, written to the run's store as runs write them: entity
// records with their index entries and a history entry, kv values, kb
// entries. "" or what is wrong.
std::string Seed(Store& store, Clock& clock, const Program& program, const Value& seed) {
  if (seed.kind() != ValueKind::kMap) return "";
  WriteBatch batch;
  std::set<std::string> seen;
  if (const Value* ents = seed.Find("entities"); ents && ents->kind() == ValueKind::kMap) {
    for (const auto& [name, records] : ents->as_map()) {
      auto t = program.types.find(name.ToDisplayString());
      if (t == program.types.end() || !t->second->is_entity) return name.ToDisplayString() + " is not an entity of the file";
      const TypeDecl& et = *t->second;
      const Field* kf = et.KeyField();
      TypeRef type;
      type.name = et.name;
      for (const Value& r : records.as_list()) {
        Value rec;
        if (std::string why = CheckValue(program, &type, r, &rec, true, et.name); !why.empty()) return why;
        const Value* key = kf ? rec.Find(kf->name) : nullptr;
        if (!key || key->is_null()) return "a seeded " + et.name + " has no " + (kf ? kf->name : "key");
        if (!seen.insert(et.name + '\0' + key->ToDisplayString()).second) {
          return "two seeded " + et.name + " records have the key " + key->ToDisplayString();
        }
        entities::Change c;
        c.at = clock.NowNanos();
        c.run = "seed";
        c.step = "seed";
        c.seq = batch.ops.size();
        // No run event holds the change: the entry does, as a migration's.
        c.extra = Value::Map({{Value::String("before"), Value()}, {Value::String("after"), rec}});
        entities::Write(store, batch, et, key->ToDisplayString(), Value(), rec, c);
      }
    }
  }
  if (const Value* kv = seed.Find("kv"); kv && kv->kind() == ValueKind::kMap) {
    for (const auto& [k, v] : kv->as_map()) {
      batch.Put(Column::kKv, k.ToDisplayString(), EncodeValue(KvRecord(v, 0)));
    }
  }
  if (const Value* kb = seed.Find("kb"); kb && kb->kind() == ValueKind::kMap) {
    for (const auto& [collection, entries] : kb->as_map()) {
      for (const Value& e : entries.as_list()) {
        auto f = [&](const char* n) { return e.Find(n) ? *e.Find(n) : Value(); };
        const std::string id = f("id").ToDisplayString();
        batch.Put(Column::kKb, KbKey(collection.ToDisplayString(), id),
                  EncodeValue(KbEntry(id, f("text"), f("meta"), f("vector").is_null() ? Value::List({}) : f("vector"))));
      }
    }
  }
  store.Write(batch, true);
  return "";
}

}  // namespace

OfflineResult RunOffline(std::shared_ptr<Program> program, const Dag& dag, const std::string& source,
                         const Mock& mock, const Config* config) {
  OfflineResult res;
  MemoryStore store;
  ManualClock clock(1'790'000'000'000'000'000);  // a fixed, virtual start
  MockCalls calls(mock);
  // The run goes through the same Driver as `aosrun serve` and `aosrun
  // FILE`: started, and continued after each scripted decision, signal or
  // clock jump. Every wait makes the run wait (the driver never sleeps
  // inline): the clock jumps instead.
  RunOptions opt;
  opt.config = config;
  opt.placeholder_secrets = true;  // no credentials are needed to test offline
  if (std::string why = Seed(store, clock, *program, mock.seed); !why.empty()) {
    res.outcome.status = RunStatus::kFailed;
    res.outcome.error = Value::Map({{Value::String("kind"), Value::String("input")},
                                    {Value::String("message"), Value::String("seed: " + why)}});
    return res;
  }
  Driver driver(store, clock, calls, opt, /*workers=*/1);
  driver.AddProgram(program, source);
  const std::string run_id = "offline";
  const Driver::Started started = driver.Start(dag.workflow->name, mock.inputs, run_id);
  if (started.status >= 400) {
    res.outcome.status = RunStatus::kFailed;
    res.outcome.error = Value::Map({{Value::String("kind"), Value::String("input")},
                                    {Value::String("message"), Value::String(started.error)}});
    return res;
  }
  res.outcome = started.outcome;
  RunLog log(store, clock);
  std::string error;
  for (int round = 0; round < 1000; ++round) {
    if (round > 0) {
      log.Flush(true);
      if (!driver.Continue(run_id, &res.outcome, &error)) {
        res.notes.push_back("the run could not be continued: " + error);
        break;
      }
    }
    if (res.outcome.status != RunStatus::kWaiting) break;
    if (!log.Load(run_id, &error)) {
      res.notes.push_back("the run could not be loaded: " + error);
      break;
    }
    bool moved = false;
    for (const auto& w : res.outcome.waiting_on.as_list()) {
      const std::string kind = w.Find("kind")->as_string();
      const std::string name = w.Find("name")->as_string();
      if (kind == "approval") {
        const std::string base = name.substr(0, name.find('['));
        const Value* d = FindIn(mock.approvals, name);
        if (!d) d = FindIn(mock.approvals, base);
        if (!d) {
          res.notes.push_back("approval " + name + " is not in the mock file: the run waits");
          continue;
        }
        // The same decision as `aosrun approve` makes (runtime/operations):
        // approvers, `returns` and all.
        Decision dec;
        const Value* ap = d->Find("approved");
        dec.approve = !ap || (ap->kind() == ValueKind::kBool && ap->as_bool());
        dec.by = d->Find("by") ? d->Find("by")->ToDisplayString() : "aoscheck test";
        dec.comment = d->Find("comment") ? d->Find("comment")->ToDisplayString() : "";
        if (const Value* data = d->Find("data")) dec.data = *data;
        dec.at_nanos = clock.NowNanos();
        const OpResult r = Decide(log, program.get(), &dag, name, dec);
        if (r.status != OpStatus::kDone) {
          res.notes.push_back("approval " + name + ": the mock's decision is refused: " + r.message);
          continue;
        }
        res.notes.push_back("approval " + name + ": " + (dec.approve ? "approved" : "rejected"));
        moved = true;
      } else if (kind == "signal") {
        const std::string sig = w.Find("signal")->as_string();
        const Value* d = FindIn(mock.signals, sig);
        if (!d) {
          res.notes.push_back("signal " + sig + " is not in the mock file: the run waits");
          continue;
        }
        if (const OpResult r = DeliverSignal(log, &dag, sig, *d); r.status != OpStatus::kDone) {
          res.notes.push_back("signal " + sig + ": " + r.message);
          continue;
        }
        res.notes.push_back("signal " + sig + " delivered");
        moved = true;
      } else if (kind == "compensation") {
        // A mocked undo fails the same way every time: no point in waiting.
        res.notes.push_back("compensation " + name + " keeps failing (" + w.Find("error")->ToDisplayString() + "): the run waits");
      } else if (const Value* due = w.Find("due"); due && due->kind() == ValueKind::kTimestamp) {
        clock.SleepUntil(due->as_time().nanos);
        res.notes.push_back(kind + " " + name + ": the clock moves to " + FormatTimestamp(due->as_time()));
        moved = true;
      }
    }
    log.Flush(true);
    if (!moved) break;
  }
  res.calls = calls.calls();
  if (log.Load(run_id, &error)) res.events = log.state().next_seq;
  return res;
}

}  // namespace aos
