#include "lang/checker.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "lang/check_common.h"
#include "lang/decl_checker.h"
#include "lang/eval.h"
#include "lang/parser.h"
#include "lang/regex.h"
#include "lang/spelling.h"
#include "lang/trigger_check.h"

namespace aos {
namespace {

using namespace checking;

using Kind = Type::Kind;

// ------------------------------------------------------------ built-in calls

// The shape of a call's arguments: how many positional ones, which named ones.
struct Signature {
  size_t min_positional = 0;
  size_t max_positional = 0;
  std::vector<std::string> named;     // allowed
  std::vector<std::string> required;  // required named
  // What a named argument must be, where that is known: "string",
  // "addresses" (a string or a list of strings), "int", "number", "duration".
  std::map<std::string, std::string> types = {};
};

// Whether an argument of type t fits `want` (a Signature type); any fits.
bool ArgFits(const Type& t, const std::string& want) {
  using K = Type::Kind;
  if (t.kind == K::kAny || t.kind == K::kNull) return true;
  if (want == "string") return t.kind == K::kString;
  if (want == "addresses") return t.kind == K::kString || t.kind == K::kList;
  if (want == "int") return t.kind == K::kInt || t.kind == K::kUint;
  if (want == "number") return t.kind == K::kInt || t.kind == K::kUint || t.kind == K::kDouble;
  if (want == "duration") return t.kind == K::kDuration;
  return true;
}

const std::vector<std::string>& HttpMethods() {
  static const std::vector<std::string> m = {"get", "post", "put", "patch", "delete"};
  return m;
}

const Signature& HttpSignature() {
  static const Signature s{1, 1, {"json", "body", "headers", "query", "timeout"}, {}};
  return s;
}

TypePtr HttpResultType() {
  static const TypePtr t = RecordType(
      "http response", {{"status", ScalarType(Kind::kInt)},
                        {"headers", MapOf(ScalarType(Kind::kString), ScalarType(Kind::kString))},
                        {"body", ScalarType(Kind::kString)},
                        {"json", AnyType()}});
  return t;
}

TypePtr ModelResultType(TypePtr data) {
  return RecordType("model reply", {{"text", ScalarType(Kind::kString)},
                                    {"data", data ? data : AnyType()},
                                    {"model", ScalarType(Kind::kString)},
                                    {"tokens_in", ScalarType(Kind::kInt)},
                                    {"tokens_out", ScalarType(Kind::kInt)},
                                    {"cost", ScalarType(Kind::kMoney)}});
}

TypePtr ApprovalResultType(TypePtr data) {
  return RecordType("approval decision", {{"approved", ScalarType(Kind::kBool)},
                                          {"by", ScalarType(Kind::kString)},
                                          {"at", ScalarType(Kind::kTime)},
                                          {"comment", ScalarType(Kind::kString)},
                                          {"data", data ? data : AnyType()}});
}

bool IsMacro(std::string_view n) {
  return n == "all" || n == "exists" || n == "exists_one" || n == "map" || n == "filter";
}

// The result type of a built-in expression function, given its (receiver
// first) argument types; null if `name` is not one.
TypePtr BuiltinResult(std::string_view name, const std::vector<TypePtr>& args) {
  auto first = [&]() { return args.empty() ? AnyType() : args[0]; };
  auto elem_of_first = [&]() {
    TypePtr f = first();
    if (args.size() == 1 && !IsAny(f) && f->kind == Kind::kList) return f->elem;
    return args.size() > 1 ? args[0] : AnyType();
  };
  if (name == "size") return ScalarType(Kind::kInt);
  if (name == "contains" || name == "startsWith" || name == "endsWith" ||
      name == "matches") {
    return ScalarType(Kind::kBool);
  }
  if (name == "int") return ScalarType(Kind::kInt);
  if (name == "uint") return ScalarType(Kind::kUint);
  if (name == "double") return ScalarType(Kind::kDouble);
  if (name == "string" || name == "lower" || name == "upper" || name == "trim" || name == "format_time" ||
      name == "replace" || name == "format" || name == "json_encode" || name == "join" ||
      name == "bearer" || name == "basic" || name == "uuid" || name == "env" ||
      name == "secret") {
    return ScalarType(Kind::kString);
  }
  if (name == "bool") return ScalarType(Kind::kBool);
  if (name == "bytes") return ScalarType(Kind::kBytes);
  if (name == "type") return ScalarType(Kind::kType);
  if (name == "timestamp" || name == "now") return ScalarType(Kind::kTime);
  if (name == "duration") return ScalarType(Kind::kDuration);
  if (name == "split") return ListOf(ScalarType(Kind::kString));
  if (name == "json_decode") return AnyType();
  if (name == "sum" || name == "min" || name == "max") return elem_of_first();
  if (name == "sort") return first();
  if (name == "keys") {
    TypePtr f = first();
    return ListOf(!IsAny(f) && f->kind == Kind::kMap ? f->key : AnyType());
  }
  if (name == "values") {
    TypePtr f = first();
    return ListOf(!IsAny(f) && f->kind == Kind::kMap ? f->elem : AnyType());
  }
  return nullptr;
}

bool Same(const TypePtr& a, const TypePtr& b) {
  return !IsAny(a) && !IsAny(b) && a->kind == b->kind;
}

// Glob match where '*' matches any run of characters but '/'.
bool GlobMatch(std::string_view pat, std::string_view s) {
  if (pat.empty()) return s.empty();
  if (pat[0] == '*') {
    for (size_t i = 0; i <= s.size(); ++i) {
      if (GlobMatch(pat.substr(1), s.substr(i))) return true;
      if (i < s.size() && s[i] == '/') break;
    }
    return false;
  }
  return !s.empty() && pat[0] == s[0] && GlobMatch(pat.substr(1), s.substr(1));
}

// An Env for constant folding: every name is unknown.
class NoNamesEnv : public Env {
 public:
  Lookup Find(std::string_view, Value*) const override { return Lookup::kUnknown; }
};

// ------------------------------------------------------------ the checker

class WorkflowChecker {
 public:
  WorkflowChecker(Program& prog, const SourceFile* src, const WorkflowDecl& wf,
                  const CheckOptions& opts, Diagnostics& diags)
      : prog_(prog), src_(src), wf_(wf), opts_(opts), d_(diags) {}

  // An expression of no workflow (wf_ is a synthetic one whose parameters
  // are the bound names): its type, errors reported. `want`: see
  // CheckBoundExpr.
  std::string CheckAlone(const Expr& e, const TypeRef* want) {
    dag_ = std::make_unique<Dag>();
    dag_->workflow = &wf_;
    dag_->source = src_;
    CheckParams();
    // One node stands for the expression's place (names resolve from it).
    Stmt place;
    place.kind = StmtKind::kOutput;
    DagNode n;
    n.name = wf_.name;
    n.stmt = &place;
    n.type = AnyType();
    dag_->nodes.push_back(std::move(n));
    type_state_.assign(1, 0);
    used_.assign(1, false);
    Ctx c;
    TypePtr t = CheckExpr(e, c);
    if (!want) return "";
    TypePtr w = ResolveType(want);
    if (IsAny(t) || IsAny(w) || Assignable(*t, *w)) return "";
    return "is " + TypeToString(*t) + ", but it is passed where " + TypeToString(*w) + " is declared";
  }

