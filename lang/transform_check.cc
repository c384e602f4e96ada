#include "lang/transform_check.h"

#include <set>

#include "lang/ast_dump.h"
#include "lang/check_common.h"

namespace aos {

using namespace checking;

namespace {

// now(), uuid(), env(), secret() and transforms inside a transform's body.
void CheckPure(const Program& program, const TransformDecl& t, const Expr& e, const SourceFile* src,
               Diagnostics& diags) {
  if (e.kind == ExprKind::kCall && !e.has_receiver) {
    const std::string n(e.name());
    if (n == "now" || n == "uuid" || n == "env" || n == "secret") {
      auto& d = diags.Error(src, e.span, "E180", "transform " + Quote(t.name) + " is pure: " + n + "() is not allowed");
      d.hints.push_back("pass the value in the transform's parameter");
    } else if (program.transforms.count(n)) {
      diags.Error(src, e.span, "E180", "transform " + Quote(t.name) + " calls transform " + Quote(n) +
                                           ": a transform uses only its parameter and functions");
    }
  }
  for (const Expr* a : e.args()) {
    if (a) CheckPure(program, t, *a, src, diags);
  }
}

const Field* RequiredMissing(const TypeDecl& r, const std::vector<Setting>& fields) {
  for (const auto& f : r.fields) {
    if (f.default_value || (f.type && f.type->optional)) continue;
    bool given = false;
    for (const auto& s : fields) given = given || s.key == f.name;
    if (!given) return &f;
  }
  return nullptr;
}

// Each `field: expr` of a body: a field of `r`, its value of the field's type.
void CheckBody(Program& program, const TypeDecl& r, const std::vector<Setting>& fields,
               const std::vector<std::pair<std::string, const TypeRef*>>& bound, const SourceFile* src,
               Diagnostics& diags) {
  std::set<std::string> seen;
  for (const auto& s : fields) {
    if (!seen.insert(s.key).second) {
      diags.Error(src, s.key_span, "E101", "field " + Quote(s.key) + " is set twice");
      continue;
    }
    const Field* f = r.FindField(s.key);
    if (!f) {
      NoSuchField(r, s.key, src, s.key_span, diags);
      continue;
    }
    if (!s.value) continue;
    const std::string mismatch = CheckBoundExpr(program, src, *s.value, bound, f->type.get(), diags);
    if (!mismatch.empty()) diags.Error(src, s.value->span, "E110", "field " + Quote(s.key) + ": " + mismatch);
  }
}

}  // namespace

void CheckTransform(Program& program, const TransformDecl& t, const SourceFile* src, Diagnostics& diags) {
  if (t.params.size() != 1) {
    diags.Error(src, t.name_span, "E106", "transform " + Quote(t.name) + " takes one parameter, the payload");
    return;
  }
  const Field& p = t.params[0];
  if (!t.result) return;
  auto it = program.types.find(t.result->name);
  if (it == program.types.end() || !t.result->params.empty()) {
    auto& d = diags.Error(src, t.result->span, "E104",
                          "transform " + Quote(t.name) + " makes " + Quote(t.result->name) +
                              ", which is not a declared type or entity");
    d.hints.push_back("a transform makes a record: declare `type` or `entity` " + t.result->name + " { ... }");
    return;
  }
  const TypeDecl& r = *it->second;
  CheckBody(program, r, t.fields, {{p.name, p.type.get()}}, src, diags);
  if (const Field* missing = RequiredMissing(r, t.fields)) {
    auto& d = diags.Error(src, t.name_span, "E109",
                          "transform " + Quote(t.name) + " does not set " + Quote(missing->name) + " of " + r.name);
    d.hints.push_back("every field without '?' or a default is set: " + missing->name + ": expression");
  }
  for (const auto& s : t.fields) {
    if (s.value) CheckPure(program, t, *s.value, src, diags);
  }
}

void CheckMigration(Program& program, const MigrationDecl& m, const SourceFile* src, Diagnostics& diags) {
  auto it = program.types.find(m.entity);
  if (it == program.types.end() || !it->second->is_entity) {
    diags.Error(src, m.entity_span, "E104", "migration of " + Quote(m.entity) + ", which is not a declared entity");
    return;
  }
  const TypeDecl& e = *it->second;
  if (m.from && m.to && m.to <= m.from) {
    diags.Error(src, m.to_span, "E182",
                "a migration goes to a higher version: v" + std::to_string(m.from) + " -> v" + std::to_string(m.from + 1));
  }
  // `it`: the record as stored, in the old declaration, which the data
  // directory knows and the file does not.
  TypeRef any;
  any.name = "any";
  CheckBody(program, e, m.fields, {{"it", &any}}, src, diags);
  for (const auto& d : m.drops) {
    if (e.FindField(d.field)) {
      auto& x = diags.Error(src, d.span, "E182",
                            Quote(d.field) + " is declared in " + m.entity + ": a migration drops fields it no longer has");
      x.hints.push_back("remove `" + d.field + "` from the drop list, or from entity " + m.entity);
    }
  }
}

std::string TransformBodyText(const TransformDecl& t) {
  std::string out;
  for (const auto& p : t.params) out += "(" + DumpField(p) + ")";
  if (t.result) out += " -> " + DumpType(*t.result);
  out += "\n";
  for (const auto& s : t.fields) out += s.key + ": " + (s.value ? DumpExpr(*s.value) : "") + "\n";
  return out;
}

}  // namespace aos
