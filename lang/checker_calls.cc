#include "lang/workflow_checker.h"

#include <algorithm>
#include <sstream>

#include "lang/allow.h"
#include "lang/eval_functions.h"
#include "lang/regex.h"
#include "lang/spelling.h"

namespace aos::checking {

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

// The result type of a built-in expression function, given its (receiver
// first) argument types, by the table's rule (lang/eval_functions.h); null
// if `name` is not one.
TypePtr BuiltinResult(std::string_view name, const std::vector<TypePtr>& args) {
  const FunctionSpec* f = FindFunction(name);
  if (!f) return nullptr;
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


WorkflowChecker::Callee WorkflowChecker::ResolveCallee(const Call& call, Ctx& c) {
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

Signature WorkflowChecker::SignatureOf(const Callee& k) {
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

TypePtr WorkflowChecker::CheckCall(const Call& call, Ctx& c, StmtKind kind) {
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

TypePtr WorkflowChecker::AgentOutputType(const AgentDecl& a) {
  for (const auto& s : a.settings) {
    if (s.key == "output" && s.type) return ResolveTypeQuiet(s.type.get());
  }
  return AnyType();
}

void WorkflowChecker::CheckEntityRecord(const TypeDecl& ent, const Expr& arg, const TypePtr& et, Ctx& c) {
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

void WorkflowChecker::CheckAllowed(const Call& call, const Callee& k) {
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
    if (AllowRuleMatches(rule, method, path)) return;
  }
  auto& d = d_.Error(src_, call.span, "E130",
                     Quote(method + " " + path) + " is not allowed by connector " +
                         Quote(k.connector->name));
  std::string list;
  for (size_t i = 0; i < rules.size(); ++i) list += (i ? ", " : "") + Quote(rules[i]);
  d.hints.push_back("its allow list is " + (list.empty() ? std::string("empty") : list));
}

}  // namespace aos::checking
