#include "lang/workflow_checker.h"

#include <algorithm>
#include <sstream>

#include "lang/allow.h"
#include "lang/eval_functions.h"
#include "lang/regex.h"
#include "lang/spelling.h"

namespace aos::checking {

// Whether an argument of type t fits `want`; any fits.
bool ArgFits(const Type& t, ArgType want) {
  using K = Type::Kind;
  if (t.kind == K::kAny || t.kind == K::kNull) return true;
  switch (want) {
    case ArgType::kString: return t.kind == K::kString;
    case ArgType::kAddresses: return t.kind == K::kString || t.kind == K::kList;
    case ArgType::kInt: return t.kind == K::kInt || t.kind == K::kUint;
    case ArgType::kNumber: return t.kind == K::kInt || t.kind == K::kUint || t.kind == K::kDouble;
    case ArgType::kDuration: return t.kind == K::kDuration;
    case ArgType::kMap: return t.kind == K::kMap || t.kind == K::kRecord;
    case ArgType::kBool: return t.kind == K::kBool;
    case ArgType::kAny: return true;
  }
  return true;
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

// The result type of a built-in expression function, given its (receiver
// first) argument types, by the table's rule (lang/eval_functions.h); null
// if `name` is not one.
TypePtr BuiltinResult(std::string_view name, const std::vector<TypePtr>& args) {
  const FunctionSpec* f = FindFunction(name);
  // The special forms are typed by CheckExprCall where they are written
  // right; elsewhere (x.has(k), all(...) without a receiver) they are not
  // functions, as the evaluator says.
  if (!f || !f->impl) return nullptr;
  auto first = [&]() { return args.empty() ? AnyType() : args[0]; };
  using R = ResultRule;
  switch (f->result) {
    case R::kBool: return ScalarType(Kind::kBool);
    case R::kInt: return ScalarType(Kind::kInt);
    case R::kUint: return ScalarType(Kind::kUint);
    case R::kDouble: return ScalarType(Kind::kDouble);
    case R::kString: return ScalarType(Kind::kString);
    case R::kBytes: return ScalarType(Kind::kBytes);
    case R::kType: return ScalarType(Kind::kType);
    case R::kTime: return ScalarType(Kind::kTime);
    case R::kDuration: return ScalarType(Kind::kDuration);
    case R::kStringList: return ListOf(ScalarType(Kind::kString));
    case R::kElemOfFirst: {
      TypePtr f0 = first();
      if (args.size() == 1 && !IsAny(f0) && f0->kind == Kind::kList) return f0->elem;
      return args.size() > 1 ? args[0] : AnyType();
    }
    case R::kFirst: return first();
    case R::kKeysOfFirst:
    case R::kValuesOfFirst: {
      TypePtr f0 = first();
      if (IsAny(f0) || f0->kind != Kind::kMap) return ListOf(AnyType());
      return ListOf(f->result == R::kKeysOfFirst ? f0->key : f0->elem);
    }
    case R::kAny:
    case R::kSpecial: return AnyType();
  }
  return AnyType();
}

bool Same(const TypePtr& a, const TypePtr& b) {
  return !IsAny(a) && !IsAny(b) && a->kind == b->kind;
}


CallTarget WorkflowChecker::ResolveCallee(const Call& call, Ctx& c) {
  CallTarget r = ResolveCall(CallScope{prog_.types, prog_.connectors, prog_.agents}, call.callee);
  call.target = r;
  if (r.known() || !c.report) return r;
  const size_t dot = call.callee.find('.');
  const std::string ns = call.callee.substr(0, dot);
  const std::string method = dot == std::string::npos ? "" : call.callee.substr(dot + 1);
  if (r.ns == CallNs::kUnknown) {
    std::string msg = "unknown call " + Quote(call.callee);
    if (prog_.types.count(ns)) msg = Quote(ns) + " is a type, not an entity: it has no stored records";
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
    return r;
  }
  std::vector<std::string> methods;
  for (auto m : MethodsOf(r.ns)) methods.emplace_back(m);
  auto& d = d_.Error(src_, call.callee_span, "E105", Quote(ns) + " has no call " + Quote(method));
  AddDidYouMean(d, method, methods);
  if (d.hints.empty()) {
    std::string list;
    for (size_t i = 0; i < methods.size(); ++i) list += (i ? ", " : "") + ns + "." + methods[i];
    d.hints.push_back("the calls are " + list);
  }
  return r;
}

namespace {
std::string TypeWords(ArgType t) {
  switch (t) {
    case ArgType::kAddresses: return "an address or a list of addresses";
    case ArgType::kInt: return "an int";
    case ArgType::kNumber: return "a number";
    default: return "a " + std::string(ArgTypeName(t));
  }
}
}  // namespace

void WorkflowChecker::CheckFindArgs(const Call& call, const TypeDecl& ent, const std::vector<TypePtr>& args,
                                    Ctx& c) {
  std::vector<std::string> indexed;
  for (const auto& ix : ent.indexes) indexed.emplace_back(ix.field);
  const TypePtr et = DeclaredType(ent.name);
  size_t named = 0;
  bool positional = false;
  for (size_t i = 0; i < call.args.size(); ++i) {
    const std::string name(call.arg_names[i]);
    if (name.empty()) {
      positional = true;
      d_.Error(src_, call.args[i]->span, "E106",
               call.callee + "() takes no positional argument: name the field, as in " + ent.name + ".find(" +
                   (indexed.empty() ? std::string("field") : indexed[0]) + ": value)");
      continue;
    }
    ++named;
    TypePtr ft = FieldOf(*et, name);
    if (!ft) {
      auto& d = d_.Error(src_, call.args[i]->span, "E106", call.callee + "() has no argument " + Quote(name));
      AddDidYouMean(d, name, indexed);
      continue;
    }
    if (std::find(indexed.begin(), indexed.end(), name) == indexed.end()) {
      auto& d = d_.Error(src_, call.args[i]->span, "E110",
                         "field " + Quote(name) + " of " + ent.name + " has no index");
      d.hints.push_back("declare `index " + name + "` in entity " + ent.name + ", or use " + ent.name +
                        ".list(where: it." + name + " == value)");
      continue;
    }
    if (args[i] && !IsAny(args[i]) && !Assignable(*args[i], *ft)) {
      TypeError(c, call.args[i]->span,
                "field " + Quote(name) + " of " + ent.name + " is " + TypeToString(*ft) + ", not " +
                    TypeToString(*args[i]));
    }
  }
  if (named != 1 && !positional) {
    d_.Error(src_, call.span, "E106",
             call.callee + "() takes one indexed field, as in " + ent.name + ".find(" +
                 (indexed.empty() ? std::string("field") : indexed[0]) + ": value)");
  }
}

void WorkflowChecker::CheckArgs(const Call& call, const MethodSpec& m, const std::vector<TypePtr>& args, Ctx& c) {
  std::vector<std::string> named;
  for (const auto& a : m.named) named.emplace_back(a.name);
  size_t positional = 0;
  std::set<std::string> seen;
  for (size_t i = 0; i < call.args.size(); ++i) {
    const std::string name(call.arg_names[i]);
    if (name.empty()) {
      const ArgType want = positional < m.positional.size() ? m.positional[positional].type : ArgType::kAny;
      if (args[i] && want != ArgType::kAny && (!ArgFits(*args[i], want) || args[i]->kind == Kind::kNull)) {
        TypeError(c, call.args[i]->span, call.callee + "(): the " + std::string(m.positional[positional].name) +
                                             " must be " + TypeWords(want) + ", not " + TypeToString(*args[i]));
      }
      ++positional;
      continue;
    }
    if (!seen.insert(name).second) {
      d_.Error(src_, call.args[i]->span, "E106", "argument " + Quote(name) + " given twice");
    }
    const ArgSpec* spec = nullptr;
    for (const auto& a : m.named) {
      if (a.name == name) spec = &a;
    }
    if (!spec) {
      auto& d = d_.Error(src_, call.args[i]->span, "E106", call.callee + "() has no argument " + Quote(name));
      AddDidYouMean(d, name, named);
      if (d.hints.empty() && !named.empty()) {
        std::string list;
        for (size_t j = 0; j < named.size(); ++j) list += (j ? ", " : "") + named[j];
        d.hints.push_back("its named arguments are " + list);
      }
    } else if (args[i] && !ArgFits(*args[i], spec->type)) {
      TypeError(c, call.args[i]->span, call.callee + "(): " + Quote(name) + " is " + TypeWords(spec->type) +
                                           ", not " + TypeToString(*args[i]));
    }
  }
  if (positional != m.positional.size()) {
    const size_t want = m.positional.size();
    d_.Error(src_, call.span, "E106",
             call.callee + "() takes " + std::to_string(want) + " positional argument" + (want == 1 ? "" : "s") +
                 ", not " + std::to_string(positional));
  }
  for (const auto& a : m.named) {
    if (a.required && !seen.count(std::string(a.name))) {
      d_.Error(src_, call.span, "E106", call.callee + "() needs the argument " + Quote(std::string(a.name)));
    }
  }
}

TypePtr WorkflowChecker::CheckCall(const Call& call, Ctx& c, StmtKind kind) {
  const CallTarget k = ResolveCallee(call, c);
  // Arguments are checked whatever the callee, for their references.
  std::vector<TypePtr> args;
  bool secret_in_args = false;
  for (size_t i = 0; i < call.args.size(); ++i) {
    const bool before = c.secret;
    c.secret = false;
    // A patch's changes see `it`, the record as stored when the step runs.
    const bool it = ArgSeesIt(k, call, i);
    // kb.search's where sees `it`, an entry: {id, text, meta, score}.
    if (it) {
      c.locals.emplace_back("it", k.entity() ? DeclaredType(k.entity()->name)
                                             : RecordType("kb entry", {{"id", ScalarType(Kind::kString)},
                                                                       {"text", ScalarType(Kind::kString)},
                                                                       {"meta", AnyType()},
                                                                       {"score", ScalarType(Kind::kDouble)}}));
    }
    args.push_back(CheckExpr(*call.args[i], c));
    if (it) c.locals.pop_back();
    secret_in_args = secret_in_args || c.secret;
    c.secret = before || c.secret;
  }
  if (!k.known()) return AnyType();
  if (!c.report) return ResultOf(call, k, c);
  if (k.spec->named_is_index) {
    CheckFindArgs(call, *k.entity(), args, c);
  } else {
    CheckArgs(call, *k.spec, args, c);
  }
  if (k.ns == CallNs::kEmail && kind == StmtKind::kStep) {
    auto& d = d_.Error(src_, call.callee_span, "E126",
                       "email.send changes the world outside the run: declare it as an "
                       "effect with a key");
    d.hints.push_back("write: effect name = email.send(...) { key \"...\" }");
  }
  if (kind == StmtKind::kEffect && RequestOf(k.spec->op) == RequestKind::kInline) {
    auto& d = d_.Error(src_, call.callee_span, "E128",
                       Quote(call.callee) + " runs inside the runtime, so it cannot be an effect: its write is "
                       "recorded with its step, exactly once");
    d.hints.push_back("write it as a step: step name = " + call.callee + "(...)");
  }
  if ((k.ns == CallNs::kLlm || k.ns == CallNs::kAgent) && secret_in_args) {
    auto& d = d_.Warning(src_, call.span, "W201", "a secret flows into the prompt of " + Quote(call.callee));
    d.hints.push_back("model providers may log prompts; pass the secret to a connector instead");
  }
  if (k.ns == CallNs::kEntity && secret_in_args) {
    auto& d = d_.Warning(src_, call.span, "W202", "a secret flows into entity " + Quote(k.entity()->name));
    d.hints.push_back("entities are stored in the data directory in clear text");
  }
  if (k.ns == CallNs::kConnector) CheckAllowed(call, k);
  if (k.ns == CallNs::kLlm && k.spec->op == CallOp::kChat) {
    for (size_t i = 0; i < call.args.size(); ++i) {
      if (call.arg_names[i] == "model") CheckModelName(*call.args[i]);
    }
  }
  return ResultOf(call, k, c);
}

TypePtr WorkflowChecker::ResultOf(const Call& call, const CallTarget& k, Ctx& c) {
  switch (k.spec->returns) {
    case Returns::kHttpResponse: return HttpResultType();
    case Returns::kModelReply: return ModelResultType(k.agent() ? AgentOutputType(*k.agent()) : AnyType());
    case Returns::kVector: return ListOf(ScalarType(Kind::kDouble));
    case Returns::kEmailReceipt: return RecordType("email receipt", {{"message_id", ScalarType(Kind::kString)}});
    case Returns::kAny:
    case Returns::kKbAdded: return AnyType();
    case Returns::kKbHits: return ListOf(AnyType());
    case Returns::kRecord: {
      TypePtr et = DeclaredType(k.entity()->name);
      if (c.report && !call.args.empty() && k.spec->op == CallOp::kEntityUpsert) {
        CheckEntityRecord(*k.entity(), *call.args[0], et, c, false);
      }
      if (c.report && call.args.size() == 2 && k.spec->op == CallOp::kEntityPatch) {
        c.locals.emplace_back("it", et);
        CheckEntityRecord(*k.entity(), *call.args[1], et, c, true);
        c.locals.pop_back();
      }
      return et;
    }
    case Returns::kRecordOrNull: return OptionalOf(DeclaredType(k.entity()->name));
    case Returns::kKeyOrNull: {
      const TypeDecl& ent = *k.entity();
      if (c.report && !call.args.empty()) CheckIdentities(ent, *call.args[0]);
      const Field* kf = ent.KeyField();
      return kf && kf->type ? OptionalOf(ResolveTypeQuiet(kf->type.get())) : AnyType();
    }
    case Returns::kRecords: {
      TypePtr et = DeclaredType(k.entity()->name);
      for (size_t i = 0; c.report && i < call.args.size(); ++i) {
        const Expr& a = *call.args[i];
        if (call.arg_names[i] != "order_by" || a.kind != ExprKind::kLiteral ||
            a.literal().kind() != ValueKind::kString || FieldOf(*et, a.literal().as_string())) {
          continue;
        }
        NoSuchField(*k.entity(), a.literal().as_string(), src_, a.span, d_);
      }
      return ListOf(et);
    }
    case Returns::kBool: return ScalarType(Kind::kBool);
  }
  return AnyType();
}

TypePtr WorkflowChecker::TransformCall(const Expr& e, const TransformDecl& t, const std::vector<TypePtr>& args,
                                       Ctx& c) {
  if (args.size() != 1) {
    TypeError(c, e.span, "transform " + t.name + "() takes one argument, not " + std::to_string(args.size()));
  } else if (!t.params.empty() && t.params[0].type) {
    const TypePtr want = ResolveTypeQuiet(t.params[0].type.get());
    if (!IsAny(args[0]) && !Assignable(*args[0], *want)) {
      TypeError(c, e.args()[0]->span,
                "transform " + t.name + " takes " + TypeToString(*want) + ", not " + TypeToString(*args[0]));
    }
  }
  return t.result ? ResolveTypeQuiet(t.result.get()) : AnyType();
}

TypePtr WorkflowChecker::AgentOutputType(const AgentDecl& a) {
  for (const auto& s : a.settings) {
    if (s.key == "output" && s.type) return ResolveTypeQuiet(s.type.get());
  }
  return AnyType();
}

void WorkflowChecker::CheckEntityRecord(const TypeDecl& ent, const Expr& arg, const TypePtr& et, Ctx& c,
                                        bool patch) {
  if (arg.kind != ExprKind::kMap) return;
  std::set<std::string> given;
  for (size_t i = 0; i + 1 < arg.args().size(); i += 2) {
    const Expr& key = *arg.args()[i];
    if (key.kind != ExprKind::kLiteral || key.literal().kind() != ValueKind::kString) continue;
    const std::string& f = key.literal().as_string();
    given.insert(f);
    if (patch) {
      if (const Field* kf = ent.KeyField(); kf && kf->name == f) {
        auto& d = d_.Error(src_, key.span, "E110",
                           ent.name + ".patch() cannot change the key field " + Quote(f));
        d.hints.push_back("the key is the first argument: patch the record with that key");
        continue;
      }
    }
    TypePtr ft = FieldOf(*et, f);
    if (!ft) {
      NoSuchField(ent, f, src_, key.span, d_);
      continue;
    }
    Ctx quiet = c;
    quiet.report = false;
    TypePtr vt = CheckExpr(*arg.args()[i + 1], quiet);
    if (!Assignable(*vt, *ft)) {
      TypeError(c, arg.args()[i + 1]->span,
                "field " + Quote(f) + " of " + ent.name + " is " + TypeToString(*ft) +
                    ", not " + TypeToString(*vt));
    }
  }
  const Field* kf = ent.KeyField();
  if (patch || !kf || given.count(kf->name)) return;
  bool identity = false;
  for (const auto& fd : ent.fields) identity = identity || (fd.is_identity && given.count(fd.name));
  if (!identity) {
    auto& d = d_.Error(src_, arg.span, "E109", ent.name + ".upsert() needs the key field " + Quote(kf->name));
    if (ent.HasIdentity()) d.hints.push_back("or an identity field: the record is found (or made) by it");
  }
}

void WorkflowChecker::CheckIdentities(const TypeDecl& ent, const Expr& arg) {
  if (arg.kind != ExprKind::kMap) return;
  std::vector<std::string> identities;
  for (const auto& f : ent.fields) {
    if (f.is_identity) identities.push_back(f.name);
  }
  for (size_t i = 0; i + 1 < arg.args().size(); i += 2) {
    const Expr& key = *arg.args()[i];
    if (key.kind != ExprKind::kLiteral || key.literal().kind() != ValueKind::kString) continue;
    const std::string& f = key.literal().as_string();
    const Field* fd = ent.FindField(f);
    if (!fd) {
      NoSuchField(ent, f, src_, key.span, d_);
    } else if (!fd->is_identity) {
      auto& d = d_.Error(src_, key.span, "E110", "field " + Quote(f) + " of " + ent.name + " is not an identity");
      if (identities.empty()) {
        d.hints.push_back("declare it `identity " + f + ": ...` in entity " + ent.name);
      } else {
        std::string list;
        for (const auto& n : identities) list += (list.empty() ? "" : ", ") + n;
        d.hints.push_back(ent.name + "'s identities are " + list);
      }
    }
  }
}

void WorkflowChecker::CheckAllowed(const Call& call, const CallTarget& k) {
  const Setting* allow = nullptr;
  for (const auto& s : k.connector()->settings) {
    if (s.key == "allow") allow = &s;
  }
  if (!allow || !allow->value || allow->value->kind != ExprKind::kList) return;
  if (call.args.empty() || call.arg_names[0] != "" ||
      call.args[0]->kind != ExprKind::kLiteral ||
      call.args[0]->literal().kind() != ValueKind::kString) {
    return;  // checked at run time
  }
  std::string method(k.spec->method);
  std::transform(method.begin(), method.end(), method.begin(), ::toupper);
  const std::string& path = call.args[0]->literal().as_string();
  std::vector<std::string> rules;
  for (const auto& r : allow->value->args()) {
    if (r->kind != ExprKind::kLiteral || r->literal().kind() != ValueKind::kString) return;
    const std::string& rule = r->literal().as_string();
    rules.push_back(rule);
    if (AllowRuleMatches(rule, method, path)) return;
  }
  auto& d = d_.Error(src_, call.span, "E130",
                     Quote(method + " " + path) + " is not allowed by connector " +
                         Quote(k.connector()->name));
  std::string list;
  for (size_t i = 0; i < rules.size(); ++i) list += (i ? ", " : "") + Quote(rules[i]);
  d.hints.push_back("its allow list is " + (list.empty() ? std::string("empty") : list));
}

}  // namespace aos::checking
