#include "runtime/migrate.h"

#include <algorithm>

#include "lang/eval.h"
#include "runtime/codec.h"
#include "runtime/entity_schemas.h"
#include "runtime/entity_store.h"
#include "runtime/schema.h"
#include "runtime/transforms.h"

namespace aos {

namespace {

constexpr size_t kBatch = 256;

// Record `old` as the new declaration: the migration's fields from `it`,
// the rest kept by name or at their defaults. "" or why it cannot be.
std::string MigrateRecord(const Program& program, const TypeDecl& et, const MigrationDecl& m, const Value& old,
                          Value* out) {
  if (old.kind() != ValueKind::kMap) return "the stored record is not a map";
  for (const auto& [name, v] : old.as_map()) {
    const std::string f = name.ToDisplayString();
    const bool dropped = std::any_of(m.drops.begin(), m.drops.end(), [&](const auto& d) { return d.field == f; });
    if (!et.FindField(f) && !dropped) {
      return "its field '" + f + "' is not declared: add `drop " + f + "` to the migration, or declare it";
    }
  }
  TransformEnv env(program);
  env.Set("it", old);
  ValueMap fields;
  for (const auto& f : et.fields) {
    auto set = std::find_if(m.fields.begin(), m.fields.end(), [&](const Setting& s) { return s.key == f.name; });
    if (set != m.fields.end() && set->value) {
      EvalResult r = Evaluate(*set->value, env);
      if (!r.ok()) return f.name + ": " + r.error().message;
      fields.emplace_back(Value::String(f.name), std::move(r.value()));
    } else if (const Value* kept = old.Find(f.name)) {
      fields.emplace_back(Value::String(f.name), *kept);
    }
  }
  TypeRef type;
  type.name = et.name;
  if (std::string why = CheckValue(program, &type, Value::Map(std::move(fields)), out, false, "record");
      !why.empty()) {
    return why;
  }
  return "";
}

}  // namespace

std::vector<const MigrationDecl*> PendingMigrations(Store& store, const Program& program) {
  std::vector<const MigrationDecl*> out;
  for (const auto& [name, et] : program.types) {
    if (!et->is_entity) continue;
    const StoredSchema kept = LoadSchema(store, name);
    const MigrationDecl* m = kept.version ? MigrationFrom(program, name, kept.version) : nullptr;
    if (!m) continue;
    const bool half = store.Get(Column::kMeta, MigratingKey(name)).has_value();
    if (half || (Shape(kept.text) != Shape(EntitySchemaText(program, *et)) && HasRecords(store, name))) {
      out.push_back(m);
    }
  }
  return out;
}

MigrateOutcome Migrate(Store& store, Clock& clock, const Program& program, const MigrationDecl& m,
                       const std::function<void(size_t)>& progress) {
  MigrateOutcome o;
  auto it = program.types.find(m.entity);
  if (it == program.types.end() || !it->second->is_entity) {
    o.error = "the file declares no entity " + m.entity;
    return o;
  }
  const TypeDecl& et = *it->second;
  const StoredSchema kept = LoadSchema(store, m.entity);
  if (kept.version != m.from) {
    o.error = "entity " + m.entity + " is stored as v" + std::to_string(kept.version) + ", not v" +
              std::to_string(m.from) + " (aosrun schema " + m.entity + ")";
    return o;
  }
  const std::string run = "migrate " + m.entity + " v" + std::to_string(m.from) + " -> v" + std::to_string(m.to);
  // The cursor: the last key migrated, and how many so far.
  std::string cursor;
  int64_t done = 0;
  Value state;
  if (auto raw = store.Get(Column::kMeta, MigratingKey(m.entity)); raw && DecodeValue(*raw, &state)) {
    const Value* from = state.Find("from");
    const Value* to = state.Find("to");
    if (!from || !to || from->kind() != ValueKind::kInt || to->kind() != ValueKind::kInt || from->as_int() != m.from ||
        to->as_int() != m.to) {
      // Records before the cursor have the other migration's shape.
      o.error = "an unfinished migration of " + m.entity + " (v" + (from ? from->ToDisplayString() : "?") + " -> v" +
                (to ? to->ToDisplayString() : "?") + ") is in the data directory: finish it with the file that " +
                "declares it";
      return o;
    }
    if (const Value* c = state.Find("cursor")) cursor = c->ToDisplayString();
    if (const Value* n = state.Find("migrated"); n && n->kind() == ValueKind::kInt) done = n->as_int();
  }
  const std::string prefix = entities::RecordPrefix(m.entity);
  while (true) {
    // The next batch after the cursor (a key's successor: the key and \0).
    std::vector<std::pair<std::string, Value>> batch_records;
    const std::string start = cursor.empty() ? prefix : prefix + cursor + std::string(1, '\0');
    store.Scan(Column::kEntities, prefix, start, [&](std::string_view k, std::string_view raw) {
      Value v;
      DecodeValue(raw, &v);
      batch_records.emplace_back(std::string(k.substr(prefix.size())), std::move(v));
      return batch_records.size() < kBatch;
    });
    WriteBatch batch;
    bool failed = false;
    for (const auto& [id, old] : batch_records) {
      Value now;
      if (std::string why = MigrateRecord(program, et, m, old, &now); !why.empty()) {
        o.failed_key = id;
        o.error = m.entity + " '" + id + "': " + why;
        failed = true;
        break;
      }
      entities::Change c;
      c.at = entities::NextAt(store, m.entity, id, clock.NowNanos());
      c.kind = "migrated";
      c.run = run;
      c.seq = static_cast<uint64_t>(++done);
      c.extra = Value::Map({{Value::String("before"), old}, {Value::String("after"), now}});
      entities::Write(store, batch, et, id, old, now, c);
      cursor = id;
      ++o.migrated;
    }
    const bool finished = !failed && batch_records.size() < kBatch;
    if (finished) {
      // The last batch: the new declaration is the stored one from here on.
      PutSchema(batch, m.entity, EntitySchemaText(program, et), m.to);
      batch.Delete(Column::kMeta, MigratingKey(m.entity));
    } else {
      batch.Put(Column::kMeta, MigratingKey(m.entity),
                EncodeValue(Value::Map({{Value::String("from"), Value::Int(m.from)},
                                        {Value::String("to"), Value::Int(m.to)},
                                        {Value::String("cursor"), Value::String(cursor)},
                                        {Value::String("migrated"), Value::Int(done)}})));
    }
    store.Write(batch, true);
    o.total = static_cast<size_t>(done);
    if (progress) progress(o.total);
    if (failed) return o;
    if (finished) break;
  }
  o.ok = true;
  return o;
}

}  // namespace aos
