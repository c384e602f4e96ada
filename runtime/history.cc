#include "runtime/history.h"

#include <algorithm>
#include <map>

#include "runtime/codec.h"
#include "runtime/entity_store.h"
#include "runtime/event.h"
#include "runtime/events.h"
#include "runtime/run_log.h"

namespace aos {

namespace {

std::string Str(const Value* v) { return v ? v->ToDisplayString() : ""; }

// The decisions recorded in a run, in order.
Value Decisions(Store& store, const std::string& run) {
  ValueList out;
  ScanRunEvents(store, run, [&](uint64_t, const Event* e, const std::string&) {
    if (e && e->type == EventType::kApprovalDecided) {
      const auto d = events::Read<events::ApprovalDecided>(*e);
      out.push_back(Value::Map({{S("name"), S(e->step)},
                                {S("approved"), Value::Bool(d.approved)},
                                {S("by"), S(d.by)},
                                {S("at"), Value::Time(d.at)},
                                {S("comment"), S(d.comment)}}));
    }
    return true;
  });
  return Value::List(std::move(out));
}

}  // namespace

Value FieldChanges(const Value& before, const Value& after) {
  ValueMap out;
  auto field = [](const Value& r, const Value& name) {
    const Value* v = r.kind() == ValueKind::kMap ? r.Find(name.ToDisplayString()) : nullptr;
    return v ? *v : Value();
  };
  std::vector<Value> names;
  for (const Value* r : {&before, &after}) {
    if (r->kind() != ValueKind::kMap) continue;
    for (const auto& [name, v] : r->as_map()) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  for (const Value& name : names) {
    const Value b = field(before, name), a = field(after, name);
    if (!(b == a)) out.emplace_back(name, Value::List({b, a}));
  }
  return Value::Map(std::move(out));
}

std::vector<HistoryEntry> RecordHistory(Store& store, const std::string& type, const std::string& key,
                                        const HistoryQuery& q) {
  std::vector<HistoryEntry> out;
  std::map<std::string, Value> decisions;  // by run
  const std::string prefix = entities::HistoryPrefix(type, key);
  std::vector<std::pair<std::string, Value>> raw;
  const std::string start = q.after.empty() ? prefix : q.after + std::string(1, '\0');
  store.Scan(Column::kEntities, prefix, start, [&](std::string_view k, std::string_view v) {
    Value h;
    if (DecodeValue(v, &h) && k.size() >= prefix.size() + 8) raw.emplace_back(std::string(k), std::move(h));
    return true;
  });
  for (auto& [entry_key, h] : raw) {
    HistoryEntry e;
    e.entry_key = entry_key;
    e.at = static_cast<int64_t>(GetBigEndian64(std::string_view(entry_key).substr(prefix.size(), 8)));
    if (const Value* t = h.Find("text")) e.note = t->ToDisplayString();
    e.kind = Str(h.Find("kind"));
    e.run = Str(h.Find("run"));
    e.step = Str(h.Find("step"));
    e.transform = Str(h.Find("transform"));
    const int64_t seq = h.Find("seq") && h.Find("seq")->kind() == ValueKind::kInt ? h.Find("seq")->as_int() : 0;
    if (e.kind == "note") {
      // A note holds its text, not a change.
    } else if (h.Find("before") || h.Find("after")) {
      // A migration holds its change itself.
      if (h.Find("before")) e.before = *h.Find("before");
      if (h.Find("after")) e.after = *h.Find("after");
    } else if (auto ev = store.Get(Column::kEvents, EventKey(e.run, static_cast<uint64_t>(seq)))) {
      Event event;
      std::string error;
      if (DecodeEvent(*ev, &event, &error)) {
        if (event.type == EventType::kEntityChanged) {
          const auto c = events::Read<events::EntityChanged>(event);
          e.before = c.before;
          e.after = c.after;
        } else if (event.type == EventType::kEntitiesMerged) {
          e.before = events::Read<events::EntitiesMerged>(event).record;
        }
      }
    }
    ValueMap detail;
    for (const char* f : {"into", "from"}) {
      if (const Value* v = h.Find(f)) detail.emplace_back(S(f), *v);
    }
    if (e.kind == "migrated") detail.emplace_back(S("migration"), S(e.run));
    e.detail = Value::Map(std::move(detail));
    if (q.into && h.Find("into")) *q.into = Str(h.Find("into"));
    e.changes = FieldChanges(e.before, e.after);
    if (q.decisions && e.kind != "migrated" && !e.run.empty()) {
      auto d = decisions.find(e.run);
      if (d == decisions.end()) d = decisions.emplace(e.run, Decisions(store, e.run)).first;
      e.decisions = d->second;
    }
    out.push_back(std::move(e));
  }
  return out;
}

Value RecordAt(Store& store, const std::string& type, const std::string& key, int64_t at) {
  Value state;
  HistoryQuery q;
  q.decisions = false;
  for (const HistoryEntry& e : RecordHistory(store, type, key, q)) {
    if (e.at > at) break;
    if (e.kind != "note") state = e.after;
  }
  return state;
}

std::string HistoryLine(const HistoryEntry& e) {
  std::string out = FormatTimestamp(Timestamp{e.at}) + " " + e.kind;
  if (!e.transform.empty()) out += " via " + e.transform;
  if (e.kind == "note") return out + ": " + e.note;
  if (e.changes.kind() == ValueKind::kMap) {
    const char* sep = ": ";
    for (const auto& [field, ba] : e.changes.as_map()) {
      out += sep + field.ToDisplayString() + " " + ba.as_list()[0].ToJson() + " -> " + ba.as_list()[1].ToJson();
      sep = "; ";
    }
  }
  return out;
}

}  // namespace aos