  std::unique_ptr<Dag> Run() {
    dag_ = std::make_unique<Dag>();
    dag_->workflow = &wf_;
    dag_->source = src_;
    CheckParams();
    CheckSettings();
    dag_->nodes.reserve(CountStmts(wf_.body));
    for (const auto& s : wf_.body) AddNode(*s, -1);
    type_state_.assign(dag_->nodes.size(), 0);
    used_.assign(dag_->nodes.size(), false);
    for (uint32_t i = 0; i < dag_->nodes.size(); ++i) CheckNode(i);
    FindCycles();
    OrderDag(*dag_);
    Lint();
    return std::move(dag_);
  }

 private:
  struct Ctx {
    uint32_t node = 0;
    bool report = true;     // silent when only inferring a type
    bool soft = false;      // inside default()/coalesce()
    bool self_ok = false;   // in an effect's compensate: its own name is fine
    std::vector<std::pair<std::string, TypePtr>> locals;  // macro variables
    bool loop_var_used = false;  // the innermost loop variable was referenced
    bool sibling_used = false;   // a statement of the same for body was referenced
    bool secret = false;         // a secret flows into the value
  };

  // ---------------------------------------------------------------- nodes
  static size_t CountStmts(const std::vector<StmtPtr>& body) {
    size_t n = body.size();
    for (const auto& s : body) n += CountStmts(s->body);
    return n;
  }

  std::string NodeName(const Stmt& s) {
    if (!s.name.empty()) return s.name;
    if (s.kind == StmtKind::kOutput) return "output";
    if (s.kind == StmtKind::kFor) return "for " + s.loop_var;
    return std::string(StmtKindName(s.kind)) + "@" + Where(src_, s.span);
  }

  uint32_t AddNode(const Stmt& s, int32_t parent) {
    const uint32_t id = static_cast<uint32_t>(dag_->nodes.size());
    DagNode n;
    n.name = NodeName(s);
    n.stmt = &s;
    n.parent = parent;
    n.type = AnyType();
    dag_->nodes.push_back(std::move(n));
    if (!s.name.empty()) {
      auto& same = by_name_[s.name];
      for (uint32_t other : same) {
        // A name may be declared once per scope; the same name in two
        // different for bodies is fine only if neither sees the other.
        if (Visible(other, parent)) {
          auto& d = d_.Error(src_, s.name_span, "E101", "duplicate name " + Quote(s.name));
          d.notes.push_back("first declared at " + Where(src_, dag_->nodes[other].stmt->name_span));
          break;
        }
      }
      if (params_.count(s.name)) {
        d_.Error(src_, s.name_span, "E101",
                 Quote(s.name) + " is already a parameter of workflow " + Quote(wf_.name));
      }
      same.push_back(id);
    }
    if (s.kind == StmtKind::kFor) {
      for (const auto& b : s.body) {
        const uint32_t c = AddNode(*b, static_cast<int32_t>(id));
        dag_->nodes[id].children.push_back(c);
      }
    }
    return id;
  }

  // Whether node `n` is declared in scope `scope` or one enclosing it.
  bool Visible(uint32_t n, int32_t scope) const {
    const int32_t p = dag_->nodes[n].parent;
    for (int32_t s = scope;; s = dag_->nodes[s].parent) {
      if (p == s) return true;
      if (s < 0) return false;
    }
  }

  // Whether `s` is `scope` or one of the for nodes enclosing it.
  bool InChain(int32_t s, int32_t scope) const {
    for (int32_t x = scope; x >= 0; x = dag_->nodes[x].parent) {
      if (x == s) return true;
    }
    return false;
  }

  bool Encloses(int32_t outer, uint32_t n) const {
    for (int32_t s = dag_->nodes[n].parent; s >= 0; s = dag_->nodes[s].parent) {
      if (s == outer) return true;
    }
    return false;
  }

