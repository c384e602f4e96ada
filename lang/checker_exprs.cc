#include "lang/workflow_checker.h"

#include <algorithm>
#include <sstream>

#include "lang/eval_functions.h"
#include "lang/regex.h"
#include "lang/spelling.h"

namespace aos::checking {

TypePtr WorkflowChecker::ResolveType(const TypeRef* t) {
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
  else if (n == "ref") r = RefKeyType(t);
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

// A ref<T> value is the key of a T record: the type of T's key field (any
// when T is not an entity, which the declaration check reports).
TypePtr WorkflowChecker::RefKeyType(const TypeRef* t) {
  if (t->params.empty()) return AnyType();
  auto it = prog_.types.find(t->params[0]->name);
  if (it == prog_.types.end() || !it->second->is_entity) return AnyType();
  // A key that is itself a ref (refused by the declaration check) would
  // resolve forever.
  const Field* key = it->second->KeyField();
  return key && key->type && key->type->name != "ref" ? ResolveTypeQuiet(key->type.get()) : AnyType();
}

TypePtr WorkflowChecker::DeclaredType(const std::string& name) {
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

TypePtr WorkflowChecker::ResolveTypeQuiet(const TypeRef* t) {
  const size_t before = d_.all().size();
  TypePtr r = ResolveType(t);
  d_.all().resize(before);
  return r;
}

TypePtr WorkflowChecker::TypeOfNode(uint32_t n) {
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
      t = ApprovalResultType(s.waits().returns ? ResolveTypeQuiet(s.waits().returns.get()) : AnyType());
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

void WorkflowChecker::TypeError(Ctx& c, Span s, std::string msg, std::string hint) {
  if (!c.report) return;
  auto& d = d_.Error(src_, s, "E110", std::move(msg));
  if (!hint.empty()) d.hints.push_back(std::move(hint));
}

void WorkflowChecker::Expect(Ctx& c, const Expr& e, const TypePtr& t, Kind want, const char* what) {
  if (IsAny(t) || t->kind == want) return;
  TypeError(c, e.span,
            std::string(what) + " must be " + TypeToString(*ScalarType(want)) + ", not " +
                TypeToString(*t));
}

TypePtr WorkflowChecker::LiteralType(const Value& v) {
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

TypePtr WorkflowChecker::CheckExpr(const Expr& e, Ctx& c) {
  switch (e.kind) {
    case ExprKind::kLiteral:
      return LiteralType(e.literal());
    case ExprKind::kIdent:
      return ResolveIdent(e, c);
    case ExprKind::kMember:
      return CheckMember(e, CheckExpr(*e.args()[0], c), c);
    case ExprKind::kIndex: {
      TypePtr t = CheckExpr(*e.args()[0], c);
      TypePtr i = CheckExpr(*e.args()[1], c);
      if (IsAny(t)) return AnyType();
      if (t->kind == Kind::kList) {
        if (!IsAny(i) && i->kind != Kind::kInt && i->kind != Kind::kUint) {
          TypeError(c, e.args()[1]->span, "a list index must be int, not " + TypeToString(*i));
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
      TypePtr t = CheckExpr(*e.args()[0], c);
      if (IsAny(t)) return t;
      if (e.name() == "!") {
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
      TypePtr cond = CheckExpr(*e.args()[0], c);
      Expect(c, *e.args()[0], cond, Kind::kBool, "the condition of ?:");
      TypePtr a = CheckExpr(*e.args()[1], c);
      TypePtr b = CheckExpr(*e.args()[2], c);
      if (Same(a, b)) return a;
      if (!IsAny(a) && !IsAny(b) && b->kind == Kind::kNull) return OptionalOf(a);
      return AnyType();
    }
    case ExprKind::kList: {
      TypePtr elem;
      bool mixed = false;
      for (const auto& a : e.args()) {
        TypePtr t = CheckExpr(*a, c);
        if (!elem) elem = t;
        else if (!Same(elem, t)) mixed = true;
      }
      return ListOf(mixed || !elem ? AnyType() : elem);
    }
    case ExprKind::kMap: {
      TypePtr val;
      bool mixed = false;
      for (size_t i = 0; i + 1 < e.args().size(); i += 2) {
        TypePtr k = CheckExpr(*e.args()[i], c);
        if (!IsAny(k) && k->kind != Kind::kString && k->kind != Kind::kInt &&
            k->kind != Kind::kUint && k->kind != Kind::kBool) {
          TypeError(c, e.args()[i]->span,
                    "map keys must be string, int, uint or bool, not " + TypeToString(*k));
        }
        TypePtr v = CheckExpr(*e.args()[i + 1], c);
        if (!val) val = v;
        else if (!Same(val, v)) mixed = true;
      }
      return MapOf(ScalarType(Kind::kString), mixed || !val ? AnyType() : val);
    }
    case ExprKind::kInterp:
      for (const auto& a : e.args()) CheckExpr(*a, c);
      return ScalarType(Kind::kString);
  }
  return AnyType();
}

TypePtr WorkflowChecker::CheckMember(const Expr& e, const TypePtr& obj, Ctx& c) {
  if (IsAny(obj)) return AnyType();
  if (obj->kind == Kind::kMap) return obj->elem;
  if (obj->kind == Kind::kRecord) {
    if (TypePtr f = FieldOf(*obj, e.name())) return f;
    if (c.report) {
      auto& d = d_.Error(src_, Span{e.span.end - static_cast<uint32_t>(e.name().size()), e.span.end},
                         "E107", "no field " + Quote(e.name()) + " in " + TypeToString(*obj));
      std::vector<std::string> names;
      for (const auto& f : obj->fields) names.push_back(f.first);
      AddDidYouMean(d, e.name(), names);
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

TypePtr WorkflowChecker::CheckBinary(const Expr& e, Ctx& c) {
  const std::string_view op = e.name();
  TypePtr a = CheckExpr(*e.args()[0], c);
  TypePtr b = CheckExpr(*e.args()[1], c);
  auto overload = [&]() {
    std::string hint;
    if (IsNumeric(*a) && IsNumeric(*b)) {
      hint = "numbers are not converted implicitly: write double(x), int(x) or uint(x)";
    }
    TypeError(c, e.span,
              "no such overload: " + TypeToString(*a) + " " + std::string(op) + " " + TypeToString(*b), hint);
    return AnyType();
  };
  if (op == "&&" || op == "||") {
    Expect(c, *e.args()[0], a, Kind::kBool, ("the left operand of " + std::string(op)).c_str());
    Expect(c, *e.args()[1], b, Kind::kBool, ("the right operand of " + std::string(op)).c_str());
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

TypePtr WorkflowChecker::CheckExprCall(const Expr& e, Ctx& c) {
  const std::string n(e.name());
  // Macros: the first argument is the variable.
  if (e.has_receiver && IsMacro(n) && e.args().size() >= 3 &&
      e.args()[1]->kind == ExprKind::kIdent) {
    TypePtr coll = CheckExpr(*e.args()[0], c);
    TypePtr var = AnyType();
    if (!IsAny(coll)) {
      if (coll->kind == Kind::kList) var = coll->elem;
      else if (coll->kind == Kind::kMap) var = coll->key;
      else TypeError(c, e.args()[0]->span, n + "() needs a list or a map, not " + TypeToString(*coll));
    }
    c.locals.emplace_back(e.args()[1]->name(), var);
    TypePtr last;
    for (size_t i = 2; i < e.args().size(); ++i) {
      last = CheckExpr(*e.args()[i], c);
      if (n != "map" || i + 1 < e.args().size()) {
        Expect(c, *e.args()[i], last, Kind::kBool, ("the predicate of " + n + "()").c_str());
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
    if (e.args().size() != 1 || e.args()[0]->kind != ExprKind::kMember) {
      TypeError(c, e.span, "has() takes one field selection, as in has(a.b)");
      return ScalarType(Kind::kBool);
    }
    TypePtr obj = CheckExpr(*e.args()[0]->args()[0], c);
    if (!IsAny(obj) && obj->kind != Kind::kMap && obj->kind != Kind::kRecord) {
      TypeError(c, e.args()[0]->span, "has() needs a map or a record, not " + TypeToString(*obj));
    }
    return ScalarType(Kind::kBool);
  }
  const bool soft = n == "default" || n == "coalesce";
  const bool was_soft = c.soft;
  if (soft) c.soft = true;
  std::vector<TypePtr> args;
  for (const auto& a : e.args()) args.push_back(CheckExpr(*a, c));
  c.soft = was_soft;
  if (!e.has_receiver && n == "secret") c.secret = true;
  if (auto t = prog_.transforms.find(n); !e.has_receiver && t != prog_.transforms.end()) {
    return TransformCall(e, *t->second, args, c);
  }
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
    if (e.args().size() != 1 || e.args()[0]->kind != ExprKind::kLiteral ||
        e.args()[0]->literal().kind() != ValueKind::kString) {
      TypeError(c, e.span, n + "() takes one quoted name, as in " + n + "(\"API_TOKEN\")");
    }
    return ScalarType(Kind::kString);
  }
  if (const FunctionSpec* a = FindFunction(n); a && a->impl && (args.size() < a->min || args.size() > a->max)) {
    if (c.report) {
      const std::string want = a->min == a->max   ? std::to_string(a->min)
                               : a->max == SIZE_MAX ? "at least " + std::to_string(a->min)
                                                    : std::to_string(a->min) + " to " + std::to_string(a->max);
      auto& d = d_.Error(src_, e.span, "E106",
                         n + "() takes " + want + " argument" + (want == "1" ? "" : "s") +
                             (e.has_receiver ? " (its receiver counted)" : "") + ", not " + std::to_string(args.size()));
      if (n == "format_time") d.hints.push_back("format_time(t, \"%Y-%m-%d\", \"Europe/Berlin\"); the zone defaults to UTC");
    }
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
      TypeError(c, e.args()[0]->span, "no such overload: size(" + TypeToString(*args[0]) + ")");
    }
  }
  if (n == "matches" && c.report && e.args().size() == 2 && e.args()[1]->kind == ExprKind::kLiteral &&
      e.args()[1]->literal().kind() == ValueKind::kString) {
    std::string why;
    if (!Regex::Compile(e.args()[1]->literal().as_string(), &why)) {
      auto& d = d_.Error(src_, e.args()[1]->span, "E112", "invalid regular expression: " + why);
      d.hints.push_back("matches() takes RE2 syntax (no backreferences or lookaround)");
    }
  }
  if ((n == "lower" || n == "upper" || n == "trim" || n == "startsWith" ||
       n == "endsWith" || n == "matches" || n == "split") &&
      !args.empty() && !IsAny(args[0]) && args[0]->kind != Kind::kString) {
    TypeError(c, e.args()[0]->span,
              "no such overload: " + n + "(" + TypeToString(*args[0]) + ")");
  }
  return r;
}

}  // namespace aos::checking
