#include "runtime/entity_store.h"

#include <set>

#include "runtime/codec.h"

namespace aos::entities {

std::string RecordPrefix(const std::string& type) { return type + '\0'; }
std::string IndexHead(const std::string& type, std::string_view field) {
  return type + '\x01' + std::string(field) + '\0';
}
std::string IndexMarks(const std::string& type) { return type + '\x02'; }
std::string AliasKey(const std::string& type, const std::string& id) { return type + '\x03' + id; }
std::string HeldIdentity(const std::string& type, std::string_view field, const std::string& enc) {
  return type + '\x04' + std::string(field) + '\0' + enc;
}
std::string HistoryPrefix(const std::string& type, const std::string& id) { return type + '\x06' + id + '\0'; }
std::string HistoryKey(const std::string& type, const std::string& id, int64_t at, const std::string& run,
                       uint64_t seq) {
  std::string k = HistoryPrefix(type, id);
  PutBigEndian64(k, static_cast<uint64_t>(at));
  k += run;
  k += '\0';
  PutBigEndian64(k, seq);
  return k;
}

int64_t NextAt(Store& store, const std::string& type, const std::string& id, int64_t now) {
  const std::string prefix = HistoryPrefix(type, id);
  const auto last = store.LastKey(Column::kEntities, prefix);
  if (!last || last->size() < prefix.size() + 8) return now;
  const int64_t at = static_cast<int64_t>(GetBigEndian64(std::string_view(*last).substr(prefix.size(), 8)));
  return at >= now ? at + 1 : now;
}

std::optional<std::string> FieldEncoding(const Value& r, std::string_view field) {
  const Value* f = r.kind() == ValueKind::kMap ? r.Find(field) : nullptr;
  if (!f || f->is_null()) return std::nullopt;
  return EncodeValue(*f);
}

Value Load(Store& store, const std::string& type, const std::string& id) {
  auto raw = store.Get(Column::kEntities, RecordPrefix(type) + id);
  Value v;
  if (raw && DecodeValue(*raw, &v)) return v;
  return Value();
}

std::string Follow(Store& store, const std::string& type, const std::string& id, Value* found) {
  std::string at = id;
  // A merge writes one step of the chain; 64 bounds a damaged one.
  for (int i = 0; i < 64; ++i) {
    if (auto raw = store.Get(Column::kEntities, RecordPrefix(type) + at)) {
      if (found && !DecodeValue(*raw, found)) *found = Value();
      return at;
    }
    auto next = store.Get(Column::kEntities, AliasKey(type, at));
    // A chain that ends at no record (the survivor was deleted) leads
    // nowhere: the key stands for itself again.
    if (!next) return id;
    at = *next;
  }
  return id;
}

namespace {

// The record's history entries that changed it (notes do not), in order;
// `visit` gets each one's time and fields, until it returns false.
void ForEachChange(Store& store, const std::string& type, const std::string& id,
                   const std::function<bool(int64_t at, const Value& h)>& visit) {
  const std::string prefix = HistoryPrefix(type, id);
  store.Scan(Column::kEntities, prefix, prefix, [&](std::string_view k, std::string_view raw) {
    Value h;
    if (k.size() < prefix.size() + 8 || !DecodeValue(raw, &h)) return true;
    if (const Value* kind = h.Find("kind"); kind && kind->ToDisplayString() == "note") return true;
    return visit(static_cast<int64_t>(GetBigEndian64(k.substr(prefix.size(), 8))), h);
  });
}

}  // namespace

int64_t Created(Store& store, const std::string& type, const std::string& id) {
  // The first write after the last deletion: a key deleted and made again
  // is a new record.
  int64_t at = 0;
  ForEachChange(store, type, id, [&](int64_t when, const Value& h) {
    const Value* kind = h.Find("kind");
    const bool gone = kind && (kind->ToDisplayString() == "deleted" || kind->ToDisplayString() == "merged") &&
                      !h.Find("from");
    if (gone) {
      at = 0;
    } else if (at == 0) {
      at = when;
    }
    return true;
  });
  return at;
}

Value Provenance(Store& store, const std::string& type, const std::string& id) {
  Value last;
  int64_t updated = 0;
  ForEachChange(store, type, id, [&](int64_t when, const Value& h) {
    last = h;
    updated = when;
    return true;
  });
  if (last.is_null()) return Value();
  ValueMap out = {{Value::String("created"), Value::Int(Created(store, type, id))},
                  {Value::String("updated"), Value::Int(updated)}};
  for (const char* f : {"run", "step", "transform"}) {
    if (const Value* v = last.Find(f)) out.emplace_back(Value::String(f), *v);
  }
  return Value::Map(std::move(out));
}

void Reindex(Store& store, WriteBatch& batch, const TypeDecl& et, const std::string& id, const Value& before,
             const Value& after) {
  // A program that does not declare an index still keeps it once built, so
  // a find never misses a record it changed.
  std::set<std::string> fields;
  for (const auto& ix : et.indexes) fields.emplace(ix.field);
  for (const auto& f : et.fields) {
    if (f.is_identity) fields.emplace(f.name);
  }
  const std::string marks = IndexMarks(et.name);
  store.Scan(Column::kEntities, marks, marks, [&](std::string_view k, std::string_view) {
    fields.emplace(k.substr(marks.size()));
    return true;
  });
  for (const std::string& field : fields) {
    const auto b = FieldEncoding(before, field), a = FieldEncoding(after, field);
    if (b == a) continue;
    const std::string head = IndexHead(et.name, field);
    if (b) batch.Delete(Column::kEntities, head + *b + id);
    if (a) batch.Put(Column::kEntities, head + *a + id, id);
  }
}

void Write(Store& store, WriteBatch& batch, const TypeDecl& et, const std::string& id, const Value& before,
           const Value& after, const Change& change) {
  if (after.is_null()) {
    batch.Delete(Column::kEntities, RecordPrefix(et.name) + id);
  } else {
    batch.Put(Column::kEntities, RecordPrefix(et.name) + id, EncodeValue(after));
  }
  Reindex(store, batch, et, id, before, after);
  AddHistory(batch, et.name, id, change);
}

std::string SummaryKey(const std::string& type, const std::string& id) { return type + '\x07' + id; }

void AddHistory(WriteBatch& batch, const std::string& type, const std::string& id, const Change& change) {
  ValueMap h = {{Value::String("kind"), Value::String(change.kind)},
                {Value::String("run"), Value::String(change.run)},
                {Value::String("step"), Value::String(change.step)},
                {Value::String("seq"), Value::Int(static_cast<int64_t>(change.seq))}};
  if (!change.transform.empty()) h.emplace_back(Value::String("transform"), Value::String(change.transform));
  if (change.extra.kind() == ValueKind::kMap) {
    for (const auto& kv : change.extra.as_map()) h.push_back(kv);
  }
  batch.Put(Column::kEntities, HistoryKey(type, id, change.at, change.run, change.seq),
            EncodeValue(Value::Map(std::move(h))));
}

}  // namespace aos::entities
