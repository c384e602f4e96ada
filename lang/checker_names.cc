#include "lang/workflow_checker.h"

#include <algorithm>
#include <sstream>

#include "lang/regex.h"
#include "lang/spelling.h"

namespace aos::checking {

size_t WorkflowChecker::CountStmts(const std::vector<StmtPtr>& body) {
  size_t n = body.size();
  for (const auto& s : body) n += CountStmts(s->loop().body);
  return n;
}

std::string_view WorkflowChecker::NodeName(const Stmt& s) {
  if (!s.name.empty()) return s.name;
  if (s.kind == StmtKind::kOutput) return "output";
  if (s.kind == StmtKind::kFor) return dag_->made_names.emplace_back("for " + std::string(s.loop().loop_var));
  return dag_->made_names.emplace_back(std::string(StmtKindName(s.kind)) + "@" + Where(src_, s.span));
}

uint32_t WorkflowChecker::AddNode(const Stmt& s, int32_t parent) {
  const uint32_t id = static_cast<uint32_t>(dag_->nodes.size());
  DagNode n;
  n.name = NodeName(s);
  n.stmt = &s;
  n.parent = parent;
  n.type = AnyType();
  dag_->nodes.push_back(std::move(n));
  next_named_.push_back(kNoNode);
  if (!s.name.empty()) {
    auto [same, fresh] = by_name_.try_emplace(s.name, Named{id, id});
    if (!fresh) {
      for (uint32_t other = same->second.first; other != kNoNode; other = next_named_[other]) {
        // A name may be declared once per scope; the same name in two
        // different for bodies is fine only if neither sees the other.
        if (Visible(other, parent)) {
          auto& d = d_.Error(src_, s.name_span, "E101", "duplicate name " + Quote(s.name));
          d.notes.push_back("first declared at " + Where(src_, dag_->nodes[other].stmt->name_span));
          break;
        }
      }
      next_named_[same->second.last] = id;
      same->second.last = id;
    }
    if (params_.count(std::string(s.name))) {
      d_.Error(src_, s.name_span, "E101",
               Quote(s.name) + " is already a parameter of workflow " + Quote(wf_.name));
    }
  }
  if (s.kind == StmtKind::kFor) {
    for (const auto& b : s.loop().body) {
      const uint32_t c = AddNode(*b, static_cast<int32_t>(id));
      dag_->MutableChildren(id).push_back(c);
    }
  }
  return id;
}

bool WorkflowChecker::Visible(uint32_t n, int32_t scope) const {
  const int32_t p = dag_->nodes[n].parent;
  for (int32_t s = scope;; s = dag_->nodes[s].parent) {
    if (p == s) return true;
    if (s < 0) return false;
  }
}

bool WorkflowChecker::InChain(int32_t s, int32_t scope) const {
  for (int32_t x = scope; x >= 0; x = dag_->nodes[x].parent) {
    if (x == s) return true;
  }
  return false;
}

bool WorkflowChecker::Encloses(int32_t outer, uint32_t n) const {
  for (int32_t s = dag_->nodes[n].parent; s >= 0; s = dag_->nodes[s].parent) {
    if (s == outer) return true;
  }
  return false;
}

void WorkflowChecker::AddDep(Ctx& c, uint32_t target, Span at) {
  if (!c.report) return;
  used_[target] = true;
  const uint32_t self = c.node;
  if (target == self || Encloses(static_cast<int32_t>(target), self)) {
    if (c.self_ok && target == self) return;
    auto& d = d_.Error(src_, at, "E102",
                       "dependency cycle: " + std::string(dag_->nodes[self].name) + " -> " +
                           std::string(dag_->nodes[self].name));
    d.hints.push_back("a statement cannot use its own result");
    return;
  }
  // The reference holds between the outermost ancestors that are siblings.
  auto add = [&](uint32_t from, uint32_t to) {
    auto& deps = dag_->nodes[from].deps;
    for (auto& dep : deps) {
      if (dep.node == to) {
        dep.soft = dep.soft && c.soft;
        return;
      }
    }
    deps.push_back(Dep{to, c.soft, at});
  };
  // Lift target to the ancestor whose parent encloses self (or is top).
  uint32_t to = target;
  while (dag_->nodes[to].parent >= 0 &&
         !Visible(to, dag_->nodes[self].parent)) {
    to = static_cast<uint32_t>(dag_->nodes[to].parent);
  }
  add(self, to);
  // Every for that holds self but not `to` waits for `to` as well.
  for (int32_t s = dag_->nodes[self].parent; s >= 0; s = dag_->nodes[s].parent) {
    if (dag_->nodes[to].parent == s) break;
    if (static_cast<uint32_t>(s) != to) add(static_cast<uint32_t>(s), to);
  }
  if (dag_->nodes[to].parent == dag_->nodes[self].parent && dag_->nodes[self].parent >= 0) {
    c.sibling_used = true;
  }
}

int32_t WorkflowChecker::LoopVarFor(std::string_view name, int32_t scope) const {
  for (int32_t s = scope; s >= 0; s = dag_->nodes[s].parent) {
    if (dag_->nodes[s].stmt->loop().loop_var == name) return s;
  }
  return -1;
}

std::vector<std::string> WorkflowChecker::VisibleNames(const Ctx& c) const {
  std::vector<std::string> names;
  for (const auto& l : c.locals) names.push_back(l.first);
  for (int32_t s = dag_->nodes[c.node].parent; s >= 0; s = dag_->nodes[s].parent) {
    names.emplace_back(dag_->nodes[s].stmt->loop().loop_var);
  }
  const size_t statements = names.size();
  for (const auto& [name, ids] : by_name_) names.emplace_back(name);
  std::sort(names.begin() + static_cast<std::ptrdiff_t>(statements), names.end());  // hints stay stable
  for (const auto& [name, f] : params_) names.push_back(name);
  return names;
}

TypePtr WorkflowChecker::ResolveIdent(const Expr& e, Ctx& c) {
  const std::string n(e.name());
  for (auto it = c.locals.rbegin(); it != c.locals.rend(); ++it) {
    if (it->first == n) return it->second;
  }
  const int32_t scope = dag_->nodes[c.node].parent;
  const int32_t f = LoopVarFor(n, scope);
  if (f >= 0) {
    if (f == scope) c.loop_var_used = true;
    return LoopVarType(static_cast<uint32_t>(f));
  }
  auto it = by_name_.find(n);
  if (it != by_name_.end()) {
    // Prefer the declaration in the closest scope.
    int32_t best = -2;
    uint32_t best_id = it->second.first;
    ForEachNamed(it->second, [&](uint32_t id) {
      if (Visible(id, scope)) {
        if (dag_->nodes[id].parent > best) {
          best = dag_->nodes[id].parent;
          best_id = id;
        }
      }
    });
    if (best == -2) {
      // Declared inside a for body that does not enclose us: after the
      // loop, the name is the list of the instances' results.
      const uint32_t id = it->second.first;
      AddDep(c, id, e.span);
      TypePtr t = TypeOfNode(id);
      for (int32_t s = dag_->nodes[id].parent; s >= 0 && !InChain(s, scope);
           s = dag_->nodes[s].parent) {
        t = ListOf(t);
      }
      return t;
    }
    AddDep(c, best_id, e.span);
    if (dag_->nodes[best_id].secret) c.secret = true;
    return TypeOfNode(best_id);
  }
  auto p = params_.find(n);
  if (p != params_.end()) return p->second;
  if (n == "int" || n == "uint" || n == "double" || n == "string" || n == "bool" ||
      n == "bytes" || n == "list" || n == "map" || n == "null_type" || n == "type" ||
      n == "timestamp" || n == "duration" || n == "money") {
    return ScalarType(Kind::kType);
  }
  if (c.report) {
    // A loop variable used outside its loop?
    for (const auto& node : dag_->nodes) {
      if (node.stmt->kind == StmtKind::kFor && node.stmt->loop().loop_var == n) {
        auto& d = d_.Error(src_, e.span, "E103",
                           Quote(n) + " is the variable of the for loop at " +
                               Where(src_, node.stmt->span) +
                               " and exists only inside its body");
        d.hints.push_back("after the loop, the body's statement names are lists of "
                          "the results, in item order");
        return AnyType();
      }
    }
    std::string what = "unknown name " + Quote(n);
    if (prog_.connectors.count(n) || prog_.agents.count(n) || prog_.types.count(n)) {
      what = Quote(n) + " is a declaration, not a value";
    }
    auto& d = d_.Error(src_, e.span, "E100", what);
    const auto names = VisibleNames(c);
    AddDidYouMean(d, n, names);
    // The statement the user most likely meant is not "unused".
    if (auto m = ClosestMatch(n, names)) {
      if (auto hit = by_name_.find(*m); hit != by_name_.end()) {
        ForEachNamed(hit->second, [&](uint32_t id) { used_[id] = true; });
      }
    }
  }
  return AnyType();
}

TypePtr WorkflowChecker::LoopVarType(uint32_t f) {
  auto it = loop_types_.find(f);
  if (it != loop_types_.end()) return it->second;
  loop_types_[f] = AnyType();  // against self-reference
  Ctx c;
  c.node = f;
  c.report = false;
  TypePtr t = dag_->nodes[f].stmt->value ? CheckExpr(*dag_->nodes[f].stmt->value, c) : AnyType();
  TypePtr elem = AnyType();
  if (!IsAny(t) && t->kind == Kind::kList) elem = t->elem;
  if (!IsAny(t) && t->kind == Kind::kMap) elem = t->key;
  loop_types_[f] = elem;
  return elem;
}

}  // namespace aos::checking
