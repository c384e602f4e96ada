// Entity calls (state.md §1): records, their index entries, identities and
// merges, run in the process and written in the step's batch, so a record
// changes exactly when the step completes. The column's layout and the
// shared writes are in entity_store.h.
#include <algorithm>
#include <mutex>
#include <set>

#include "lang/eval_functions.h"
#include "runtime/codec.h"
#include "runtime/entity_schemas.h"
#include "runtime/entity_store.h"
#include "runtime/history.h"
#include "runtime/runner_impl.h"

namespace aos {

namespace {

using namespace entities;

const Value* NonNull(const Value& r, std::string_view field) {
  const Value* f = r.kind() == ValueKind::kMap ? r.Find(field) : nullptr;
  return f && !f->is_null() ? f : nullptr;
}

// The record's declared fields, in declaration order: from `rec` where it
// has them, else the declared default, else null.
Value WithDefaults(const TypeDecl& et, const Value& rec) {
  ValueMap fields;
  for (const auto& f : et.fields) {
    const Value* v = rec.kind() == ValueKind::kMap ? rec.Find(f.name) : nullptr;
    if (v) {
      fields.emplace_back(Value::String(f.name), *v);
    } else if (f.default_value) {
      MapEnv none;
      EvalResult r = Evaluate(*f.default_value, none);
      fields.emplace_back(Value::String(f.name), r.ok() ? r.value() : Value());
    } else {
      fields.emplace_back(Value::String(f.name), Value());
    }
  }
  return Value::Map(std::move(fields));
}

// `into` with `from`'s fields joined in: a list is the union of both
// (into's items first), any other field takes from's value when `wins`, else
// only where into has none. A map value of `into` is changed in place.
void Join(ValueMap& into, const Value& from, bool wins) {
  if (from.kind() != ValueKind::kMap) return;
  for (const auto& [name, v] : from.as_map()) {
    if (v.is_null()) continue;
    auto at = std::find_if(into.begin(), into.end(), [&](const auto& kv) { return kv.first == name; });
    if (at == into.end()) continue;  // a field this program does not declare
    if (at->second.kind() == ValueKind::kList && v.kind() == ValueKind::kList) {
      at->second = ListUnion(at->second, v);
    } else if (wins || at->second.is_null()) {
      at->second = v;
    }
  }
}

// Every write of a record (upsert, patch, delete, note, merge) reads,
// changes and writes it under this lock, and is flushed before the lock is
// released: none reads a record another has changed but not yet written
// (its index entries included), and each history entry is committed with a
// position after every entry committed before it (entities::NextAt), so a
// summary's `covers` never passes over a write that lands later. The
// process's threads take patch_mu; then the store's lock holds off other
// workers sharing the store (PostgreSQL; a data directory has one process).
std::mutex patch_mu;

class EntityWriters {
 public:
  explicit EntityWriters(Store& store) : lock_(patch_mu), store_(store) { store_.LockEntities(); }
  ~EntityWriters() {
    try {
      store_.UnlockEntities();
    } catch (const StoreError&) {
      // The lock went with its connection.
    }
  }
  EntityWriters(const EntityWriters&) = delete;
  EntityWriters& operator=(const EntityWriters&) = delete;

