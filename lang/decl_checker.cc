#include "lang/decl_checker.h"

#include <algorithm>
#include <set>

#include "lang/check_common.h"
#include "lang/eval_functions.h"
#include "lang/transform_check.h"

namespace aos {

using namespace checking;

DeclChecker::DeclChecker(Program& prog, const CheckOptions& opts, Diagnostics& diags)
    : prog_(prog), opts_(opts), d_(diags) {}

void DeclChecker::Register(const Module& m, const SourceFile* src) {
  auto dup = [&](const std::string& name, Span at, const char* what) {
    auto it = first_.find(name);
    if (it != first_.end()) {
      auto& d = d_.Error(src, at, "E150", std::string("duplicate declaration of ") + what + " " + Quote(name));
      d.notes.push_back("first declared at " + it->second);
      return true;
    }
    first_[name] = src->path() + ":" + Where(src, at);
    return false;
  };
  for (const auto& t : m.types) {
    if (!dup(t.name, t.name_span, t.is_entity ? "entity" : "type")) prog_.types[t.name] = &t;
  }
  for (const auto& c : m.connectors) {
    if (!dup(c.name, c.name_span, "connector")) prog_.connectors[c.name] = &c;
  }
  for (const auto& a : m.agents) {
    if (!dup(a.name, a.name_span, "agent")) prog_.agents[a.name] = &a;
  }
  for (const auto& w : m.workflows) dup(w.name, w.name_span, "workflow");
  for (const auto& t : m.triggers) dup(t.name, t.name_span, "trigger");
  for (const auto& t : m.transforms) {
    if (FindFunction(t.name)) {
      auto& d = d_.Error(src, t.name_span, "E150", "transform " + Quote(t.name) + " has the name of a built-in function");
      d.hints.push_back("name it after what it reads, as in ga4_signal");
    } else if (!dup(t.name, t.name_span, "transform")) {
      prog_.transforms[t.name] = &t;
    }
  }
  for (const auto& mg : m.migrations) {
    for (const MigrationDecl* other : prog_.migrations) {
      if (other->entity == mg.entity) {
        // Its target is the file's declaration: one step, from the kept version.
        auto& d = d_.Error(src, mg.entity_span, "E182", "a second migration of " + Quote(mg.entity) +
                                                            ": a file migrates an entity once, to its declaration");
        d.hints.push_back("migrate to each version with its own file, one after another");
        break;
      }
    }
    prog_.migrations.push_back(&mg);
  }
  sources_.emplace_back(&m, src);
}

void DeclChecker::CheckAll() {
  for (const auto& [m, src] : sources_) {
    for (const auto& t : m->types) CheckType(t, src);
    for (const auto& c : m->connectors) CheckConnector(c, src);
    for (const auto& a : m->agents) CheckAgent(a, src);
    for (const auto& t : m->transforms) CheckTransform(prog_, t, src, d_);
    for (const auto& mg : m->migrations) CheckMigration(prog_, mg, src, d_);
  }
}

void DeclChecker::CheckTypeRef(const TypeRef& t, const SourceFile* src) {
  static const std::set<std::string> builtin = {"string", "int", "uint", "double", "bool", "bytes",
                                                "time", "timestamp", "duration", "money", "any"};
  if (t.name == "list" || t.name == "map") {
    for (const auto& p : t.params) CheckTypeRef(*p, src);
    return;
  }
  if (t.name == "ref") {
    const TypeRef* p = t.params.empty() ? nullptr : t.params[0].get();
    auto it = p ? prog_.types.find(p->name) : prog_.types.end();
    if (!p || it == prog_.types.end() || !it->second->is_entity || !p->params.empty() || p->optional) {
      auto& d = d_.Error(src, p ? p->span : t.span, "E104",
                         "ref<" + (p ? p->name : std::string()) + ">: a ref names an entity");
      std::vector<std::string> names;
      for (const auto& [k, v] : prog_.types) {
        if (v->is_entity) names.push_back(k);
      }
      if (p) AddDidYouMean(d, p->name, names);
    }
    return;
  }
  if (builtin.count(t.name) || prog_.types.count(t.name)) return;
  auto& d = d_.Error(src, t.span, "E104", "unknown type " + Quote(t.name));
  std::vector<std::string> names = ScalarTypeNames();
  for (const auto& [k, v] : prog_.types) names.push_back(k);
  AddDidYouMean(d, t.name, names);
}

void DeclChecker::CheckType(const TypeDecl& t, const SourceFile* src) {
  std::set<std::string> seen;
  int keys = 0;
  for (const auto& f : t.fields) {
    if (!seen.insert(f.name).second) {
      d_.Error(src, f.name_span, "E101", "duplicate field " + Quote(f.name) + " in " + Quote(t.name));
    }
    if (f.type) CheckTypeRef(*f.type, src);
    if (f.is_identity && f.type && f.type->name != "string" && f.type->name != "int") {
      auto& d = d_.Error(src, f.type->span, "E110", "identity " + Quote(f.name) + " must be a string or an int");
      d.hints.push_back("an identity is a value that names one record, as an email address or a handle");
    }
    if (f.is_key) {
      ++keys;
      if (f.type && f.type->name == "ref") {
        d_.Error(src, f.type->span, "E110", "a key cannot be a ref: it names the record itself");
      }
      if (!t.is_entity) {
        d_.Error(src, f.span, "E109", "only entities have a key field; " + Quote(t.name) + " is a type");
      } else if (keys > 1) {
        d_.Error(src, f.span, "E109", "entity " + Quote(t.name) + " has more than one key field");
      }
    }
  }
  if (t.is_entity && keys == 0) {
    auto& d = d_.Error(src, t.name_span, "E109", "entity " + Quote(t.name) + " has no key field");
    d.hints.push_back("mark the field that identifies a record, as in: key id: string");
  }
  std::set<std::string_view> indexed;
  for (const auto& ix : t.indexes) {
    const Field* f = t.FindField(ix.field);
    if (!f) {
      NoSuchField(t, ix.field, src, ix.span, d_);
    } else if (f->is_key) {
      auto& d = d_.Error(src, ix.span, "E110", Quote(f->name) + " is the key of " + Quote(t.name) + ": E.get finds by it");
      d.hints.push_back("index other fields, to find records by them with " + t.name + ".find(field: value)");
    } else if (!indexed.insert(ix.field).second) {
      d_.Error(src, ix.span, "E101", "field " + Quote(f->name) + " is indexed twice");
    }
  }
}

void DeclChecker::CheckSettings(const std::vector<Setting>& settings, const SourceFile* src,
                   const std::vector<std::string>& known, const char* what) {
  std::set<std::string> seen;
  for (const auto& s : settings) {
    if (!seen.insert(s.key).second) {
      d_.Error(src, s.key_span, "E101", "setting " + Quote(s.key) + " given twice");
    }
    if (std::find(known.begin(), known.end(), s.key) == known.end()) {
      auto& d = d_.Error(src, s.key_span, "E108", std::string("unknown ") + what + " setting " + Quote(s.key));
      AddDidYouMean(d, s.key, known);
      if (d.hints.empty()) {
        std::string list;
        for (size_t i = 0; i < known.size(); ++i) list += (i ? ", " : "") + known[i];
        d.hints.push_back(std::string("the ") + what + " settings are " + list);
      }
    }
  }
}

const Setting* DeclChecker::Find(const std::vector<Setting>& settings, const char* key) {
  for (const auto& s : settings) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

void DeclChecker::CheckConnector(const ConnectorDecl& c, const SourceFile* src) {
  if (c.kind != "http") {
    auto& d = d_.Error(src, c.kind_span, "E105", "unknown connector kind " + Quote(c.kind));
    d.hints.push_back("the only connector kind in version 0.1 is http");
  }
  CheckSettings(c.settings, src, {"base_url", "headers", "auth", "allow"}, "connector");
  if (!Find(c.settings, "base_url")) {
    auto& d = d_.Error(src, c.name_span, "E109", "connector " + Quote(c.name) + " has no base_url");
    d.hints.push_back("add for example: base_url: env(\"CMS_URL\")");
  }
  if (const Setting* allow = Find(c.settings, "allow")) {
    if (!allow->value || allow->value->kind != ExprKind::kList) {
      d_.Error(src, allow->span, "E110", "allow is a list of \"METHOD /path\" strings");
    } else {
      for (const auto& r : allow->value->args()) {
        if (r->kind != ExprKind::kLiteral || r->literal().kind() != ValueKind::kString) {
          d_.Error(src, r->span, "E110", "allow entries are quoted \"METHOD /path\" strings");
          continue;
        }
        const std::string& rule = r->literal().as_string();
        const size_t sp = rule.find(' ');
        static const std::set<std::string> methods = {"GET", "POST", "PUT", "PATCH", "DELETE"};
        if (sp == std::string::npos || !methods.count(rule.substr(0, sp)) ||
            rule.size() <= sp + 1 || rule[sp + 1] != '/') {
          auto& d = d_.Error(src, r->span, "E110", "allow entry " + Quote(rule) + " is not \"METHOD /path\"");
          d.hints.push_back("write for example \"POST /posts\" or \"DELETE /posts/*\"");
        }
      }
    }
  }
  for (const auto& s : c.settings) {
    if (s.key == "base_url" && s.value && s.value->kind == ExprKind::kCall &&
        s.value->name() == "secret") {
      d_.Warning(src, s.value->span, "W201", "a secret as base_url ends up in logs and traces");
    }
  }
}

void DeclChecker::CheckAgent(const AgentDecl& a, const SourceFile* src) {
  CheckSettings(a.settings, src, {"model", "instructions", "output", "temperature", "max_tokens"},
                "agent");
  const Setting* model = Find(a.settings, "model");
  if (!model) {
    auto& d = d_.Error(src, a.name_span, "E109", "agent " + Quote(a.name) + " has no model");
    d.hints.push_back("add for example: model: \"small\" (a model named in aos.yaml)");
  } else if (model->value) {
    if (model->value->kind != ExprKind::kLiteral ||
        model->value->literal().kind() != ValueKind::kString) {
      d_.Error(src, model->value->span, "E110", "an agent's model is a quoted model name");
    } else {
      CheckModelName(*model->value, opts_, src, d_);
    }
  }
  for (const auto& s : a.settings) {
    if (s.key == "output" && s.type) CheckTypeRef(*s.type, src);
    if (!s.value) continue;
    const Expr& v = *s.value;
    const bool is_lit = v.kind == ExprKind::kLiteral;
    if (s.key == "temperature" &&
        !(is_lit && (v.literal().kind() == ValueKind::kDouble || v.literal().kind() == ValueKind::kInt))) {
      d_.Error(src, v.span, "E110", "temperature is a number, such as 0.2");
    }
    if (s.key == "temperature" && is_lit && v.literal().kind() == ValueKind::kDouble &&
        (v.literal().as_double() < 0 || v.literal().as_double() > 2)) {
      d_.Error(src, v.span, "E110", "temperature is between 0 and 2");
    }
    if (s.key == "max_tokens" && !(is_lit && v.literal().kind() == ValueKind::kInt && v.literal().as_int() > 0)) {
      d_.Error(src, v.span, "E110", "max_tokens is a positive whole number");
    }
    if (s.key == "instructions" && v.kind == ExprKind::kCall && v.name() == "secret") {
      d_.Warning(src, v.span, "W201", "a secret flows into the instructions of agent " + Quote(a.name));
    }
  }
}

}  // namespace aos