  void AddDep(Ctx& c, uint32_t target, Span at) {
    if (!c.report) return;
    used_[target] = true;
    const uint32_t self = c.node;
    if (target == self || Encloses(static_cast<int32_t>(target), self)) {
      if (c.self_ok && target == self) return;
      auto& d = d_.Error(src_, at, "E102",
                         "dependency cycle: " + dag_->nodes[self].name + " -> " +
                             dag_->nodes[self].name);
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

  // ---------------------------------------------------------------- types
  TypePtr ResolveType(const TypeRef* t) {
    if (!t) return AnyType();
    TypePtr r;
    const std::string& n = t->name;
    if (n == "string") r = ScalarType(Kind::kString);
    else if (n == "int") r = ScalarType(Kind::kInt);
    else if (n == "uint") r = ScalarType(Kind::kUint);
    else if (n == "double") r = ScalarType(Kind::kDouble);
    else if (n == "bool") r = ScalarType(Kind::kBool);
    else if (n == "bytes") r = ScalarType(Kind::kBytes);
    else if (n == "time" || n == "timestamp") r = ScalarType(Kind::kTime);
    else if (n == "duration") r = ScalarType(Kind::kDuration);
    else if (n == "money") r = ScalarType(Kind::kMoney);
    else if (n == "any") r = AnyType();
    else if (n == "list") r = ListOf(t->params.empty() ? AnyType() : ResolveType(t->params[0].get()));
    else if (n == "map") {
      r = MapOf(t->params.size() > 0 ? ResolveType(t->params[0].get()) : AnyType(),
                t->params.size() > 1 ? ResolveType(t->params[1].get()) : AnyType());
    } else {
      r = DeclaredType(n);
      if (!r) {
        auto& d = d_.Error(src_, t->span, "E104", "unknown type " + Quote(n));
        std::vector<std::string> names = ScalarTypeNames();
        for (const auto& [k, v] : prog_.types) names.push_back(k);
        AddDidYouMean(d, n, names);
        r = AnyType();
      }
    }
    return t->optional ? OptionalOf(r) : r;
  }

  TypePtr DeclaredType(const std::string& name) {
    auto it = prog_.types.find(name);
    if (it == prog_.types.end()) return nullptr;
    auto cached = record_types_.find(name);
    if (cached != record_types_.end()) return cached->second;
    // Insert a placeholder first so that recursive types terminate.
    auto t = std::make_shared<Type>();
    t->kind = Kind::kRecord;
    t->name = name;
    record_types_[name] = t;
    for (const auto& f : it->second->fields) {
      t->fields.emplace_back(f.name, ResolveTypeQuiet(f.type.get()));
    }
    return t;
  }

  // Field types of declarations are reported by CheckDecls; here unknown
  // names are just `any`.
  TypePtr ResolveTypeQuiet(const TypeRef* t) {
    const size_t before = d_.all().size();
    TypePtr r = ResolveType(t);
    d_.all().resize(before);
    return r;
  }

  TypePtr TypeOfNode(uint32_t n) {
    if (type_state_[n] == 2) return dag_->nodes[n].type;
    if (type_state_[n] == 1) return AnyType();  // a cycle; reported elsewhere
    type_state_[n] = 1;
    const Stmt& s = *dag_->nodes[n].stmt;
    TypePtr t = AnyType();
    Ctx c;
    c.node = n;
    c.report = false;
    switch (s.kind) {
      case StmtKind::kStep:
      case StmtKind::kEffect:
        if (s.call) t = CheckCall(*s.call, c, s.kind);
        break;
      case StmtKind::kLet:
        if (s.value) t = CheckExpr(*s.value, c);
        dag_->nodes[n].secret = c.secret;
        break;
      case StmtKind::kApproval:
        t = ApprovalResultType(s.returns ? ResolveTypeQuiet(s.returns.get()) : AnyType());
        break;
      case StmtKind::kSignal:
        t = RecordType("signal", {{"data", AnyType()}, {"at", ScalarType(Kind::kTime)}});
        break;
      case StmtKind::kWait:
        t = RecordType("timer", {{"at", ScalarType(Kind::kTime)}});
        break;
      default:
        t = ScalarType(Kind::kNull);
        break;
    }
    dag_->nodes[n].type = t;
    type_state_[n] = 2;
    return t;
  }

  // ---------------------------------------------------------------- names
  // The for node whose loop variable is `name`, enclosing scope `scope`.
  int32_t LoopVarFor(std::string_view name, int32_t scope) const {
    for (int32_t s = scope; s >= 0; s = dag_->nodes[s].parent) {
      if (dag_->nodes[s].stmt->loop_var == name) return s;
    }
    return -1;
  }

  std::vector<std::string> VisibleNames(const Ctx& c) const {
    std::vector<std::string> names;
    for (const auto& l : c.locals) names.push_back(l.first);
    for (int32_t s = dag_->nodes[c.node].parent; s >= 0; s = dag_->nodes[s].parent) {
      names.push_back(dag_->nodes[s].stmt->loop_var);
    }
    const size_t statements = names.size();
    for (const auto& [name, ids] : by_name_) names.push_back(name);
    std::sort(names.begin() + static_cast<std::ptrdiff_t>(statements), names.end());  // hints stay stable
    for (const auto& [name, f] : params_) names.push_back(name);
    return names;
  }

  TypePtr ResolveIdent(const Expr& e, Ctx& c) {
    const std::string& n = e.name;
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
      uint32_t best_id = it->second.front();
      for (uint32_t id : it->second) {
        if (Visible(id, scope)) {
          if (dag_->nodes[id].parent > best) {
            best = dag_->nodes[id].parent;
            best_id = id;
          }
        }
      }
      if (best == -2) {
        // Declared inside a for body that does not enclose us: after the
        // loop, the name is the list of the instances' results.
        const uint32_t id = it->second.front();
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
        if (node.stmt->kind == StmtKind::kFor && node.stmt->loop_var == n) {
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
          for (uint32_t id : hit->second) used_[id] = true;
        }
      }
    }
    return AnyType();
  }

  TypePtr LoopVarType(uint32_t f) {
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

  // ---------------------------------------------------------------- exprs
  void TypeError(Ctx& c, Span s, std::string msg, std::string hint = "") {
    if (!c.report) return;
    auto& d = d_.Error(src_, s, "E110", std::move(msg));
    if (!hint.empty()) d.hints.push_back(std::move(hint));
  }

  void Expect(Ctx& c, const Expr& e, const TypePtr& t, Kind want, const char* what) {
    if (IsAny(t) || t->kind == want) return;
    TypeError(c, e.span,
              std::string(what) + " must be " + TypeToString(*ScalarType(want)) + ", not " +
                  TypeToString(*t));
  }

  TypePtr LiteralType(const Value& v) {
    switch (v.kind()) {
      case ValueKind::kNull: return ScalarType(Kind::kNull);
      case ValueKind::kBool: return ScalarType(Kind::kBool);
      case ValueKind::kInt: return ScalarType(Kind::kInt);
      case ValueKind::kUint: return ScalarType(Kind::kUint);
      case ValueKind::kDouble: return ScalarType(Kind::kDouble);
      case ValueKind::kString: return ScalarType(Kind::kString);
      case ValueKind::kBytes: return ScalarType(Kind::kBytes);
      case ValueKind::kTimestamp: return ScalarType(Kind::kTime);
      case ValueKind::kDuration: return ScalarType(Kind::kDuration);
      case ValueKind::kMoney: return ScalarType(Kind::kMoney);
      default: return AnyType();
    }
  }

  TypePtr CheckExpr(const Expr& e, Ctx& c) {
    switch (e.kind) {
      case ExprKind::kLiteral:
        return LiteralType(e.literal);
      case ExprKind::kIdent:
        return ResolveIdent(e, c);
      case ExprKind::kMember:
        return CheckMember(e, CheckExpr(*e.args[0], c), c);
      case ExprKind::kIndex: {
        TypePtr t = CheckExpr(*e.args[0], c);
        TypePtr i = CheckExpr(*e.args[1], c);
        if (IsAny(t)) return AnyType();
        if (t->kind == Kind::kList) {
          if (!IsAny(i) && i->kind != Kind::kInt && i->kind != Kind::kUint) {
            TypeError(c, e.args[1]->span, "a list index must be int, not " + TypeToString(*i));
          }
          return t->elem;
        }
        if (t->kind == Kind::kMap) return t->elem;
        if (t->kind == Kind::kRecord) return AnyType();
        TypeError(c, e.span, "cannot index a value of type " + TypeToString(*t));
        return AnyType();
      }
      case ExprKind::kCall:
        return CheckExprCall(e, c);
      case ExprKind::kUnary: {
        TypePtr t = CheckExpr(*e.args[0], c);
        if (IsAny(t)) return t;
        if (e.name == "!") {
          if (t->kind != Kind::kBool) {
            TypeError(c, e.span, "no such overload: !" + TypeToString(*t));
          }
          return ScalarType(Kind::kBool);
        }
        if (t->kind == Kind::kInt || t->kind == Kind::kDouble || t->kind == Kind::kDuration ||
            t->kind == Kind::kMoney) {
          return t;
        }
        TypeError(c, e.span, "no such overload: -" + TypeToString(*t));
        return AnyType();
      }
      case ExprKind::kBinary:
        return CheckBinary(e, c);
      case ExprKind::kCond: {
        TypePtr cond = CheckExpr(*e.args[0], c);
        Expect(c, *e.args[0], cond, Kind::kBool, "the condition of ?:");
        TypePtr a = CheckExpr(*e.args[1], c);
        TypePtr b = CheckExpr(*e.args[2], c);
        if (Same(a, b)) return a;
        if (!IsAny(a) && !IsAny(b) && b->kind == Kind::kNull) return OptionalOf(a);
        return AnyType();
      }
      case ExprKind::kList: {
        TypePtr elem;
        bool mixed = false;
        for (const auto& a : e.args) {
          TypePtr t = CheckExpr(*a, c);
          if (!elem) elem = t;
          else if (!Same(elem, t)) mixed = true;
        }
        return ListOf(mixed || !elem ? AnyType() : elem);
      }
      case ExprKind::kMap: {
        TypePtr val;
        bool mixed = false;
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
          TypePtr k = CheckExpr(*e.args[i], c);
          if (!IsAny(k) && k->kind != Kind::kString && k->kind != Kind::kInt &&
              k->kind != Kind::kUint && k->kind != Kind::kBool) {
            TypeError(c, e.args[i]->span,
                      "map keys must be string, int, uint or bool, not " + TypeToString(*k));
          }
          TypePtr v = CheckExpr(*e.args[i + 1], c);
          if (!val) val = v;
          else if (!Same(val, v)) mixed = true;
        }
        return MapOf(ScalarType(Kind::kString), mixed || !val ? AnyType() : val);
      }
      case ExprKind::kInterp:
        for (const auto& a : e.args) CheckExpr(*a, c);
        return ScalarType(Kind::kString);
    }
    return AnyType();
  }

  TypePtr CheckMember(const Expr& e, const TypePtr& obj, Ctx& c) {
    if (IsAny(obj)) return AnyType();
    if (obj->kind == Kind::kMap) return obj->elem;
    if (obj->kind == Kind::kRecord) {
      if (TypePtr f = FieldOf(*obj, e.name)) return f;
      if (c.report) {
        auto& d = d_.Error(src_, Span{e.span.end - static_cast<uint32_t>(e.name.size()), e.span.end},
                           "E107", "no field " + Quote(e.name) + " in " + TypeToString(*obj));
        std::vector<std::string> names;
        for (const auto& f : obj->fields) names.push_back(f.first);
        AddDidYouMean(d, e.name, names);
        if (d.hints.empty() && !names.empty()) {
          std::string list;
          for (size_t i = 0; i < names.size(); ++i) list += (i ? ", " : "") + names[i];
          d.hints.push_back("its fields are " + list);
        }
      }
      return AnyType();
    }
    TypeError(c, e.span, "a value of type " + TypeToString(*obj) + " has no fields");
    return AnyType();
  }

  TypePtr CheckBinary(const Expr& e, Ctx& c) {
    const std::string& op = e.name;
    TypePtr a = CheckExpr(*e.args[0], c);
    TypePtr b = CheckExpr(*e.args[1], c);
    auto overload = [&]() {
      std::string hint;
      if (IsNumeric(*a) && IsNumeric(*b)) {
        hint = "numbers are not converted implicitly: write double(x), int(x) or uint(x)";
      }
      TypeError(c, e.span,
                "no such overload: " + TypeToString(*a) + " " + op + " " + TypeToString(*b), hint);
      return AnyType();
    };
    if (op == "&&" || op == "||") {
      Expect(c, *e.args[0], a, Kind::kBool, ("the left operand of " + op).c_str());
      Expect(c, *e.args[1], b, Kind::kBool, ("the right operand of " + op).c_str());
      return ScalarType(Kind::kBool);
    }
    if (op == "==" || op == "!=") return ScalarType(Kind::kBool);
    if (op == "in") {
      if (!IsAny(b) && b->kind != Kind::kList && b->kind != Kind::kMap) overload();
      return ScalarType(Kind::kBool);
    }
    if (IsAny(a) || IsAny(b)) {
      // One side is unknown: nothing to check, and the result is unknown too
      // (time - x may be a time or a duration, money * x is money or worse).
      if (op == "<" || op == "<=" || op == ">" || op == ">=") return ScalarType(Kind::kBool);
      return AnyType();
    }
    const Kind ka = a->kind, kb = b->kind;
    if (op == "<" || op == "<=" || op == ">" || op == ">=") {
      if (IsNumeric(*a) && IsNumeric(*b)) return ScalarType(Kind::kBool);
      if (ka == kb && (ka == Kind::kString || ka == Kind::kTime || ka == Kind::kDuration ||
                       ka == Kind::kMoney || ka == Kind::kBool || ka == Kind::kBytes)) {
        return ScalarType(Kind::kBool);
      }
      overload();
      return ScalarType(Kind::kBool);
    }
    if (op == "+") {
      if (ka == kb && (IsNumeric(*a) || ka == Kind::kString || ka == Kind::kList ||
                       ka == Kind::kBytes || ka == Kind::kDuration || ka == Kind::kMoney)) {
        return ka == Kind::kList ? (Same(a->elem, b->elem) ? a : ListOf(AnyType())) : a;
      }
      if ((ka == Kind::kTime && kb == Kind::kDuration) ||
          (ka == Kind::kDuration && kb == Kind::kTime)) {
        return ScalarType(Kind::kTime);
      }
      return overload();
    }
    if (op == "-") {
      if (ka == kb && (IsNumeric(*a) || ka == Kind::kDuration || ka == Kind::kMoney)) return a;
      if (ka == Kind::kTime && kb == Kind::kTime) return ScalarType(Kind::kDuration);
      if (ka == Kind::kTime && kb == Kind::kDuration) return ScalarType(Kind::kTime);
      return overload();
    }
    if (op == "*") {
      if (ka == kb && IsNumeric(*a)) return a;
      if (ka == Kind::kMoney && (kb == Kind::kInt || kb == Kind::kDouble)) return a;
      if (kb == Kind::kMoney && (ka == Kind::kInt || ka == Kind::kDouble)) return b;
      return overload();
    }
    if (op == "/") {
      if (ka == kb && IsNumeric(*a)) return a;
      if (ka == Kind::kMoney && (kb == Kind::kInt || kb == Kind::kDouble)) return a;
      return overload();
    }
    if (op == "%") {
      if (ka == kb && (ka == Kind::kInt || ka == Kind::kUint)) return a;
      return overload();
    }
    return AnyType();
  }

  TypePtr CheckExprCall(const Expr& e, Ctx& c) {
    const std::string& n = e.name;
    // Macros: the first argument is the variable.
    if (e.has_receiver && IsMacro(n) && e.args.size() >= 3 &&
        e.args[1]->kind == ExprKind::kIdent) {
      TypePtr coll = CheckExpr(*e.args[0], c);
      TypePtr var = AnyType();
      if (!IsAny(coll)) {
        if (coll->kind == Kind::kList) var = coll->elem;
        else if (coll->kind == Kind::kMap) var = coll->key;
        else TypeError(c, e.args[0]->span, n + "() needs a list or a map, not " + TypeToString(*coll));
      }
      c.locals.emplace_back(e.args[1]->name, var);
      TypePtr last;
      for (size_t i = 2; i < e.args.size(); ++i) {
        last = CheckExpr(*e.args[i], c);
        if (n != "map" || i + 1 < e.args.size()) {
          Expect(c, *e.args[i], last, Kind::kBool, ("the predicate of " + n + "()").c_str());
        }
      }
      c.locals.pop_back();
      if (n == "filter") return IsAny(coll) || coll->kind != Kind::kList ? ListOf(var) : coll;
      if (n == "map") return ListOf(last);
      return ScalarType(Kind::kBool);
    }
    if (e.has_receiver && IsMacro(n)) {
      TypeError(c, e.span, n + "() takes a variable name and an expression, as in l." + n +
                               "(x, x > 0)");
    }
    if (!e.has_receiver && n == "has") {
      if (e.args.size() != 1 || e.args[0]->kind != ExprKind::kMember) {
        TypeError(c, e.span, "has() takes one field selection, as in has(a.b)");
        return ScalarType(Kind::kBool);
      }
      TypePtr obj = CheckExpr(*e.args[0]->args[0], c);
      if (!IsAny(obj) && obj->kind != Kind::kMap && obj->kind != Kind::kRecord) {
        TypeError(c, e.args[0]->span, "has() needs a map or a record, not " + TypeToString(*obj));
      }
      return ScalarType(Kind::kBool);
    }
    const bool soft = n == "default" || n == "coalesce";
    const bool was_soft = c.soft;
    if (soft) c.soft = true;
    std::vector<TypePtr> args;
    for (const auto& a : e.args) args.push_back(CheckExpr(*a, c));
    c.soft = was_soft;
    if (!e.has_receiver && n == "secret") c.secret = true;
    if (soft) {
      if (args.size() < 2) TypeError(c, e.span, n + "() takes at least two arguments");
      for (const auto& t : args) {
        if (!IsAny(t) && t->kind != Kind::kNull) {
          auto plain = std::make_shared<Type>(*t);
          plain->optional = false;
          return plain;
        }
      }
      return AnyType();
    }
    if (!e.has_receiver && (n == "env" || n == "secret")) {
      if (e.args.size() != 1 || e.args[0]->kind != ExprKind::kLiteral ||
          e.args[0]->literal.kind() != ValueKind::kString) {
        TypeError(c, e.span, n + "() takes one quoted name, as in " + n + "(\"API_TOKEN\")");
      }
      return ScalarType(Kind::kString);
    }
    TypePtr r = BuiltinResult(n, args);
    if (!r) {
      if (c.report) {
        auto& d = d_.Error(src_, e.span, "E105", "unknown function " + Quote(n));
        std::vector<std::string> names;
        for (auto f : BuiltinFunctionNames()) names.emplace_back(f);
        AddDidYouMean(d, n, names);
      }
      return AnyType();
    }
    if (n == "size" && !args.empty() && !IsAny(args[0])) {
      const Kind k = args[0]->kind;
      if (k != Kind::kString && k != Kind::kList && k != Kind::kMap && k != Kind::kBytes) {
        TypeError(c, e.args[0]->span, "no such overload: size(" + TypeToString(*args[0]) + ")");
      }
    }
    if (n == "matches" && c.report && e.args.size() == 2 && e.args[1]->kind == ExprKind::kLiteral &&
        e.args[1]->literal.kind() == ValueKind::kString) {
      std::string why;
      if (!Regex::Compile(e.args[1]->literal.as_string(), &why)) {
        auto& d = d_.Error(src_, e.args[1]->span, "E112", "invalid regular expression: " + why);
        d.hints.push_back("matches() takes RE2 syntax (no backreferences or lookaround)");
      }
    }
    if ((n == "lower" || n == "upper" || n == "trim" || n == "startsWith" ||
         n == "endsWith" || n == "matches" || n == "split") &&
        !args.empty() && !IsAny(args[0]) && args[0]->kind != Kind::kString) {
      TypeError(c, e.args[0]->span,
                "no such overload: " + n + "(" + TypeToString(*args[0]) + ")");
    }
    return r;
  }

  // ---------------------------------------------------------------- calls
  struct Callee {
    enum class Ns { kUnknown, kHttp, kConnector, kAgent, kLlm, kEmail, kKv, kKb, kEntity };
    Ns ns = Ns::kUnknown;
    std::string method;
    const ConnectorDecl* connector = nullptr;
    const AgentDecl* agent = nullptr;
    const TypeDecl* entity = nullptr;
  };

  Callee ResolveCallee(const Call& call, Ctx& c) {
    Callee r;
    const size_t dot = call.callee.find('.');
    const std::string ns = call.callee.substr(0, dot);
    r.method = dot == std::string::npos ? "" : call.callee.substr(dot + 1);
    std::vector<std::string> methods;
    if (ns == "http") {
      r.ns = Callee::Ns::kHttp;
      methods = HttpMethods();
    } else if (ns == "llm") {
      r.ns = Callee::Ns::kLlm;
      methods = {"chat", "embed"};
    } else if (ns == "email") {
      r.ns = Callee::Ns::kEmail;
      methods = {"send"};
    } else if (ns == "kv") {
      r.ns = Callee::Ns::kKv;
      methods = {"put", "get"};
    } else if (ns == "kb") {
      r.ns = Callee::Ns::kKb;
      methods = {"add", "search"};
    } else if (auto it = prog_.connectors.find(ns); it != prog_.connectors.end()) {
      r.ns = Callee::Ns::kConnector;
      r.connector = it->second;
      methods = HttpMethods();
    } else if (auto it = prog_.agents.find(ns); it != prog_.agents.end()) {
      r.ns = Callee::Ns::kAgent;
      r.agent = it->second;
      methods = {"ask"};
    } else if (auto it = prog_.types.find(ns); it != prog_.types.end() && it->second->is_entity) {
      r.ns = Callee::Ns::kEntity;
      r.entity = it->second;
      methods = {"upsert", "get", "delete", "list"};
    } else {
      if (c.report) {
        std::string msg = "unknown call " + Quote(call.callee);
        if (auto it2 = prog_.types.find(ns); it2 != prog_.types.end()) {
          msg = Quote(ns) + " is a type, not an entity: it has no stored records";
        }
        auto& d = d_.Error(src_, call.callee_span, "E105", msg);
        std::vector<std::string> names = {"http", "llm", "email", "kv", "kb"};
        for (const auto& [k, v] : prog_.connectors) names.push_back(k);
        for (const auto& [k, v] : prog_.agents) names.push_back(k);
        for (const auto& [k, v] : prog_.types) {
          if (v->is_entity) names.push_back(k);
        }
        AddDidYouMean(d, ns, names);
        if (d.hints.empty()) {
          d.hints.push_back("calls are http.*, llm.*, email.send, kv.*, kb.*, or go through a "
                            "declared connector, agent or entity");
        }
      }
      return Callee{};
    }
    if (std::find(methods.begin(), methods.end(), r.method) == methods.end()) {
      if (c.report) {
        auto& d = d_.Error(src_, call.callee_span, "E105",
                           Quote(ns) + " has no call " + Quote(r.method.empty() ? "" : r.method));
        AddDidYouMean(d, r.method, methods);
        if (d.hints.empty()) {
          std::string list;
          for (size_t i = 0; i < methods.size(); ++i) list += (i ? ", " : "") + ns + "." + methods[i];
          d.hints.push_back("the calls are " + list);
        }
      }
      return Callee{};
    }
    return r;
  }

  Signature SignatureOf(const Callee& k) {
    using Ns = Callee::Ns;
    switch (k.ns) {
      case Ns::kHttp:
      case Ns::kConnector:
        return HttpSignature();
      case Ns::kAgent:
        return Signature{1, 1, {"context"}, {}};
      case Ns::kLlm:
        if (k.method == "chat") {
          return Signature{0, 0, {"model", "system", "prompt", "schema", "temperature", "max_tokens"},
                           {"model", "prompt"},
                           {{"model", "string"}, {"system", "string"}, {"prompt", "string"},
                            {"temperature", "number"}, {"max_tokens", "int"}}};
        }
        return Signature{0, 0, {"model", "text"}, {"model", "text"}, {{"model", "string"}, {"text", "string"}}};
      case Ns::kEmail:
        return Signature{0, 0, {"to", "subject", "body", "cc", "bcc", "reply_to", "html"},
                         {"to", "subject", "body"},
                         {{"to", "addresses"}, {"cc", "addresses"}, {"bcc", "addresses"}, {"reply_to", "addresses"},
                          {"subject", "string"}, {"body", "string"}, {"html", "string"}}};
      case Ns::kKv:
        if (k.method == "put") return Signature{2, 2, {"ttl"}, {}, {{"ttl", "duration"}}};
        return Signature{1, 1, {}, {}};
      case Ns::kKb:
        if (k.method == "add") return Signature{3, 3, {"meta"}, {}};
        return Signature{2, 2, {"k"}, {}, {{"k", "int"}}};
      case Ns::kEntity:
        if (k.method == "list") return Signature{0, 0, {"limit"}, {}, {{"limit", "int"}}};
        return Signature{1, 1, {}, {}};
      default:
        return Signature{0, 1000, {}, {}};
    }
  }

  TypePtr CheckCall(const Call& call, Ctx& c, StmtKind kind) {
    Callee k = ResolveCallee(call, c);
    // Arguments are checked whatever the callee, for their references.
    std::vector<TypePtr> args;
    bool secret_in_args = false;
    for (const auto& a : call.args) {
      const bool before = c.secret;
      c.secret = false;
      args.push_back(CheckExpr(*a, c));
      secret_in_args = secret_in_args || c.secret;
      c.secret = before || c.secret;
    }
    if (k.ns == Callee::Ns::kUnknown) return AnyType();
    const Signature sig = SignatureOf(k);
    size_t positional = 0;
    std::set<std::string> seen;
    for (size_t i = 0; i < call.args.size(); ++i) {
      const std::string name(call.arg_names[i]);
      if (name.empty()) {
        ++positional;
        continue;
      }
      if (!seen.insert(name).second && c.report) {
        d_.Error(src_, call.args[i]->span, "E106", "argument " + Quote(name) + " given twice");
      }
      if (auto want = sig.types.find(name); want != sig.types.end() && c.report && args[i] &&
          !ArgFits(*args[i], want->second)) {
        const std::string what = want->second == "addresses" ? "an address or a list of addresses"
                                 : want->second == "int"      ? "an int"
                                 : want->second == "number"   ? "a number"
                                                              : "a " + want->second;
        TypeError(c, call.args[i]->span, call.callee + "(): " + Quote(name) + " is " + what + ", not " +
                                             TypeToString(*args[i]));
      }
      if (std::find(sig.named.begin(), sig.named.end(), name) == sig.named.end() && c.report) {
        auto& d = d_.Error(src_, call.args[i]->span, "E106",
                           call.callee + "() has no argument " + Quote(name));
        AddDidYouMean(d, name, sig.named);
        if (d.hints.empty() && !sig.named.empty()) {
          std::string list;
          for (size_t j = 0; j < sig.named.size(); ++j) list += (j ? ", " : "") + sig.named[j];
          d.hints.push_back("its named arguments are " + list);
        }
      }
    }
    if ((positional < sig.min_positional || positional > sig.max_positional) && c.report) {
      std::string want = std::to_string(sig.min_positional);
      if (sig.max_positional != sig.min_positional) {
        want += " to " + std::to_string(sig.max_positional);
      }
      d_.Error(src_, call.span, "E106",
               call.callee + "() takes " + want + " positional argument" +
                   (sig.max_positional == 1 ? "" : "s") + ", not " + std::to_string(positional));
    }
    for (const auto& r : sig.required) {
      if (!seen.count(r) && c.report) {
        d_.Error(src_, call.span, "E106", call.callee + "() needs the argument " + Quote(r));
      }
    }
    using Ns = Callee::Ns;
    if (k.ns == Ns::kEmail && kind == StmtKind::kStep && c.report) {
      auto& d = d_.Error(src_, call.callee_span, "E126",
                         "email.send changes the world outside the run: declare it as an "
                         "effect with a key");
      d.hints.push_back("write: effect name = email.send(...) { key \"...\" }");
    }
    if ((k.ns == Ns::kAgent || k.ns == Ns::kLlm) && secret_in_args && c.report) {
      auto& d = d_.Warning(src_, call.span, "W201",
                           "a secret flows into the prompt of " + Quote(call.callee));
      d.hints.push_back("model providers may log prompts; pass the secret to a connector instead");
    }
    if (k.ns == Ns::kEntity && secret_in_args && c.report) {
      auto& d = d_.Warning(src_, call.span, "W202",
                           "a secret flows into entity " + Quote(k.entity->name));
      d.hints.push_back("entities are stored in the data directory in clear text");
    }
    if ((k.ns == Ns::kHttp || k.ns == Ns::kConnector) && !args.empty() && !IsAny(args[0]) &&
        args[0]->kind != Kind::kString) {
      TypeError(c, call.args[0]->span,
                "the URL or path must be a string, not " + TypeToString(*args[0]));
    }
    if (k.ns == Ns::kConnector && c.report) CheckAllowed(call, k);
    if (k.ns == Ns::kLlm && k.method == "chat" && c.report) {
      for (size_t i = 0; i < call.args.size(); ++i) {
        if (call.arg_names[i] == "model") CheckModelName(*call.args[i]);
      }
    }
    switch (k.ns) {
      case Ns::kHttp:
      case Ns::kConnector:
        return HttpResultType();
      case Ns::kAgent:
        return ModelResultType(AgentOutputType(*k.agent));
      case Ns::kLlm:
        return k.method == "chat" ? ModelResultType(AnyType())
                                  : ListOf(ScalarType(Kind::kDouble));
      case Ns::kEmail:
        return RecordType("email receipt", {{"message_id", ScalarType(Kind::kString)}});
      case Ns::kKv:
        return AnyType();
      case Ns::kKb:
        return k.method == "search" ? ListOf(AnyType()) : AnyType();
      case Ns::kEntity: {
        TypePtr et = DeclaredType(k.entity->name);
        if (k.method == "upsert") {
          if (c.report && !call.args.empty()) CheckEntityRecord(*k.entity, *call.args[0], et, c);
          return et;
        }
        if (k.method == "get") return OptionalOf(et);
        if (k.method == "list") return ListOf(et);
        return ScalarType(Kind::kBool);
      }
      default:
        return AnyType();
    }
  }

  TypePtr AgentOutputType(const AgentDecl& a) {
    for (const auto& s : a.settings) {
      if (s.key == "output" && s.type) return ResolveTypeQuiet(s.type.get());
    }
    return AnyType();
  }

  void CheckEntityRecord(const TypeDecl& ent, const Expr& arg, const TypePtr& et, Ctx& c) {
    if (arg.kind != ExprKind::kMap) return;
    std::set<std::string> given;
    for (size_t i = 0; i + 1 < arg.args.size(); i += 2) {
      const Expr& key = *arg.args[i];
      if (key.kind != ExprKind::kLiteral || key.literal.kind() != ValueKind::kString) continue;
      const std::string& f = key.literal.as_string();
      given.insert(f);
      TypePtr ft = FieldOf(*et, f);
      if (!ft) {
        auto& d = d_.Error(src_, key.span, "E107",
                           "entity " + Quote(ent.name) + " has no field " + Quote(f));
        std::vector<std::string> names;
        for (const auto& fd : ent.fields) names.push_back(fd.name);
        AddDidYouMean(d, f, names);
        continue;
      }
      Ctx quiet = c;
      quiet.report = false;
      TypePtr vt = CheckExpr(*arg.args[i + 1], quiet);
      if (!Assignable(*vt, *ft)) {
        TypeError(c, arg.args[i + 1]->span,
                  "field " + Quote(f) + " of " + ent.name + " is " + TypeToString(*ft) +
                      ", not " + TypeToString(*vt));
      }
    }
    for (const auto& fd : ent.fields) {
      if (fd.is_key && !given.count(fd.name)) {
        d_.Error(src_, arg.span, "E109",
                 ent.name + ".upsert() needs the key field " + Quote(fd.name));
      }
    }
  }

  void CheckAllowed(const Call& call, const Callee& k) {
    const Setting* allow = nullptr;
    for (const auto& s : k.connector->settings) {
      if (s.key == "allow") allow = &s;
    }
    if (!allow || !allow->value || allow->value->kind != ExprKind::kList) return;
    if (call.args.empty() || call.arg_names[0] != "" ||
        call.args[0]->kind != ExprKind::kLiteral ||
        call.args[0]->literal.kind() != ValueKind::kString) {
      return;  // checked at run time
    }
    std::string method = k.method;
    std::transform(method.begin(), method.end(), method.begin(), ::toupper);
    const std::string& path = call.args[0]->literal.as_string();
    std::vector<std::string> rules;
    for (const auto& r : allow->value->args) {
      if (r->kind != ExprKind::kLiteral || r->literal.kind() != ValueKind::kString) return;
      const std::string& rule = r->literal.as_string();
      rules.push_back(rule);
      const size_t sp = rule.find(' ');
      if (sp == std::string::npos) continue;
      if (rule.substr(0, sp) == method && GlobMatch(rule.substr(sp + 1), path)) return;
    }
    auto& d = d_.Error(src_, call.span, "E130",
                       Quote(method + " " + path) + " is not allowed by connector " +
                           Quote(k.connector->name));
    std::string list;
    for (size_t i = 0; i < rules.size(); ++i) list += (i ? ", " : "") + Quote(rules[i]);
    d.hints.push_back("its allow list is " + (list.empty() ? std::string("empty") : list));
  }

 private:
  void CheckModelName(const Expr& e) { checking::CheckModelName(e, opts_, src_, d_); }

  // ---------------------------------------------------------------- statements
  void CheckParams() {
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

  void CheckSettings() {
    if (wf_.budget) {
      // Budgets are constants.
      if (wf_.budget->kind != ExprKind::kLiteral ||
          wf_.budget->literal.kind() != ValueKind::kMoney) {
        auto& d = d_.Error(src_, wf_.budget->span, "E110", "a budget is an amount of money");
        d.hints.push_back("write for example: budget 2.00 usd");
      }
    }
    if (wf_.concurrency && *wf_.concurrency < 1) {
      d_.Error(src_, wf_.span, "E110", "concurrency must be at least 1");
    }
    if (wf_.retry) CheckRetry(*wf_.retry);
  }

  void CheckRetry(const RetrySpec& r) {
    if (r.factor < 1.0) {
      d_.Error(src_, r.span, "E110", "the backoff factor must be at least 1");
    }
    if (r.backoff && r.max_delay && r.max_delay->nanos < r.backoff->nanos) {
      d_.Error(src_, r.span, "E110", "the backoff cap is below the first delay");
    }
    for (size_t i = 0; i < r.on.size(); ++i) {
      if (IsKnownErrorKind(r.on[i])) continue;
      auto& d = d_.Error(src_, r.on_spans[i], "E127", "unknown error kind " + Quote(r.on[i]));
      AddDidYouMean(d, r.on[i], std::vector<std::string>(kErrorKinds.begin(), kErrorKinds.end()));
    }
  }

  void CheckExprAs(const ExprPtr& e, Ctx& c, Kind want, const char* what) {
    if (!e) return;
    TypePtr t = CheckExpr(*e, c);
    Expect(c, *e, t, want, what);
  }

  void CheckNode(uint32_t id) {
    const Stmt& s = *dag_->nodes[id].stmt;
    Ctx c;
    c.node = id;
    // after: explicit edges.
    for (size_t i = 0; i < s.after.size(); ++i) {
      // `after` orders without referring: a skipped statement does not
      // skip the ones that only come after it.
      auto it = by_name_.find(s.after[i]);
      if (it != by_name_.end()) {
        c.soft = true;
        AddDep(c, it->second.front(), s.after_spans[i]);
        c.soft = false;
      } else {
        auto& d = d_.Error(src_, s.after_spans[i], "E100",
                           "unknown statement " + Quote(s.after[i]) + " after 'after'");
        AddDidYouMean(d, s.after[i], VisibleNames(c));
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
        if (!s.ask) {
          auto& d = d_.Error(src_, s.name_span, "E109",
                             "approval " + Quote(s.name) + " has no question");
          d.hints.push_back("add: ask \"Publish this?\"");
        }
        CheckExprAs(s.ask, c, Kind::kString, "the question");
        if (s.show) CheckExpr(*s.show, c);
        CheckExprAs(s.timeout, c, Kind::kDuration, "the timeout");
        if (s.approvers) {
          TypePtr t = CheckExpr(*s.approvers, c);
          Expect(c, *s.approvers, t, Kind::kList, "approvers");
        }
        if (s.returns) ResolveType(s.returns.get());
        if (!s.timeout) {
          auto& d = d_.Warning(src_, s.name_span, "W200",
                               "approval " + Quote(s.name) + " has no timeout: the run may wait forever");
          d.hints.push_back("add for example: timeout 48h on_timeout reject");
        }
        break;
      }
      case StmtKind::kWait:
        CheckExprAs(s.wait_for, c, Kind::kDuration, "a wait's 'for'");
        CheckExprAs(s.wait_until, c, Kind::kTime, "a wait's 'until'");
        break;
      case StmtKind::kSignal:
        CheckExprAs(s.timeout, c, Kind::kDuration, "the timeout");
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
        if (s.max_parallel && *s.max_parallel < 1) {
          d_.Error(src_, s.span, "E110", "a for loop's max must be at least 1");
        }
        if (LoopVarFor(s.loop_var, dag_->nodes[id].parent) >= 0 || params_.count(s.loop_var) ||
            by_name_.count(s.loop_var)) {
          d_.Error(src_, s.loop_var_span, "E101",
                   "loop variable " + Quote(s.loop_var) + " hides another name");
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

  void CheckModifiers(const Stmt& s, uint32_t id, Ctx& c) {
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
                                   Quote(loop.loop_var));
            d.hints.push_back("mention the loop variable, as in key \"" + s.name + "-${" +
                              loop.loop_var + "}\"; otherwise only the first item's effect happens");
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
                        s.name + "-${...}\" } naming what makes it unique");
    }
  }

  // ---------------------------------------------------------------- cycles
  // Depth-first search over the dependency edges, iterative so that a chain
  // of 100,000 statements does not exhaust the stack.
  void FindCycles() {
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

  void ReportCycle(const std::vector<std::pair<uint32_t, size_t>>& stack, uint32_t v,
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
    for (uint32_t p : path) text += dag_->nodes[p].name + " -> ";
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

  // ---------------------------------------------------------------- lints
  bool IsReadStep(const Stmt& s) {
    if (s.kind == StmtKind::kLet) return true;
    if (s.kind != StmtKind::kStep || !s.call) return false;
    const std::string& k = s.call->callee;
    const size_t dot = k.find('.');
    const std::string method = dot == std::string::npos ? "" : k.substr(dot + 1);
    return method == "get" || method == "list" || method == "search" || method == "chat" ||
           method == "embed" || method == "ask";
  }

  void Lint() {
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

  Program& prog_;
  const SourceFile* src_;
  const WorkflowDecl& wf_;
  const CheckOptions& opts_;
  Diagnostics& d_;
  std::unique_ptr<Dag> dag_;
  std::unordered_map<std::string, std::vector<uint32_t>> by_name_;
  std::map<std::string, TypePtr> params_;
  std::map<std::string, TypePtr> record_types_;
  std::map<uint32_t, TypePtr> loop_types_;
  std::vector<int> type_state_;
  std::vector<bool> used_;
  std::map<std::string, std::string> key_texts_;  // an effect key's text -> the effect
  const Stmt* output_seen_ = nullptr;
};

bool ReadWholeFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace

bool IsKnownErrorKind(std::string_view k) {
  static const std::set<std::string, std::less<>> kinds(kErrorKinds.begin(), kErrorKinds.end());
  if (kinds.count(k)) return true;
  // http.NNN
  return k.size() == 8 && k.substr(0, 5) == "http." && std::isdigit(static_cast<unsigned char>(k[5])) &&
         std::isdigit(static_cast<unsigned char>(k[6])) && std::isdigit(static_cast<unsigned char>(k[7]));
}

const Dag* Program::FindWorkflow(const std::string& name, std::string* error) const {
  if (name.empty()) {
    if (workflows.size() == 1) return workflows.front().get();
    if (workflows.empty()) {
      *error = "the file declares no workflow";
    } else {
      *error = "the file declares several workflows; choose one with --workflow NAME (";
      for (size_t i = 0; i < workflows.size(); ++i) {
        *error += (i ? ", " : "") + workflows[i]->workflow->name;
      }
      *error += ")";
    }
    return nullptr;
  }
  for (const auto& w : workflows) {
    if (w->workflow->name == name) return w.get();
  }
  *error = "no workflow named '" + name + "'";
  return nullptr;
}

std::unique_ptr<Program> LoadProgram(const std::string& path, std::string text,
                                     const CheckOptions& options, Diagnostics& diags) {
  auto prog = std::make_unique<Program>();
  DeclChecker decls(*prog, options, diags);
  // Load the main file, then imports breadth-first; each file once.
  std::set<std::string> loaded;
  struct Pending {
    std::string path;
    std::string text;
    const SourceFile* from;
    Span at;
  };
  std::vector<Pending> queue;
  queue.push_back(Pending{path, std::move(text), nullptr, Span{}});
  bool main_parsed = false;
  for (size_t qi = 0; qi < queue.size(); ++qi) {
    Pending p = std::move(queue[qi]);
    std::error_code ec;
    const std::string canonical =
        std::filesystem::weakly_canonical(std::filesystem::path(p.path), ec).string();
    if (!loaded.insert(ec ? p.path : canonical).second) continue;
    if (p.from) {
      if (!ReadWholeFile(p.path, &p.text)) {
        auto& d = diags.Error(p.from, p.at, "E151", "cannot read imported file " + Quote(p.path));
        d.hints.push_back("import paths are relative to the importing file");
        continue;
      }
    }
    auto src = std::make_unique<SourceFile>(p.path, std::move(p.text));
    auto module = ParseModule(*src, diags);
    if (!module) {
      // Diagnostics point into the source: it lives as long as the program.
      prog->sources.push_back(std::move(src));
      if (qi == 0) return prog;
      continue;
    }
    if (qi == 0) main_parsed = true;
    const std::filesystem::path dir = std::filesystem::path(p.path).parent_path();
    for (const auto& imp : module->imports) {
      queue.push_back(Pending{(dir / imp.path).string(), "", src.get(), imp.span});
    }
    decls.Register(*module, src.get());
    prog->sources.push_back(std::move(src));
    prog->modules.push_back(std::move(module));
  }
  if (!main_parsed) return prog;
  decls.CheckAll();
  // Workflows of the main file only; imported files lend declarations.
  const Module& main = *prog->modules.front();
  for (const auto& w : main.workflows) {
    WorkflowChecker wc(*prog, prog->sources.front().get(), w, options, diags);
    prog->workflows.push_back(wc.Run());
  }
  CheckTriggers(*prog, main, prog->sources.front().get(), diags);
  for (const auto& t : main.triggers) prog->triggers.push_back(&t);
  diags.Sort();
  return prog;
}

namespace {
TypeRefPtr CloneTypeRef(const TypeRef& t) {
  auto c = std::make_unique<TypeRef>();
  c->span = t.span;
  c->name = t.name;
  c->optional = t.optional;
  for (const auto& p : t.params) c->params.push_back(CloneTypeRef(*p));
  return c;
}
}  // namespace

std::string CheckBoundExpr(Program& program, const SourceFile* src, const Expr& e,
                           const std::vector<std::pair<std::string, const TypeRef*>>& bound, const TypeRef* want,
                           Diagnostics& diags) {
  WorkflowDecl wf;
  wf.name = "(trigger)";
  for (const auto& [name, type] : bound) {
    Field f;
    f.name = name;
    f.type = CloneTypeRef(*type);
    wf.params.push_back(std::move(f));
  }
  return WorkflowChecker(program, src, wf, CheckOptions{}, diags).CheckAlone(e, want);
}

Value InputValue(const std::string& text) {
  std::string error;
  if (auto v = ParseJson(text, &error)) return *v;
  return Value::String(text);
}

}  // namespace aos
