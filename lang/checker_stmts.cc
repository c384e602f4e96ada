#include "lang/workflow_checker.h"

#include <algorithm>
#include <sstream>

#include "lang/regex.h"
#include "lang/spelling.h"

namespace aos::checking {

void WorkflowChecker::CheckParams() {
  for (const auto& p : wf_.params) {
    if (params_.count(p.name)) {
      d_.Error(src_, p.name_span, "E101", "duplicate parameter " + Quote(p.name));
    }
    TypePtr t = ResolveType(p.type.get());
    params_[p.name] = t;
    if (p.default_value) {
      // Defaults are constants: references to statements make no sense.
      NoNamesEnv env;
      EvalResult r = Evaluate(*p.default_value, env);
      if (!r.ok() && r.error().kind != "expr.unknown") {
        d_.Error(src_, p.default_value->span, "E160",
                 "the default of " + Quote(p.name) + " does not evaluate: " + r.error().message);
      } else if (r.ok()) {
        TypePtr vt = LiteralType(r.value());
        if (!IsAny(vt) && !Assignable(*vt, *t) &&
            !(r.value().kind() == ValueKind::kList || r.value().kind() == ValueKind::kMap)) {
          d_.Error(src_, p.default_value->span, "E110",
                   "the default of " + Quote(p.name) + " is " + TypeToString(*vt) +
                       ", but the parameter is " + TypeToString(*t));
        }
      }
    }
  }
}

void WorkflowChecker::CheckSettings() {
  if (wf_.budget) {
    // Budgets are constants.
    if (wf_.budget->kind != ExprKind::kLiteral ||
        wf_.budget->literal().kind() != ValueKind::kMoney) {
      auto& d = d_.Error(src_, wf_.budget->span, "E110", "a budget is an amount of money");
      d.hints.push_back("write for example: budget 2.00 usd");
    }
  }
  if (wf_.concurrency && *wf_.concurrency < 1) {
    d_.Error(src_, wf_.span, "E110", "concurrency must be at least 1");
  }
  if (wf_.retry) CheckRetry(*wf_.retry);
}

void WorkflowChecker::CheckRetry(const RetrySpec& r) {
  if (r.factor < 1.0) {
    d_.Error(src_, r.span, "E110", "the backoff factor must be at least 1");
  }
  if (r.backoff && r.max_delay && r.max_delay->nanos < r.backoff->nanos) {
    d_.Error(src_, r.span, "E110", "the backoff cap is below the first delay");
  }
  for (size_t i = 0; i < r.on.size(); ++i) {
    if (IsKnownErrorKind(r.on[i])) continue;
    auto& d = d_.Error(src_, r.on_spans[i], "E127", "unknown error kind " + Quote(r.on[i]));
    std::vector<std::string> names;
    for (const auto& k : kErrorKinds) names.emplace_back(k.name);
    AddDidYouMean(d, r.on[i], names);
  }
}

void WorkflowChecker::CheckExprAs(const ExprPtr& e, Ctx& c, Kind want, const char* what) {
  if (!e) return;
  TypePtr t = CheckExpr(*e, c);
  Expect(c, *e, t, want, what);
}

void WorkflowChecker::CheckNode(uint32_t id) {
  const Stmt& s = *dag_->nodes[id].stmt;
  Ctx c;
  c.node = id;
  // after: explicit edges.
  for (const Stmt::After& a : s.after) {
    // `after` orders without referring: a skipped statement does not
    // skip the ones that only come after it.
    const std::string name(a.name);
    auto it = by_name_.find(a.name);
    if (it != by_name_.end()) {
      c.soft = true;
      AddDep(c, it->second.first, a.span);
      c.soft = false;
    } else {
      auto& d = d_.Error(src_, a.span, "E100", "unknown statement " + Quote(name) + " after 'after'");
      AddDidYouMean(d, name, VisibleNames(c));
    }
  }
  switch (s.kind) {
    case StmtKind::kStep:
    case StmtKind::kEffect: {
      if (s.call) dag_->nodes[id].type = CheckCall(*s.call, c, s.kind);
      type_state_[id] = 2;
      CheckModifiers(s, id, c);
      break;
    }
    case StmtKind::kApproval: {
      if (!s.waits().ask) {
        auto& d = d_.Error(src_, s.name_span, "E109",
                           "approval " + Quote(s.name) + " has no question");
        d.hints.push_back("add: ask \"Publish this?\"");
      }
      CheckExprAs(s.waits().ask, c, Kind::kString, "the question");
      if (s.waits().show) LintShowSize(*s.waits().show, CheckExpr(*s.waits().show, c), c);
      CheckExprAs(s.waits().explain, c, Kind::kString, "the explanation");
      CheckExprAs(s.waits().timeout, c, Kind::kDuration, "the timeout");
      if (s.waits().approvers) {
        TypePtr t = CheckExpr(*s.waits().approvers, c);
        Expect(c, *s.waits().approvers, t, Kind::kList, "approvers");
      }
      if (s.waits().returns) ResolveType(s.waits().returns.get());
      if (!s.waits().timeout) {
        auto& d = d_.Warning(src_, s.name_span, "W200",
                             "approval " + Quote(s.name) + " has no timeout: the run may wait forever");
        d.hints.push_back("add for example: timeout 48h on_timeout reject");
      }
      break;
    }
    case StmtKind::kWait:
      CheckExprAs(s.waits().wait_for, c, Kind::kDuration, "a wait's 'for'");
      CheckExprAs(s.waits().wait_until, c, Kind::kTime, "a wait's 'until'");
      break;
    case StmtKind::kSignal:
      CheckExprAs(s.waits().timeout, c, Kind::kDuration, "the timeout");
      break;
    case StmtKind::kLet: {
      TypePtr t = CheckExpr(*s.value, c);
      if (type_state_[id] != 2) {
        dag_->nodes[id].type = t;
        type_state_[id] = 2;
      }
      dag_->nodes[id].secret = c.secret;
      break;
    }
    case StmtKind::kFor: {
      TypePtr t = CheckExpr(*s.value, c);
      if (!IsAny(t) && t->kind != Kind::kList && t->kind != Kind::kMap) {
        TypeError(c, s.value->span, "for iterates over a list or a map, not " + TypeToString(*t));
      }
      if (s.loop().max_parallel && *s.loop().max_parallel < 1) {
        d_.Error(src_, s.span, "E110", "a for loop's max must be at least 1");
      }
      if (LoopVarFor(s.loop().loop_var, dag_->nodes[id].parent) >= 0 || params_.count(std::string(s.loop().loop_var)) ||
          by_name_.count(s.loop().loop_var)) {
        d_.Error(src_, s.loop().loop_var_span, "E101",
                 "loop variable " + Quote(s.loop().loop_var) + " hides another name");
      }
      break;
    }
    case StmtKind::kOutput:
      CheckExpr(*s.value, c);
      if (dag_->nodes[id].parent >= 0) {
        d_.Error(src_, s.span, "E125", "output belongs at the top of the workflow, not in a for");
      } else if (output_seen_) {
        auto& d = d_.Error(src_, s.span, "E125", "a workflow has one output");
        d.notes.push_back("the first is at " + Where(src_, output_seen_->span));
      } else {
        output_seen_ = &s;
      }
      break;
    case StmtKind::kFail:
      CheckExprAs(s.value, c, Kind::kString, "fail's message");
      break;
  }
  if (s.when) {
    TypePtr t = CheckExpr(*s.when, c);
    if (!IsAny(t) && t->kind != Kind::kBool) {
      auto& d = d_.Error(src_, s.when->span, "E111",
                         "a 'when' condition must be bool, not " + TypeToString(*t));
      d.hints.push_back("compare explicitly, as in: when x != null");
    }
  }
}

void WorkflowChecker::CheckModifiers(const Stmt& s, uint32_t id, Ctx& c) {
  std::set<ModifierKind> seen;
  for (const auto& m : s.modifiers) {
    if (!seen.insert(m.kind).second) {
      d_.Error(src_, m.span, "E123", std::string("duplicate modifier '") + ModifierName(m.kind) + "'");
    }
    const bool effect_only = m.kind == ModifierKind::kKey ||
                             m.kind == ModifierKind::kCompensate ||
                             m.kind == ModifierKind::kConfirm;
    if (effect_only && s.kind != StmtKind::kEffect) {
      auto& d = d_.Error(src_, m.span, "E122",
                         std::string("'") + ModifierName(m.kind) + "' applies to effects only");
      d.hints.push_back("declare " + Quote(s.name) + " as an effect if it changes the world outside");
    }
    switch (m.kind) {
      case ModifierKind::kRetry:
        CheckRetry(*m.retry);
        break;
      case ModifierKind::kTimeout:
        CheckExprAs(m.value, c, Kind::kDuration, "the timeout");
        break;
      case ModifierKind::kKey: {
        Ctx kc = c;
        kc.loop_var_used = false;
        kc.sibling_used = false;
        TypePtr t = CheckExpr(*m.value, kc);
        c.secret = c.secret || kc.secret;
        if (!IsAny(t) && t->kind != Kind::kString && t->kind != Kind::kInt &&
            t->kind != Kind::kUint) {
          TypeError(c, m.value->span, "an idempotency key is a string, not " + TypeToString(*t));
        }
        const int32_t parent = dag_->nodes[id].parent;
        if (parent >= 0 && !kc.loop_var_used && !kc.sibling_used) {
          const Stmt& loop = *dag_->nodes[parent].stmt;
          auto& d = d_.Error(src_, m.value->span, "E121",
                             "the key of effect " + Quote(s.name) + " is the same for every item of the loop over " +
                                 Quote(std::string(loop.loop().loop_var)));
          d.hints.push_back("mention the loop variable, as in key \"" + std::string(s.name) + "-${" +
                            std::string(loop.loop().loop_var) + "}\"; otherwise only the first item's effect happens");
        }
        if (kc.secret) {
          d_.Warning(src_, m.value->span, "W201", "a secret flows into an idempotency key, which is stored");
        }
        // Two effects whose keys are written alike will have equal keys:
        // at run time the second fails with effect.key_conflict unless it
        // makes the very same request.
        std::string text;
        for (uint32_t i = m.value->span.begin; i < m.value->span.end && i < src_->text().size(); ++i) {
          if (!std::isspace(static_cast<unsigned char>(src_->text()[i]))) text += src_->text()[i];
        }
        auto [prior, fresh] = key_texts_.emplace(text, s.name);
        if (!fresh && prior->second != s.name) {
          auto& d = d_.Warning(src_, m.value->span, "W205",
                               "effects " + Quote(prior->second) + " and " + Quote(s.name) +
                                   " have keys written the same way, so their keys are equal");
          d.hints.push_back("a key names one request: make each effect's key its own");
        }
        break;
      }
      case ModifierKind::kCompensate: {
        Ctx cc = c;
        cc.self_ok = true;
        if (m.call) CheckCall(*m.call, cc, StmtKind::kEffect);
        break;
      }
      case ModifierKind::kDescribe:
        CheckExprAs(m.value, c, Kind::kString, "describe");
        break;
      case ModifierKind::kEscalate:
        if (m.count < 1) d_.Error(src_, m.span, "E110", "escalate after needs at least 1 attempt");
        break;
      default:
        break;
    }
  }
  if (s.kind == StmtKind::kEffect && !s.FindModifier(ModifierKind::kKey)) {
    auto& d = d_.Error(src_, s.name_span, "E120", "effect " + Quote(s.name) + " has no key");
    d.hints.push_back("an effect needs an idempotency key so it never happens twice: add { key \"" +
                      std::string(s.name) + "-${...}\" } naming what makes it unique");
  }
}

void WorkflowChecker::FindCycles() {
  const size_t n = dag_->nodes.size();
  std::vector<uint8_t> color(n, 0);  // 0 new, 1 on the stack, 2 done
  std::vector<std::pair<uint32_t, size_t>> stack;  // node, next dep to visit
  std::set<std::set<uint32_t>> reported;
  for (uint32_t root = 0; root < n; ++root) {
    if (color[root]) continue;
    color[root] = 1;
    stack.emplace_back(root, 0);
    while (!stack.empty()) {
      auto& [u, next] = stack.back();
      const auto& deps = dag_->nodes[u].deps;
      if (next == deps.size()) {
        color[u] = 2;
        stack.pop_back();
        continue;
      }
      const Dep dep = deps[next++];
      const uint32_t v = dep.node;
      if (color[v] == 0) {
        color[v] = 1;
        stack.emplace_back(v, 0);
      } else if (color[v] == 1) {
        ReportCycle(stack, v, reported);
      }
    }
  }
}

void WorkflowChecker::ReportCycle(const std::vector<std::pair<uint32_t, size_t>>& stack, uint32_t v,
                                  std::set<std::set<uint32_t>>& reported) {
  std::vector<uint32_t> path;
  bool on = false;
  for (const auto& [node, next] : stack) {
    if (node == v) on = true;
    if (on) path.push_back(node);
  }
  std::set<uint32_t> key(path.begin(), path.end());
  if (!reported.insert(key).second) return;
  // Start the path at the statement written first.
  auto first = std::min_element(path.begin(), path.end());
  std::rotate(path.begin(), first, path.end());
  std::string text;
  for (uint32_t p : path) text += std::string(dag_->nodes[p].name) + " -> ";
  text += dag_->nodes[path[0]].name;
  // Point at the reference that leaves the first node for the next.
  const uint32_t to = path.size() > 1 ? path[1] : path[0];
  Span at = dag_->nodes[path[0]].stmt->span;
  for (const Dep& d0 : dag_->nodes[path[0]].deps) {
    if (d0.node == to) at = d0.at;
  }
  auto& d = d_.Error(src_, at, "E102", "dependency cycle: " + text);
  d.hints.push_back("statements run when what they refer to is done; remove one of these "
                    "references to break the cycle");
}

bool WorkflowChecker::IsReadStep(const Stmt& s) {
  if (s.kind == StmtKind::kLet) return true;
  if (s.kind != StmtKind::kStep || !s.call) return false;
  const CallTarget k = prog_.Target(*s.call);
  return k.known() && !k.spec->writes;
}

// The lost-update pattern (state.md §1): items of a parallel for that read
// a record of E and upsert E can overwrite each other's changes; a patch
// reads and writes in one step.
void WorkflowChecker::LintParallelUpserts(uint32_t for_node) {
  const Stmt& loop = *dag_->nodes[for_node].stmt;
  if (loop.loop().max_parallel && *loop.loop().max_parallel <= 1) return;
  std::map<const TypeDecl*, const Stmt*> reads;
  std::vector<std::pair<const TypeDecl*, const Stmt*>> upserts;
  std::vector<uint32_t> stack(dag_->Children(for_node).begin(), dag_->Children(for_node).end());
  while (!stack.empty()) {
    const uint32_t n = stack.back();
    stack.pop_back();
    for (uint32_t c : dag_->Children(n)) stack.push_back(c);
    const Stmt& s = *dag_->nodes[n].stmt;
    if (!s.call) continue;
    const CallTarget k = prog_.Target(*s.call);
    if (!k.known() || !k.entity()) continue;
    const CallOp op = k.spec->op;
    if (op == CallOp::kEntityGet || op == CallOp::kEntityList || op == CallOp::kEntityFind ||
        op == CallOp::kEntityResolve) {
      reads.emplace(k.entity(), &s);
    }
    if (op == CallOp::kEntityUpsert) upserts.emplace_back(k.entity(), &s);
  }
  for (const auto& [ent, up] : upserts) {
    auto r = reads.find(ent);
    if (r == reads.end()) continue;
    auto& d = d_.Warning(src_, up->name_span, "W206",
                         "items of this parallel for read " + ent->name + " (" + Quote(r->second->name) +
                             ") and upsert it (" + Quote(up->name) + "): one item can overwrite another's change");
    d.hints.push_back("use " + ent->name + ".patch(key, {field: expr using it}): every change counts; or run the "
                      "items one at a time with max 1");
  }
}

namespace {

// Whether a value of type t has no useful size bound: a list of records,
// maps or lists, a map, or a record holding one or an `any` (a whole HTTP
// response, a model's whole reply). A bare `any` (a field read from JSON)
// and a list of scalars (tags, section titles) are not counted.
bool Unbounded(const TypePtr& t, bool nested) {
  if (!t) return nested;
  switch (t->kind) {
    case Type::Kind::kAny: return nested;
    case Type::Kind::kList:
      return t->elem && (t->elem->kind == Type::Kind::kRecord || t->elem->kind == Type::Kind::kMap ||
                         t->elem->kind == Type::Kind::kList || (nested && t->elem->kind == Type::Kind::kAny));
    case Type::Kind::kMap: return true;
    case Type::Kind::kRecord:
      for (const auto& [name, f] : t->fields) {
        if (Unbounded(f, true)) return true;
      }
      return false;
    default: return false;
  }
}

}  // namespace

void WorkflowChecker::LintShowSize(const Expr& show, const TypePtr& type, Ctx& c) {
  // A map or list written out is as big as what it holds.
  if (show.kind == ExprKind::kMap || show.kind == ExprKind::kList) {
    const size_t from = show.kind == ExprKind::kMap ? 1 : 0, step = show.kind == ExprKind::kMap ? 2 : 1;
    for (size_t i = from; i < show.args().size(); i += step) {
      Ctx quiet = c;
      quiet.report = false;
      LintShowSize(*show.args()[i], CheckExpr(*show.args()[i], quiet), c);
    }
    return;
  }
  if (!Unbounded(type, false)) return;
  auto& d = d_.Warning(src_, show.span, "W207",
                       "this show can exceed 4 KB (" + TypeToString(*type) + "): an approver decides from what is shown");
  d.hints.push_back("show the few fields that matter, or a summary (llm.summarize)");
}

void WorkflowChecker::Lint() {
  for (uint32_t i = 0; i < dag_->nodes.size(); ++i) {
    if (dag_->nodes[i].stmt->kind == StmtKind::kFor) LintParallelUpserts(i);
  }
  // Unused reads.
  for (uint32_t i = 0; i < dag_->nodes.size(); ++i) {
    const Stmt& s = *dag_->nodes[i].stmt;
    if (used_[i] || !IsReadStep(s)) continue;
    auto& d = d_.Warning(src_, s.name_span, "W203",
                         std::string(s.kind == StmtKind::kLet ? "let " : "step ") +
                             Quote(s.name) + " is never used");
    d.hints.push_back("use its result, or remove it");
  }
  // Statically false conditions, and what they skip.
  std::vector<bool> dead(dag_->nodes.size(), false);
  for (uint32_t i = 0; i < dag_->nodes.size(); ++i) {
    const Stmt& s = *dag_->nodes[i].stmt;
    if (!s.when) continue;
    NoNamesEnv env;
    EvalResult r = Evaluate(*s.when, env);
    if (r.ok() && r.value().kind() == ValueKind::kBool && !r.value().as_bool()) {
      dead[i] = true;
      d_.Warning(src_, s.when->span, "W204",
                 Quote(dag_->nodes[i].name) + " never runs: its condition is always false");
    }
  }
  // Skips propagate along hard references (in execution order).
  bool changed = true;
  while (changed) {
    changed = false;
    for (uint32_t i = 0; i < dag_->nodes.size(); ++i) {
      if (dead[i]) continue;
      for (const Dep& dep : dag_->nodes[i].deps) {
        if (dead[dep.node] && !dep.soft) {
          dead[i] = true;
          changed = true;
          const Stmt& s = *dag_->nodes[i].stmt;
          auto& d = d_.Warning(src_, s.name.empty() ? s.span : s.name_span, "W204",
                               Quote(dag_->nodes[i].name) + " never runs: it depends on " +
                                   Quote(dag_->nodes[dep.node].name) + ", which never runs");
          d.hints.push_back("wrap the reference in default(x, fallback) to run anyway");
          break;
        }
      }
    }
  }
}

}  // namespace aos::checking
