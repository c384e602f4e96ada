#include "runtime/entity_schemas.h"

#include <set>
#include <sstream>

#include "lang/ast_dump.h"
#include "lang/transform_check.h"
#include "runtime/codec.h"
#include "runtime/entity_store.h"

namespace aos {

namespace {

// Column::kMeta: "schema\0" + type -> {digest, text};
// "transform\0" + name + "\0v" + version -> {digest, text}.
std::string SchemaKey(const std::string& type) { return std::string("schema") + '\0' + type; }
std::string TransformKey(const TransformDecl& t) {
  return std::string("transform") + '\0' + t.name + '\0' + "v" + std::to_string(t.version);
}

std::string StoredText(Store& store, const std::string& key);

// Each transform of the program with the file it is declared in.
template <class F>
void ForEachTransform(const Program& program, F&& f) {
  // A program that runs parsed every file: its modules and sources align.
  if (program.modules.size() != program.sources.size()) return;
  for (size_t i = 0; i < program.modules.size(); ++i) {
    for (const auto& t : program.modules[i]->transforms) f(t, program.sources[i].get());
  }
}

void UsedTypes(const Program& program, const TypeRef& t, std::set<std::string>& out) {
  auto it = program.types.find(t.name);
  if (it != program.types.end() && !it->second->is_entity && out.insert(t.name).second) {
    for (const auto& f : it->second->fields) {
      if (f.type) UsedTypes(program, *f.type, out);
    }
  }
  for (const auto& p : t.params) UsedTypes(program, *p, out);
}

}  // namespace

bool HasRecords(Store& store, const std::string& type) {
  const std::string prefix = entities::RecordPrefix(type);
  bool any = false;
  store.Scan(Column::kEntities, prefix, prefix, [&](std::string_view, std::string_view) {
    any = true;
    return false;
  });
  return any;
}

namespace {

std::string StoredText(Store& store, const std::string& key) {
  auto raw = store.Get(Column::kMeta, key);
  Value v;
  if (!raw || !DecodeValue(*raw, &v) || !v.Find("text")) return "";
  return v.Find("text")->ToDisplayString();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// What records of the schema look like: each field's name and type and the
// key mark, in any order. Identity marks and defaults change how records
// are found and read, not what is stored.
}  // namespace

std::set<std::string> Shape(const std::string& text) {
  std::set<std::string> out;
  for (std::string l : Lines(text)) {
    if (l.rfind("identity ", 0) == 0) l.erase(0, 9);
    if (l.rfind("type ", 0) != 0) {
      if (size_t eq = l.find(" = "); eq != std::string::npos) l.erase(eq);
    }
    out.insert(l);
  }
  return out;
}

StoredSchema LoadSchema(Store& store, const std::string& type) {
  StoredSchema s;
  auto raw = store.Get(Column::kMeta, SchemaKey(type));
  Value v;
  if (!raw || !DecodeValue(*raw, &v) || !v.Find("text")) return s;
  s.text = v.Find("text")->ToDisplayString();
  s.version = v.Find("version") && v.Find("version")->kind() == ValueKind::kInt ? static_cast<int>(v.Find("version")->as_int()) : 1;
  return s;
}

void PutSchema(WriteBatch& batch, const std::string& type, const std::string& text, int version) {
  ValueMap m;
  m.emplace_back(Value::String("digest"), Value::String(Digest(text)));
  m.emplace_back(Value::String("text"), Value::String(text));
  m.emplace_back(Value::String("version"), Value::Int(version));
  batch.Put(Column::kMeta, SchemaKey(type), EncodeValue(Value::Map(std::move(m))));
}

std::string MigratingKey(const std::string& type) { return std::string("migrating") + '\0' + type; }

const MigrationDecl* MigrationFrom(const Program& program, const std::string& type, int version) {
  for (const MigrationDecl* m : program.migrations) {
    if (m->entity == type && m->from == version) return m;
  }
  return nullptr;
}

int DeclaredVersion(const Program& program, const std::string& type) {
  int v = 1;
  for (const MigrationDecl* m : program.migrations) {
    if (m->entity == type) v = std::max(v, m->to);
  }
  return v;
}

std::string EntitySchemaText(const Program& program, const TypeDecl& et) {
  std::string out;
  std::set<std::string> used;
  for (const auto& f : et.fields) {
    out += DumpField(f) + "\n";
    if (f.type) UsedTypes(program, *f.type, used);
  }
  for (const auto& name : used) {
    const TypeDecl& t = *program.types.at(name);
    out += "type " + name + " {";
    for (const auto& f : t.fields) out += " " + DumpField(f) + ";";
    out += " }\n";
  }
  return out;
}

std::string SchemaConflicts(Store& store, const Program& program) {
  std::string out;
  for (const auto& [name, et] : program.types) {
    if (!et->is_entity) continue;
    if (store.Get(Column::kMeta, MigratingKey(name))) {
      out += "entity " + name + " is being migrated (aosrun migrate " + name +
             " FILE finishes it): no run sees its records until then\n";
      continue;
    }
    const StoredSchema kept = LoadSchema(store, name);
    const std::string& stored = kept.text;
    const std::string mine = EntitySchemaText(program, *et);
    if (stored.empty() || stored == mine) continue;
    const std::set<std::string> sa = Shape(stored), sb = Shape(mine);
    if (sa == sb || !HasRecords(store, name)) continue;
    if (const MigrationDecl* m = MigrationFrom(program, name, kept.version)) {
      out += "entity " + name + " is stored as v" + std::to_string(kept.version) + ": migration v" +
             std::to_string(m->from) + " -> v" + std::to_string(m->to) + " must run first (aosrun migrate " + name +
             " FILE; aosrun FILE and serve run it before they start)\n";
      continue;
    }
    out += "entity " + name + " (stored as v" + std::to_string(kept.version) +
           ") differs from the one its stored records were written with:\n";
    for (const auto& l : sa) {
      if (!sb.count(l)) out += "  - " + l + "   (stored)\n";
    }
    for (const auto& l : sb) {
      if (!sa.count(l)) out += "  + " + l + "   (this file)\n";
    }
  }
  if (!out.empty()) {
    out += "declare the entity as it is stored (`aosrun schema` shows it), or migrate its records to this "
           "declaration: migration E vN -> vM { field: expression using it  drop old_field }";
  }
  return out;
}

std::vector<std::pair<std::string, StoredSchema>> StoredSchemas(Store& store) {
  std::vector<std::string> types;
  const std::string prefix = SchemaKey("");
  store.Scan(Column::kMeta, prefix, prefix, [&](std::string_view k, std::string_view) {
    types.emplace_back(k.substr(prefix.size()));
    return true;
  });
  std::vector<std::pair<std::string, StoredSchema>> out;
  for (const auto& t : types) out.emplace_back(t, LoadSchema(store, t));
  return out;
}

void RecordSchemas(Store& store, WriteBatch& batch, const Program& program) {
  for (const auto& [name, et] : program.types) {
    if (!et->is_entity) continue;
    const std::string mine = EntitySchemaText(program, *et);
    const StoredSchema kept = LoadSchema(store, name);
    if (kept.text == mine) continue;
    // The same shape (other identities or defaults), or no records: this
    // declaration takes the stored one's place. Another shape with records
    // is refused before this (SchemaConflicts) or migrated (migrate.h).
    const bool same_shape = !kept.text.empty() && Shape(kept.text) == Shape(mine);
    if (!kept.text.empty() && !same_shape && HasRecords(store, name)) continue;
    PutSchema(batch, name, mine, same_shape ? kept.version : DeclaredVersion(program, name));
  }
  ForEachTransform(program, [&](const TransformDecl& t, const SourceFile* src) {
    if (!StoredText(store, TransformKey(t)).empty()) return;  // kept: a different body is refused
    const std::string body = TransformBodyText(t);
    ValueMap m;
    m.emplace_back(Value::String("digest"), Value::String(Digest(body)));
    m.emplace_back(Value::String("text"), Value::String(body));
    // As written, to show when a body differs.
    m.emplace_back(Value::String("source"), Value::String(std::string(src->Slice(t.span.begin, t.span.end))));
    batch.Put(Column::kMeta, TransformKey(t), EncodeValue(Value::Map(std::move(m))));
  });
}

void TransformConflicts(Store& store, const Program& program, Diagnostics& diags) {
  ForEachTransform(program, [&](const TransformDecl& t, const SourceFile* src) {
    const std::string stored = StoredText(store, TransformKey(t));
    if (stored.empty() || stored == TransformBodyText(t)) return;
    auto& d = diags.Error(src, t.version_span, "E181",
                          "transform " + t.name + " v" + std::to_string(t.version) +
                              " differs from the body the data directory keeps for v" + std::to_string(t.version));
    d.hints.push_back("records carry " + t.Tag() + " as their provenance: give the changed body a new version, v" +
                      std::to_string(t.version + 1));
    Value kept;
    auto raw = store.Get(Column::kMeta, TransformKey(t));
    if (raw && DecodeValue(*raw, &kept) && kept.Find("source")) {
      d.notes.push_back("the data directory keeps for v" + std::to_string(t.version) + ":\n" +
                        kept.Find("source")->ToDisplayString());
    }
  });
}

std::string StoredConflicts(Store& store, const Program& program) {
  std::string out = SchemaConflicts(store, program);
  Diagnostics diags;
  TransformConflicts(store, program, diags);
  for (const auto& d : diags.all()) out += (out.empty() ? "" : "\n") + RenderText(d);
  return out;
}

}  // namespace aos