 private:
  std::lock_guard<std::mutex> lock_;
  Store& store_;
};

}  // namespace

bool Runner::Impl::ShapeAgrees(const TypeDecl& et, const std::string& key) {
  // A run that started before its entity was migrated (it waited across
  // `aosrun migrate`) must not read or write records of the other shape.
  auto known = shape_checked.find(et.name);
  if (known == shape_checked.end()) {
    const StoredSchema kept = LoadSchema(StoreOf(), et.name);
    const bool agrees = kept.text.empty() || Shape(kept.text) == Shape(EntitySchemaText(program, et));
    known = shape_checked.emplace(et.name, agrees ? 0 : kept.version).first;
  }
  if (known->second == 0) return true;
  FailStep(key, "entity.schema",
           "entity " + et.name + " is now stored as v" + std::to_string(known->second) +
               ", another shape than this run's file declares: continue the run on the new file with aosrun "
               "resume RUN --upgrade FILE");
  return false;
}

void Runner::Impl::InlineEntity(const TypeDecl& et, CallOp op, const Args& a, int s, uint32_t node,
                                const std::string& key) {
  if (!ShapeAgrees(et, key)) return;
  switch (op) {
    case CallOp::kEntityList: return InlineList(et, a, s, node, key);
    case CallOp::kEntityPatch: return InlinePatch(et, a, s, node, key);
    case CallOp::kEntityFind: return InlineFind(et, a, s, node, key);
    case CallOp::kEntityUpsert: return InlineUpsert(et, a, s, node, key);
    case CallOp::kEntityResolve: return InlineResolve(et, a, s, node, key);
    case CallOp::kEntityNote: return InlineNote(et, a, s, node, key);
    default: break;
  }
  // get and delete: by the key, or the key it was merged into.
  const std::string given = a.positional.empty() ? "" : a.positional[0].ToDisplayString();
  if (op == CallOp::kEntityGet) return Complete(s, node, key, LoadRecord(et.name, Follow(et.name, given)));
  EntityWriters lock(StoreOf());
  const std::string id = Follow(et.name, given);
  const Value before = LoadRecord(et.name, id);
  if (!before.is_null()) WriteRecord(et, id, before, Value(), key, "deleted");
  Complete(s, node, key, Value::Bool(!before.is_null()));
  if (!before.is_null()) log.Flush(opt.durability == Durability::kStrict);
}

Value Runner::Impl::LoadRecord(const std::string& type, const std::string& id) {
  return entities::Load(StoreOf(), type, id);
}

std::string Runner::Impl::Follow(const std::string& type, const std::string& id) {
  return entities::Follow(StoreOf(), type, id);
}

Change Runner::Impl::ChangeFor(const std::string& type, const std::string& id, const std::string& key,
                                const char* kind) {
  Change c;
  c.at = entities::NextAt(StoreOf(), type, id, clock.NowNanos());
  c.kind = kind;
  c.run = st.run_id;
  c.step = key;
  return c;
}

bool Runner::Impl::BadKey(const TypeDecl& et, const std::string& key, const std::string& id) {
  if (id.find('\0') == std::string::npos) return false;
  FailStep(key, "expr.error", et.name + ": a key cannot hold the NUL character (\\u0000)");
  return true;
}

void Runner::Impl::WriteRecord(const TypeDecl& et, const std::string& id, const Value& before, const Value& after,
                               const std::string& key, const char* kind, Value extra) {
  Change c = ChangeFor(et.name, id, key, kind);
  if (auto t = transforms_used.find(key); t != transforms_used.end()) c.transform = t->second->Tag();
  c.seq = log.Append(key, events::EntityChanged{et.name, id, before, after});
  c.extra = std::move(extra);
  entities::Write(StoreOf(), log.batch(), et, id, before, after, c);
}

bool Runner::Impl::RefsExist(const TypeDecl& et, const Value& rec, const std::string& key) {
  for (const auto& f : et.fields) {
    if (!f.type || f.type->name != "ref" || f.type->params.empty()) continue;
    const Value* v = rec.Find(f.name);
    if (!v || v->is_null()) continue;
    const std::string& target = f.type->params[0]->name;
    if (LoadRecord(target, Follow(target, v->ToDisplayString())).is_null()) {
      FailStep(key, "entity.ref", et.name + "." + f.name + " is ref<" + target + ">, but no " + target +
                                      " record has the key '" + v->ToDisplayString() + "'");
      return false;
    }
  }
  return true;
}

std::vector<std::pair<std::string, Value>> Runner::Impl::Indexed(const TypeDecl& et, std::string_view field,
                                                                 const std::string& enc) {
  const std::string records = RecordPrefix(et.name);
  const std::string head = IndexHead(et.name, field);
  const std::string mark = IndexMarks(et.name) + std::string(field);
  Store& store = StoreOf();
  std::vector<std::pair<std::string, Value>> hits;
  // A mark, once written, stays: the ones seen are not read again.
  const bool built = built_marks.count(mark) || store.Get(Column::kEntities, mark).has_value();
  if (built) built_marks.insert(mark);
  if (!built) {
    // First use: build the index from every record, and answer from them.
    store.Scan(Column::kEntities, records, records, [&](std::string_view k, std::string_view raw) {
      Value v;
      if (!DecodeValue(raw, &v)) return true;
      std::string id(k.substr(records.size()));
      const auto f = FieldEncoding(v, field);
      if (f) log.batch().Put(Column::kEntities, head + *f + id, id);
      if (f == enc) hits.emplace_back(std::move(id), std::move(v));
      return true;
    });
    log.batch().Put(Column::kEntities, mark, "1");
    return hits;
  }
  const std::string prefix = head + enc;
  store.Scan(Column::kEntities, prefix, prefix, [&](std::string_view k, std::string_view) {
    std::string id(k.substr(prefix.size()));
    Value v = LoadRecord(et.name, id);
    // Checked against the record: a program without the index may have
    // changed it since.
    if (FieldEncoding(v, field) == enc) hits.emplace_back(std::move(id), std::move(v));
    return true;
  });
  return hits;
}

// E.find(F: value): by the index's entries.
void Runner::Impl::InlineFind(const TypeDecl& et, const Args& a, int s, uint32_t node, const std::string& key) {
  if (a.named.size() != 1 || a.named[0].first.kind() != ValueKind::kString) {
    FailStep(key, "expr.error", et.name + ".find needs one indexed field");
    return;
  }
  const Value& want = a.named[0].second;
  ValueList items;
  for (auto& [id, v] : Indexed(et, a.named[0].first.as_string(), EncodeValue(want))) {
    if (!want.is_null()) items.push_back(std::move(v));
  }
  Complete(s, node, key, Value::List(std::move(items)));
}

std::set<std::string> Runner::Impl::IdentityKeys(const TypeDecl& et, std::string_view field, const Value& value) {
  std::set<std::string> keys;
  if (value.is_null()) return keys;
  const std::string enc = EncodeValue(value);
  for (auto& hit : Indexed(et, field, enc)) keys.insert(std::move(hit.first));
  if (auto held = StoreOf().Get(Column::kEntities, HeldIdentity(et.name, field, enc))) {
    const std::string id = Follow(et.name, *held);
    if (!LoadRecord(et.name, id).is_null()) keys.insert(id);
  }
  return keys;
}

std::vector<std::string> Runner::Impl::SameRecords(const TypeDecl& et, const std::string& id, const Value& stored,
                                                   const Value& rec) {
  // The records `rec` (to be stored at id, where `stored` is) is the same
  // as: the one at id, those sharing one of its identities, and so on
  // through theirs (a record may share an email with one and a handle with
  // another).
  std::set<std::string> seen;
  std::set<std::pair<std::string, std::string>> asked;  // (field, value) looked up
  std::vector<Value> todo = {rec};
  if (!id.empty() && !stored.is_null()) {
    seen.insert(id);
    todo.push_back(stored);
  }
  while (!todo.empty()) {
    const Value r = std::move(todo.back());
    todo.pop_back();
    for (const auto& f : et.fields) {
      const Value* v = f.is_identity ? NonNull(r, f.name) : nullptr;
      if (!v || !asked.emplace(f.name, EncodeValue(*v)).second) continue;
      for (const std::string& k : IdentityKeys(et, f.name, *v)) {
        if (seen.insert(k).second) todo.push_back(LoadRecord(et.name, k));
      }
    }
  }
  std::vector<std::pair<int64_t, std::string>> aged;
  for (const std::string& k : seen) {
    aged.emplace_back(Created(StoreOf(), et.name, k), k);
  }
  std::sort(aged.begin(), aged.end());  // oldest first; records from before provenance count as oldest
  std::vector<std::string> out;
  for (auto& [created, k] : aged) out.push_back(std::move(k));
  return out;
}

std::string Runner::Impl::NewKey(const TypeDecl& et, const Value& rec) {
  // A record given by its identities only: its key is the first identity's
  // value (readable in history and logs), made unique if taken.
  for (const auto& f : et.fields) {
    const Value* v = f.is_identity ? NonNull(rec, f.name) : nullptr;
    if (!v) continue;
    const std::string base = v->ToDisplayString();
    std::string id = base;
    for (int n = 2; StoreOf().Get(Column::kEntities, RecordPrefix(et.name) + id) ||
                    StoreOf().Get(Column::kEntities, AliasKey(et.name, id));
         ++n) {
      id = base + "~" + std::to_string(n);
    }
    return id;
  }
  return "";
}

void Runner::Impl::InlineUpsert(const TypeDecl& et, const Args& a, int s, uint32_t node, const std::string& key) {
  const Field* key_field = et.KeyField();
  const Value rec = a.positional.empty() ? Value() : a.positional[0];
  if (rec.kind() != ValueKind::kMap || !key_field) {
    FailStep(key, "expr.error", et.name + ".upsert needs a record");
    return;
  }
  const Value* idv = NonNull(rec, key_field->name);
  EntityWriters lock(StoreOf());
  if (!et.HasIdentity()) {
    // By the key alone: the record is replaced.
    if (!idv) {
      FailStep(key, "expr.error", et.name + ".upsert: the key field '" + key_field->name + "' is missing");
      return;
    }
    const Value after = WithDefaults(et, rec);
    const std::string id = idv->ToDisplayString();
    // Checked before anything is written: the step fails with nothing queued.
    if (BadKey(et, key, id) || TooDeep(key, after) || !RefsExist(et, after, key)) return;
    WriteRecord(et, id, LoadRecord(et.name, id), after, key);
    Complete(s, node, key, after);
    log.Flush(opt.durability == Durability::kStrict);
    return;
  }
  const std::string given = idv ? idv->ToDisplayString() : "";
  Value stored;
  const std::string id = idv ? entities::Follow(StoreOf(), et.name, given, &stored) : "";
  const std::vector<std::string> same = SameRecords(et, id, stored, rec);
  if (same.empty() || (same.size() == 1 && same[0] == id && id == given)) {
    // A new record, or the one its key names and no other: replaced. (A
    // key merged into another leads to the survivor: merged below, keeping
    // the survivor's key and what the merge brought.)
    Value fields = rec;
    std::string at = id;
    if (!idv) {
      at = NewKey(et, rec);
      if (at.empty() || !key_field->type || key_field->type->name != "string") {
        FailStep(key, "expr.error", et.name + ".upsert: the key field '" + key_field->name +
                                        "' is missing (and an identity makes only a string key)");
        return;
      }
      ValueMap m = rec.as_map();
      m.emplace_back(S(key_field->name), S(at));
      fields = Value::Map(std::move(m));
    }
    const Value after = WithDefaults(et, fields);
    if (BadKey(et, key, at) || TooDeep(key, after) || !RefsExist(et, after, key)) return;
    WriteRecord(et, at, idv ? stored : Value(), after, key);  // a made key names no record (NewKey)
    Complete(s, node, key, after);
    log.Flush(opt.durability == Durability::kStrict);
    return;
  }
  // The same person under other keys: merged into the oldest. Its fields
  // stand, the others fill what it lacks, the write's fields win; lists are
  // unioned throughout.
  const std::string& into = same[0];
  const Value survivor = LoadRecord(et.name, into);
  ValueMap merged = WithDefaults(et, survivor).as_map();
  for (size_t i = 1; i < same.size(); ++i) Join(merged, LoadRecord(et.name, same[i]), false);
  // The write's fields win: those it gives. A record made by a transform has
  // every field (defaults filled in); only those its body sets count.
  Value given_fields = rec;
  if (auto t = transforms_used.find(key); t != transforms_used.end() && t->second->result &&
                                          t->second->result->name == et.name) {
    ValueMap set;
    for (const auto& f : t->second->fields) {
      if (const Value* v = rec.Find(f.key)) set.emplace_back(S(f.key), *v);
    }
    given_fields = Value::Map(std::move(set));
  }
  Join(merged, given_fields, true);
  for (auto& [name, v] : merged) {
    if (name.as_string() == key_field->name) v = *survivor.Find(key_field->name);
  }
  const Value after = Value::Map(std::move(merged));
  if (TooDeep(key, after) || !RefsExist(et, after, key)) return;
  // Every identity value the merged records held still leads to the survivor.
  auto hold = [&](const Value& r) {
    for (const auto& f : et.fields) {
      const auto enc = f.is_identity ? FieldEncoding(r, f.name) : std::nullopt;
      if (enc && enc != FieldEncoding(after, f.name)) {
        log.batch().Put(Column::kEntities, HeldIdentity(et.name, f.name, *enc), into);
      }
    }
  };
  hold(survivor);
  ValueList merged_from;
  for (size_t i = 1; i < same.size(); ++i) {
    const std::string& from = same[i];
    const Value gone = LoadRecord(et.name, from);
    log.batch().Put(Column::kEntities, AliasKey(et.name, from), into);
    hold(gone);
    // The merged record's history ends here, pointing at the survivor.
    Change c = ChangeFor(et.name, from, key, "merged");
    c.seq = log.Append(key, events::EntitiesMerged{et.name, into, from, gone});
    c.extra = M({{S("into"), S(into)}});
    entities::Write(StoreOf(), log.batch(), et, from, gone, Value(), c);
    merged_from.push_back(S(from));
  }
  // A key the write named that no record had: it leads to the survivor too.
  if (idv && id != into && std::find(same.begin(), same.end(), id) == same.end()) {
    log.batch().Put(Column::kEntities, AliasKey(et.name, given), into);
  }
  const char* kind = merged_from.empty() ? "changed" : "merged";
  Value extra = merged_from.empty() ? Value() : M({{S("from"), Value::List(std::move(merged_from))}});
  WriteRecord(et, into, survivor, after, key, kind, std::move(extra));
  Complete(s, node, key, after);
  log.Flush(opt.durability == Durability::kStrict);
}

void Runner::Impl::InlineNote(const TypeDecl& et, const Args& a, int s, uint32_t node, const std::string& key) {
  EntityWriters lock(StoreOf());
  const std::string id = Follow(et.name, a.positional.empty() ? "" : a.positional[0].ToDisplayString());
  if (LoadRecord(et.name, id).is_null()) return Complete(s, node, key, Value::Bool(false));
  Change c = ChangeFor(et.name, id, key, "note");
  c.seq = st.next_seq;  // the note's StepCompleted, which holds no change
  c.extra = M({{S("text"), S(a.positional.size() > 1 ? a.positional[1].ToDisplayString() : "")}});
  AddHistory(log.batch(), et.name, id, c);
  Complete(s, node, key, Value::Bool(true));
  log.Flush(opt.durability == Durability::kStrict);
}

namespace {

constexpr const char* kSummarySystem =
    "You keep short, plain-language summaries for a small business's records. Write only the summary: facts, "
    "no preamble.";

struct KeptSummary {
  std::string text, covers, model;
};

KeptSummary LoadSummary(Store& store, const std::string& type, const std::string& id) {
  KeptSummary k;
  Value v;
  if (auto raw = store.Get(Column::kEntities, SummaryKey(type, id)); raw && DecodeValue(*raw, &v)) {
    if (const Value* t = v.Find("text")) k.text = t->ToDisplayString();
    if (const Value* c = v.Find("covers"); c && c->kind() == ValueKind::kBytes) k.covers = c->as_bytes();
    if (const Value* m = v.Find("model")) k.model = m->ToDisplayString();
  }
  return k;
}

// A record's kept summary and the history entries since it.
struct SummaryState {
  KeptSummary kept;
  std::vector<HistoryEntry> fresh;
};

SummaryState SummaryOf(Store& store, const std::string& type, const std::string& id) {
  SummaryState s;
  s.kept = LoadSummary(store, type, id);
  HistoryQuery q;
  q.after = s.kept.covers;
  q.decisions = false;
  s.fresh = RecordHistory(store, type, id, q);
  return s;
}

}  // namespace

Value Runner::Impl::SummaryArgs(const Value& model, const Value& max_tokens, const std::string& previous,
                                const std::vector<std::string>& texts) {
  std::string prompt = previous.empty() ? "Summarize:\n" : "The summary so far:\n" + previous +
                                                                "\n\nWhat is new since (update the summary):\n";
  for (const auto& t : texts) prompt += "- " + t + "\n";
  return M({{S("model"), model},
            {S("system"), S(kSummarySystem)},
            {S("prompt"), S(prompt)},
            {S("temperature"), Value()},
            {S("max_tokens"), max_tokens},
            {S("typed"), Value::Bool(false)},
            {S("schema"), Value()}});
}

bool Runner::Impl::SummaryFromStore(const TypeDecl& et, const Args& a, int s, uint32_t node, const std::string& key) {
  const std::string id = Follow(et.name, a.positional.empty() ? "" : a.positional[0].ToDisplayString());
  const SummaryState now = SummaryOf(StoreOf(), et.name, id);
  if (!now.fresh.empty()) return false;
  const KeptSummary& kept = now.kept;
  // Nothing happened since: the kept summary, at no cost.
  Complete(s, node, key,
           M({{S("text"), S(kept.text)},
              {S("data"), Value()},
              {S("model"), S(kept.model)},
              {S("tokens_in"), Value::Int(0)},
              {S("tokens_out"), Value::Int(0)},
              {S("cost"), Value()},
              {S("summary"), S("kept")}}));
  return true;
}

bool Runner::Impl::SummaryRequest(const TypeDecl& et, const Args& a, CallRequest* req, std::string*, std::string*) {
  const std::string id = Follow(et.name, a.positional.empty() ? "" : a.positional[0].ToDisplayString());
  const SummaryState now = SummaryOf(StoreOf(), et.name, id);
  const KeptSummary& kept = now.kept;
  std::vector<std::string> lines;
  std::string last = kept.covers;
  for (const HistoryEntry& e : now.fresh) {
    lines.push_back(HistoryLine(e));
    last = e.entry_key;
  }
  if (kept.text.empty()) lines.insert(lines.begin(), et.name + " " + id + ", as it is now: " + LoadRecord(et.name, id).ToJson());
  const Value* model = a.Named("model");
  const Value* max_tokens = a.Named("max_tokens");
  Value args = SummaryArgs(model ? *model : Value(), max_tokens ? *max_tokens : Value(), kept.text, lines);
  ValueMap m = args.as_map();
  // Read back by FinishSummary; the model handler reads only its own fields.
  m.emplace_back(S("summary_of"), M({{S("type"), S(et.name)}, {S("key"), S(id)}, {S("covers"), Value::BytesOf(last)}}));
  req->args = Value::Map(std::move(m));
  return true;
}

void Runner::Impl::FinishSummary(const CallRequest& req, const CallResult& r) {
  const Value* of = req.args.Find("summary_of");
  if (!of || !r.ok) return;
  const Value* text = r.value.Find("text");
  log.batch().Put(Column::kEntities, SummaryKey(StrOf(of->Find("type")), StrOf(of->Find("key"))),
                  EncodeValue(M({{S("text"), text ? *text : S("")},
                                 {S("covers"), *of->Find("covers")},
                                 {S("model"), r.value.Find("model") ? *r.value.Find("model") : Value()}})));
}

// E.resolve({F: value, ...}): the key the identities lead to (the oldest
// record when they lead to several not yet merged), or null.
void Runner::Impl::InlineResolve(const TypeDecl& et, const Args& a, int s, uint32_t node, const std::string& key) {
  const Value given = a.positional.empty() ? Value() : a.positional[0];
  if (given.kind() != ValueKind::kMap) {
    FailStep(key, "expr.error", et.name + ".resolve needs a map of identity fields");
    return;
  }
  for (const auto& [name, v] : given.as_map()) {
    const Field* f = et.FindField(name.ToDisplayString());
    if (!f || !f->is_identity) {
      FailStep(key, "expr.error", et.name + ".resolve: '" + name.ToDisplayString() + "' is not an identity field");
      return;
    }
  }
  const std::vector<std::string> same = SameRecords(et, "", Value(), given);
  const Value rec = same.empty() ? Value() : LoadRecord(et.name, same[0]);
  const Field* kf = et.KeyField();
  Complete(s, node, key, kf && rec.Find(kf->name) ? *rec.Find(kf->name) : Value());
}

// E.list: the records where `where` holds (evaluated per record with `it`
// bound), in key order or by a field, the first `limit`.
void Runner::Impl::InlineList(const TypeDecl& et, const Args& a, int s, uint32_t node, const std::string& key) {
  int64_t limit = INT64_MAX;
  if (const Value* l = a.Named("limit"); l && l->kind() == ValueKind::kInt) limit = std::max<int64_t>(0, l->as_int());
  std::string order_by;
  if (const Value* o = a.Named("order_by"); o && o->kind() == ValueKind::kString) order_by = o->as_string();
  const Value* desc = a.Named("desc");
  const bool descending = desc && desc->kind() == ValueKind::kBool && desc->as_bool();
  const Call& call = *StmtOf(node).call;
  const Expr* where = nullptr;
  for (size_t i = 0; i < call.args.size(); ++i) {
    if (call.arg_names[i] == "where") where = call.args[i];
  }
  const std::string prefix = RecordPrefix(et.name);
  ValueList items;
  bool failed = false;
  StoreOf().Scan(Column::kEntities, prefix, prefix, [&](std::string_view, std::string_view raw) {
    // In key order the first `limit` that pass are the answer.
    if (order_by.empty() && static_cast<int64_t>(items.size()) >= limit) return false;
    Value stored;
    if (!DecodeValue(raw, &stored)) return true;
    // As a patch sees it: fields declared since it was written at their defaults.
    Value v = WithDefaults(et, stored);
    if (where) {
      Value keep;
      if (!EvalOrFail(*where, s, key, &keep, "where", node, &v)) {
        failed = true;
        return false;
      }
      if (keep.kind() != ValueKind::kBool) {
        FailStep(key, "expr.error", "where: is " + std::string(KindName(keep.kind())) + ", not bool");
        failed = true;
        return false;
      }
      if (!keep.as_bool()) return true;
    }
    items.push_back(std::move(v));
    return true;
  });
  if (failed) return;
  if (!order_by.empty()) {
    auto field = [&](const Value& r) {
      const Value* f = r.Find(order_by);
      return f ? *f : Value();
    };
    // Nulls last either way; the rest ascending or, with desc, descending.
    std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
      const Value fx = field(x), fy = field(y);
      if (fx.is_null() || fy.is_null()) return !fx.is_null() && fy.is_null();
      return descending ? SortsBefore(fy, fx) : SortsBefore(fx, fy);
    });
    if (static_cast<int64_t>(items.size()) > limit) items.resize(static_cast<size_t>(limit));
  }
  Complete(s, node, key, Value::List(std::move(items)));
}

