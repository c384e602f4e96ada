// The canonical-state commands of aosrun (state.md): `schema` (what the
// data directory keeps), `migrate` (a migration run to its end), and the
// migrations `aosrun FILE` and serve run before they start.
#include <cstring>
#include <iostream>
#include <sstream>

#include "runtime/codec.h"
#include "runtime/entity_schemas.h"
#include "runtime/entity_store.h"
#include "runtime/history.h"
#include "runtime/migrate.h"
#include "tools/aosrun_cli.h"

namespace aosrun {

using aos::Value;

int CmdSchema(Context& c) {
  if (c.opt.positional.size() > 1) return Usage("schema takes at most one ENTITY");
  if (int rc = LoadContext(c, false)) return rc;
  auto schemas = aos::StoredSchemas(*c.store);
  if (!c.opt.positional.empty()) {
    std::erase_if(schemas, [&](const auto& s) { return s.first != c.opt.positional[0]; });
    if (schemas.empty()) {
      std::cerr << "aosrun: no stored schema for " << c.opt.positional[0] << " (aosrun schema lists them)\n";
      return kExitNoRun;
    }
  }
  aos::ValueMap all;
  for (const auto& [type, kept] : schemas) {
    if (c.opt.json) {
      all.emplace_back(Value::String(type), Value::Map({{Value::String("version"), Value::Int(kept.version)},
                                                        {Value::String("text"), Value::String(kept.text)}}));
      continue;
    }
    std::cout << "entity " << type << " v" << kept.version << " {\n";
    std::istringstream lines(kept.text);
    for (std::string l; std::getline(lines, l);) std::cout << "  " << l << "\n";
    std::cout << "}\n";
  }
  if (c.opt.json) std::cout << Value::Map(std::move(all)).ToJson() << "\n";
  return kExitOk;
}

int RunMigrations(Context& c, const aos::Program& program, std::ostream& report, const std::string& only) {
  for (const aos::MigrationDecl* m : aos::PendingMigrations(*c.store, program)) {
    if (!only.empty() && m->entity != only) continue;
    const std::string what =
        "migration " + m->entity + " v" + std::to_string(m->from) + " -> v" + std::to_string(m->to);
    report << what << ": started\n";
    const aos::MigrateOutcome o = aos::Migrate(*c.store, *c.clock, program, *m, [&](size_t total) {
      if (total % 10000 < 256) report << what << ": " << total << " records\n";
    });
    if (!o.ok) {
      report << "aosrun: " << what << " stopped at " << o.error
             << "\n(records before it are migrated; fix the migration and run aosrun migrate " << m->entity
             << " FILE to go on: no run declaring " << m->entity << " starts until it is done)\n";
      return kExitInvalid;
    }
    report << what << ": done, " << o.total << " records\n";
  }
  return kExitOk;
}

// aosrun migrate ENTITY FILE
int CmdMigrate(Context& c) {
  if (c.opt.positional.size() != 2) return Usage("migrate takes ENTITY and the FILE that declares its migration");
  const std::string& entity = c.opt.positional[0];
  const std::string& path = c.opt.positional[1];
  std::string text;
  if (!aos::ReadFileText(path, &text)) {
    std::cerr << "aosrun: cannot read " << path << ": " << std::strerror(errno) << "\n";
    return kExitIo;
  }
  if (int rc = LoadSettings(c)) return rc;
  aos::Diagnostics diags;
  auto program = aos::LoadProgram(path, text, aos::CheckOptionsFor(&c.config), diags);
  if (diags.has_errors()) {
    diags.Sort();
    for (const auto& d : diags.all()) {
      if (d.severity == aos::Severity::kError) std::cerr << aos::RenderText(d);
    }
    return kExitInvalid;
  }
  if (int rc = OpenStore(c, false)) return rc;
  const aos::StoredSchema kept = aos::LoadSchema(*c.store, entity);
  const aos::MigrationDecl* m = kept.version ? aos::MigrationFrom(*program, entity, kept.version) : nullptr;
  for (const aos::MigrationDecl* done : program->migrations) {
    if (!m && done->entity == entity && done->to == kept.version) {
      // Run again after it finished (or after a kill at its very end).
      std::cout << entity << " is stored as v" << kept.version << ", the version " << path
                << " migrates it to: nothing to migrate\n";
      return kExitOk;
    }
  }
  if (!m) {
    std::cerr << "aosrun: " << path << " has no migration of " << entity << " from v" << kept.version
              << (kept.version ? " (the version the data directory keeps)" : " (no schema of it is kept)") << "\n";
    return kExitInvalid;
  }
  bool pending = false;
  for (const aos::MigrationDecl* p : aos::PendingMigrations(*c.store, *program)) pending = pending || p == m;
  if (!pending) {
    std::cout << entity << " is stored as v" << kept.version << " and its records already fit " << path
              << ": nothing to migrate\n";
    return kExitOk;
  }
  std::ostringstream quiet;
  const int rc = RunMigrations(c, *program, c.opt.json ? quiet : std::cerr, entity);
  if (c.opt.json) {
    const aos::StoredSchema now = aos::LoadSchema(*c.store, entity);
    std::cout << "{\"entity\":" << Q(entity) << ",\"ok\":" << (rc == kExitOk ? "true" : "false")
              << ",\"version\":" << now.version << "}\n";
    if (rc != kExitOk) std::cerr << quiet.str();
  }
  return rc;
}

namespace {

// ENTITY KEY [--at TIME]: one record, now (its merged key followed) or as
// its history left it at TIME.
int StateOfRecord(Context& c, const std::string& type, const std::string& key) {
  Value rec;
  if (!c.opt.at.empty()) {
    std::string why;
    auto at = aos::ParseTimestampText(c.opt.at, &why);
    if (!at) return Usage("--at takes an RFC 3339 time, as in 2026-11-30T12:00:00Z (" + why + ")");
    rec = aos::RecordAt(*c.store, type, key, at->nanos);
  } else {
    rec = aos::entities::Load(*c.store, type, aos::entities::Follow(*c.store, type, key));
  }
  if (rec.is_null()) {
    std::cerr << "aosrun: no " << type << " record " << key << (c.opt.at.empty() ? "" : " at " + c.opt.at) << "\n";
    return kExitNoRun;
  }
  std::cout << rec.ToJson() << "\n";
  return kExitOk;
}

}  // namespace

int CmdState(Context& c) {
  if (c.opt.positional.empty() || c.opt.positional.size() > 2) return Usage("state takes ENTITY [KEY]");
  if (!c.opt.at.empty() && c.opt.positional.size() != 2) return Usage("--at goes with one record: state ENTITY KEY --at TIME");
  if (int rc = LoadContext(c, false)) return rc;
  if (auto damage = c.store->CheckFiles(aos::Column::kEntities); !damage.empty()) {
    std::cerr << "aosrun: the entity records are damaged, so records would be missing: " << damage[0] << "\n";
    return kExitIo;
  }
  if (c.opt.positional.size() == 2) return StateOfRecord(c, c.opt.positional[0], c.opt.positional[1]);
  const std::string prefix = aos::entities::RecordPrefix(c.opt.positional[0]);
  int n = 0, bad = 0;
  c.store->Scan(aos::Column::kEntities, prefix, prefix, [&](std::string_view k, std::string_view raw) {
    Value v;
    if (aos::DecodeValue(raw, &v)) {
      std::cout << v.ToJson() << "\n";
      ++n;
    } else {
      std::cerr << "aosrun: a damaged " << c.opt.positional[0] << " record (key " << k.substr(prefix.size()) << ")\n";
      ++bad;
    }
    return true;
  });
  if (bad) return kExitIo;
  if (!n && !c.opt.json) std::cerr << "no " << c.opt.positional[0] << " records\n";
  return kExitOk;
}

// aosrun history ENTITY KEY
int CmdHistory(Context& c) {
  if (c.opt.positional.size() != 2) return Usage("history takes ENTITY and KEY");
  if (int rc = LoadContext(c, false)) return rc;
  const std::string& type = c.opt.positional[0];
  const std::string& key = c.opt.positional[1];
  std::string into;
  aos::HistoryQuery q;
  q.into = &into;
  const auto entries = aos::RecordHistory(*c.store, type, key, q);
  if (entries.empty()) {
    std::cerr << "aosrun: no history of " << type << " " << key << "\n";
    return kExitNoRun;
  }
  for (const auto& e : entries) {
    const std::string at = aos::FormatTimestamp(aos::Timestamp{e.at});
    if (c.opt.json) {
      std::cout << Value::Map({{Value::String("at"), Value::String(at)},
                               {Value::String("kind"), Value::String(e.kind)},
                               {Value::String("run"), Value::String(e.run)},
                               {Value::String("step"), Value::String(e.step)},
                               {Value::String("transform"), e.transform.empty() ? Value() : Value::String(e.transform)},
                               {Value::String("changes"), e.changes},
                               {Value::String("detail"), e.detail},
                               {Value::String("note"), e.note.empty() ? Value() : Value::String(e.note)},
                               {Value::String("decisions"), e.decisions.is_null() ? Value::List({}) : e.decisions}})
                       .ToJson()
                << "\n";
      continue;
    }
    std::cout << at << "  " << e.kind << "  " << (e.kind == "migrated" ? e.run : "run " + e.run + " step " + e.step)
              << (e.transform.empty() ? "" : "  via " + e.transform) << "\n";
    if (const Value* f = e.detail.Find("from")) std::cout << "    merged from " << f->ToJson() << "\n";
    if (const Value* i = e.detail.Find("into")) std::cout << "    merged into " << i->ToDisplayString() << "\n";
    if (!e.note.empty()) std::cout << "    " << e.note << "\n";
    if (e.changes.kind() == aos::ValueKind::kMap) {
      for (const auto& [field, ba] : e.changes.as_map()) {
        std::cout << "    " << field.ToDisplayString() << ": " << ba.as_list()[0].ToJson() << " -> "
                  << ba.as_list()[1].ToJson() << "\n";
      }
    }
    if (e.decisions.kind() == aos::ValueKind::kList) {
      for (const auto& d : e.decisions.as_list()) {
        std::cout << "    decision " << Str(d.Find("name")) << ": "
                  << (d.Find("approved") && d.Find("approved")->as_bool() ? "approved" : "rejected") << " by "
                  << Str(d.Find("by")) << " at " << Str(d.Find("at"))
                  << (Str(d.Find("comment")).empty() ? "" : " (\"" + Str(d.Find("comment")) + "\")") << "\n";
      }
    }
  }
  if (!into.empty() && !c.opt.json) {
    std::cout << key << " now leads to " << into << ": aosrun history " << type << " " << into << "\n";
  }
  return kExitOk;
}

}  // namespace aosrun
