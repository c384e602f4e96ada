// Starting and moving runs, before the Runner executes them: the env()
// values a workflow needs, its inputs checked and defaulted, the RunStarted
// event, the definition digests an upgrade compares, and what blocks an
// upgrade (runtime/runner.h declares them).
#include <algorithm>
#include <set>

#include "lang/eval.h"
#include "lang/plan.h"
#include "runtime/codec.h"
#include "runtime/entity_schemas.h"
#include "runtime/runner.h"
#include "runtime/schema.h"

namespace aos {

namespace {

Value M(ValueMap m) { return Value::MapOfUnique(std::move(m)); }

// Collects the names given to env("...") anywhere in the program, so that
// their values can be recorded when the run starts.
void CollectEnv(const Expr* e, std::set<std::string>& out) {
  if (!e) return;
  if (e->kind == ExprKind::kCall && e->name() == "env" && !e->has_receiver && e->args().size() == 1 &&
      e->args()[0]->kind == ExprKind::kLiteral && e->args()[0]->literal().kind() == ValueKind::kString) {
    out.insert(e->args()[0]->literal().as_string());
  }
  for (const auto& a : e->args()) CollectEnv(a, out);
}

void CollectEnvStmt(const Stmt& s, std::set<std::string>& out) {
  if (s.call) {
    for (const auto& a : s.call->args) CollectEnv(a, out);
  }
  for (const auto& m : s.modifiers) {
    CollectEnv(m.value, out);
    if (m.call) {
      for (const auto& a : m.call->args) CollectEnv(a, out);
    }
  }
  for (const Expr* e : {s.waits().ask, s.waits().show, s.waits().explain, s.waits().timeout, s.waits().approvers,
                        s.waits().wait_for, s.waits().wait_until, s.value, s.when}) {
    CollectEnv(e, out);
  }
  for (const auto& b : s.loop().body) CollectEnvStmt(*b, out);
}

// env("NAME") calls that a run needs: not under default() or coalesce(),
// which is how a program says a variable may be unset. name -> where.
void CollectRequiredEnv(const Expr* e, const std::string& where, std::map<std::string, std::string>& out) {
  if (!e) return;
  if (e->kind == ExprKind::kCall && !e->has_receiver && (e->name() == "default" || e->name() == "coalesce")) return;
  if (e->kind == ExprKind::kCall && e->name() == "env" && !e->has_receiver && e->args().size() == 1 &&
      e->args()[0]->kind == ExprKind::kLiteral && e->args()[0]->literal().kind() == ValueKind::kString) {
    out.emplace(e->args()[0]->literal().as_string(), where);
  }
  for (const auto& a : e->args()) CollectRequiredEnv(a, where, out);
}

// The statements' own env() calls, and the connectors and agents they call.
void CollectRequiredEnvStmt(const Program& program, const Stmt& s, std::map<std::string, std::string>& out) {
  const std::string where = "statement " + (s.name.empty() ? std::string("output") : std::string(s.name));
  auto callee = [&](const Call& call) {
    for (const auto& a : call.args) CollectRequiredEnv(a, where, out);
    const std::string ns = call.callee.substr(0, call.callee.find('.'));
    if (auto c = program.connectors.find(ns); c != program.connectors.end()) {
      for (const auto& st : c->second->settings) {
        CollectRequiredEnv(st.value, "connector " + ns + "'s " + st.key, out);
      }
    }
    if (auto a = program.agents.find(ns); a != program.agents.end()) {
      for (const auto& st : a->second->settings) CollectRequiredEnv(st.value, "agent " + ns + "'s " + st.key, out);
    }
  };
  if (s.call) callee(*s.call);
  for (const auto& m : s.modifiers) {
    CollectRequiredEnv(m.value, where, out);
    if (m.call) callee(*m.call);
  }
  for (const Expr* e : {s.waits().ask, s.waits().show, s.waits().explain, s.waits().timeout, s.waits().approvers, s.waits().wait_for,
                        s.waits().wait_until, s.value, s.when}) {
    CollectRequiredEnv(e, where, out);
  }
  for (const auto& b : s.loop().body) CollectRequiredEnvStmt(program, *b, out);
}

}  // namespace

std::string MissingEnv(const Program& program, const Dag& dag) {
  std::map<std::string, std::string> required;
  for (const auto& s : dag.workflow->body) CollectRequiredEnvStmt(program, *s, required);
  for (const auto& [name, where] : required) {
    const char* v = std::getenv(name.c_str());
    if (!v) {
      return "the environment variable " + name + " is not set; " + where + " reads env(\"" + name +
             "\") (set it, or write default(env(\"" + name + "\"), ...) where it may be unset)";
    }
  }
  return "";
}

bool PrepareInputs(const Program& program, const Dag& dag, const Value& given, Value* inputs, std::string* error) {
  const WorkflowDecl& wf = *dag.workflow;
  if (!given.is_null() && given.kind() != ValueKind::kMap) {
    *error = "the inputs must be a JSON object of parameter values";
    return false;
  }
  if (given.kind() == ValueKind::kMap) {
    for (const auto& [k, v] : given.as_map()) {
      bool known = false;
      for (const auto& p : wf.params) known = known || (k.kind() == ValueKind::kString && k.as_string() == p.name);
      if (!known) {
        *error = "workflow " + wf.name + " has no parameter '" + k.ToDisplayString() + "'";
        return false;
      }
    }
  }
  ValueMap in;
  for (const auto& p : wf.params) {
    const Value* v = given.Find(p.name);
    if (v) {
      // A value is typed as the parameter: a string parameter takes a
      // string; other types read the value's JSON as --input would.
      const std::string t = p.type ? p.type->name : "any";
      if (t == "string") {
        if (v->kind() != ValueKind::kString) {
          *error = "input '" + p.name + "' must be a string, not " + v->ToJson();
          return false;
        }
        in.emplace_back(S(p.name), *v);
      } else if (t == "any" || (t == "duration" && v->kind() == ValueKind::kDuration) ||
                 ((t == "time" || t == "timestamp") && v->kind() == ValueKind::kTimestamp) ||
                 (t == "money" && v->kind() == ValueKind::kMoney)) {
        in.emplace_back(S(p.name), *v);
      } else {
        std::string why;
        // Already a structure (--input-json, or inputs prepared once
        // already): checked as it is below, never through JSON text, which
        // would turn bytes into base64 and money into a float.
        const bool structured = v->kind() == ValueKind::kMap || v->kind() == ValueKind::kList;
        const std::string text = v->kind() == ValueKind::kString ? v->as_string() : v->ToJson();
        auto typed = structured ? std::optional<Value>(*v) : TypedInput(text, p.type.get(), &why);
        if (!typed) {
          *error = "input '" + p.name + "': " + why;
          return false;
        }
        // Records, lists, maps and money are checked field by field against
        // the declared type, with defaults filled and numbers made what the
        // type says; a field the type does not declare is refused.
        if (t != "int" && t != "uint" && t != "double" && t != "bool" && t != "duration" && t != "time" &&
            t != "timestamp" && t != "bytes") {
          Value checked;
          const std::string bad = CheckValue(program, p.type.get(), *typed, &checked, /*strict=*/true, p.name);
          if (!bad.empty()) {
            *error = "input " + bad;
            return false;
          }
          typed = checked;
        }
        in.emplace_back(S(p.name), *typed);
      }
      continue;
    }
    if (!p.default_value) {
      *error = "workflow " + wf.name + " needs the input '" + p.name + "' (--input " + p.name + "=...)";
      return false;
    }
    MapEnv none;
    EvalResult r = Evaluate(*p.default_value, none);
    if (!r.ok()) {
      *error = "the default of '" + p.name + "' does not evaluate: " + r.error().message;
      return false;
    }
    in.emplace_back(S(p.name), r.value());
  }
  *inputs = M(std::move(in));
  return true;
}

bool StartRun(RunLog& log, const Program& program, const Dag& dag, const std::string& file,
              const std::string& source, const Value& given, bool replay_effects,
              std::string* error, const std::string& config_hash) {
  const WorkflowDecl& wf = *dag.workflow;
  Value in;
  if (!PrepareInputs(program, dag, given, &in, error)) return false;
  if (std::string conflicts = StoredConflicts(log.store(), program); !conflicts.empty()) {
    *error = conflicts;
    return false;
  }
  RecordSchemas(log.store(), log.batch(), program);
  std::set<std::string> env_names;
  for (const auto& s : wf.body) CollectEnvStmt(*s, env_names);
  for (const auto& [name, c] : program.connectors) {
    for (const auto& st : c->settings) CollectEnv(st.value, env_names);
  }
  for (const auto& [name, a] : program.agents) {
    for (const auto& st : a->settings) CollectEnv(st.value, env_names);
  }
  ValueMap env;
  for (const auto& n : env_names) {
    const char* v = std::getenv(n.c_str());
    env.emplace_back(S(n), v ? S(v) : Value());
  }
  log.Append("", events::RunStarted{.run_id = log.state().run_id,
                                    .workflow = wf.name,
                                    .file = file,
                                    .source = source,
                                    .source_hash = Digest(source),
                                    .dag_fingerprint = Digest(dag.Dump()),
                                    .config_hash = config_hash,
                                    .inputs = in,
                                    .env = M(std::move(env)),
                                    .replay_effects = replay_effects});
  return true;
}

std::map<std::string, std::string> DefinitionDigests(const Dag& dag) {
  std::map<std::string, std::string> out;
  for (const DagNode& n : dag.nodes) {
    if (!n.stmt) continue;
    std::string_view text;
    std::string header;
    if (n.stmt->kind == StmtKind::kFor) {
      header = "for " + std::string(n.stmt->loop().loop_var) + " in " +
               std::string(dag.source->Slice(n.stmt->value->span.begin, n.stmt->value->span.end)) +
               (n.stmt->loop().max_parallel ? " max " + std::to_string(*n.stmt->loop().max_parallel) : "");
      text = header;
    } else {
      text = dag.source->Slice(n.stmt->span.begin, n.stmt->span.end);
    }
    std::string norm;
    bool space = false;
    for (char c : text) {
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        space = true;
        continue;
      }
      if (space && !norm.empty()) norm.push_back(' ');
      space = false;
      norm.push_back(c);
    }
    out[std::string(n.name)] = Digest(norm);
  }
  return out;
}

std::vector<std::string> UpgradeBlockers(const Dag& current, const Dag& next, const RunState& state) {
  const auto before = DefinitionDigests(current);
  const auto after = DefinitionDigests(next);
  std::set<std::string> settled;
  for (const auto& [key, in] : state.inst) {
    if (in.status != InstStatus::kDone && in.status != InstStatus::kSkipped &&
        !(in.status == InstStatus::kActive && in.intent)) {
      continue;
    }
    settled.insert(key.substr(0, key.find('[')));  // "mail[3]" is statement "mail"
  }
  std::vector<std::string> out;
  for (const auto& name : settled) {
    auto b = before.find(name);
    if (b == before.end()) continue;
    auto a = after.find(name);
    if (a == after.end()) {
      out.push_back(name + ": completed in this run, removed by the new version");
    } else if (a->second != b->second) {
      out.push_back(name + ": completed in this run, its definition changed");
    }
  }
  return out;
}

RunOutcome OutcomeOf(const RunState& s) {
  RunOutcome o;
  o.status = s.status;
  o.output = s.output;
  o.error = s.error;
  o.waiting_on = s.waiting_on;
  return o;
}

}  // namespace aos