void Runner::Impl::InlinePatch(const TypeDecl& et, const Args& a, int s, uint32_t node, const std::string& key) {
  const Field* key_field = et.KeyField();
  const Value idv = a.positional.empty() ? Value() : a.positional[0];
  if (!key_field || idv.is_null()) {
    FailStep(key, "expr.error", et.name + ".patch needs the key of a record");
    return;
  }
  EntityWriters lock(StoreOf());
  const std::string id = Follow(et.name, idv.ToDisplayString());
  const Value before = LoadRecord(et.name, id);
  // `it`: the stored record, its absent fields at their defaults (a record
  // not stored yet: the defaults and the key).
  const Value it = WithDefaults(et, before.is_null() ? M({{S(key_field->name), idv}}) : before);
  Value changes;
  if (!EvalOrFail(*StmtOf(node).call->args[1], s, key, &changes, "the changes", node, &it)) return;
  if (changes.kind() != ValueKind::kMap) {
    FailStep(key, "expr.error", et.name + ".patch: the changes must be a map of fields, not " +
                                    std::string(KindName(changes.kind())));
    return;
  }
  ValueMap fields = it.as_map();
  for (const auto& [name, value] : changes.as_map()) {
    const std::string f = name.ToDisplayString();
    auto at = std::find_if(fields.begin(), fields.end(), [&](const auto& kv) { return kv.first.ToDisplayString() == f; });
    if (at == fields.end() || f == key_field->name) {
      FailStep(key, "expr.error", et.name + ".patch: " +
                                      (at == fields.end() ? "no field '" + f + "'" : "the key field '" + f + "' cannot change"));
      return;
    }
    at->second = value;
  }
  Value after = Value::Map(std::move(fields));
  if (BadKey(et, key, id) || TooDeep(key, after) || !RefsExist(et, after, key)) return;
  WriteRecord(et, id, before, after, key);
  Complete(s, node, key, after);
  log.Flush(opt.durability == Durability::kStrict);
}

}  // namespace aos
