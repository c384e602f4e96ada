#include "runtime/runner_impl.h"
#include "runtime/transforms.h"

#include <cstdio>

namespace aos {

Env::Lookup Runner::Impl::InstEnv::Find(std::string_view name, Value* out) const {
  if (it_ && name == "it") {
    *out = *it_;
    return Lookup::kFound;
  }
  for (int s = scope_; s >= 0; s = r_.scopes[s].parent) {
    const Scope& sc = r_.scopes[s];
    if (sc.loop_var && *sc.loop_var == name) {
      *out = sc.loop_value;
      return Lookup::kFound;
    }
    const auto& nm = r_.names[r_.NameSlot(sc.for_node)];
    auto it = nm.find(name);
    if (it == nm.end()) continue;
    if (r_.dag.nodes[it->second.node].secret) touched_secret_ = true;
    if (!it->second.body) return r_.LookupInstance(s, it->second.node, out);
    // A body name seen from outside its loop: the list of its results.
    return r_.BodyList(s, it->second.node, it->second.target, out);
  }
  if (const Value* v = r_.st.inputs.Find(name)) {
    *out = *v;
    return Lookup::kFound;
  }
  return Lookup::kUnbound;
}

std::optional<Value> Runner::Impl::InstEnv::Nondeterministic(std::string_view fn, Span site) {
  const std::string key = inst_ + "|" + std::string(fn) + "@" + std::to_string(site.begin);
  auto it = r_.st.nondet.find(key);
  if (it != r_.st.nondet.end()) return it->second;
  Value v;
  if (fn == "now") {
    v = Value::Time(Timestamp{r_.clock.NowNanos()});
  } else {
    std::uniform_int_distribution<uint64_t> d;
    uint64_t a = d(Rng()), b = d(Rng());
    a = (a & 0xffffffffffff0fffull) | 0x0000000000004000ull;
    b = (b & 0x3fffffffffffffffull) | 0x8000000000000000ull;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx",
                  static_cast<unsigned long long>(a >> 32),
                  static_cast<unsigned long long>((a >> 16) & 0xffff),
                  static_cast<unsigned long long>(a & 0xffff),
                  static_cast<unsigned long long>(b >> 48),
                  static_cast<unsigned long long>(b & 0xffffffffffffull));
    v = S(buf);
  }
  r_.log.Append(inst_, events::NondeterministicValue{key, std::string(fn), v});
  return v;
}

std::optional<Value> Runner::Impl::InstEnv::EnvVar(std::string_view name) {
  if (const Value* v = r_.st.env.Find(name)) return *v;
  return std::nullopt;
}

std::optional<Value> Runner::Impl::InstEnv::Secret(std::string_view name) {
  touched_secret_ = true;
  if (r_.redact_secrets) return S("<secret " + std::string(name) + ">");
  const std::optional<std::string> v = LookupSecret(r_.opt.config, std::string(name));
  if (v) {
    if (!v->empty()) r_.secret_values.insert(*v);
    return S(*v);
  }
  if (r_.opt.placeholder_secrets) return S("<secret " + std::string(name) + ">");
  return std::nullopt;
}

std::optional<EvalResult> Runner::Impl::InstEnv::Declared(std::string_view name, const std::vector<Value>& args) {
  auto t = r_.program.transforms.find(std::string(name));
  if (t == r_.program.transforms.end()) return std::nullopt;
  r_.transforms_used[inst_] = t->second;
  return ApplyTransform(r_.program, *t->second, args);
}

Env::Lookup Runner::Impl::BodyList(int s, uint32_t loop, uint32_t target, Value* out) {
  const std::string for_inst = Key(s, loop);
  if (const Instance* fi = st.Find(for_inst); fi && fi->status == InstStatus::kSkipped) {
    return Env::Lookup::kSkipped;  // the whole loop was skipped
  }
  auto f = fors.find(for_inst);
  if (f == fors.end()) return Env::Lookup::kUnknown;
  // The loop directly inside `loop` that holds target, if it is nested.
  uint32_t inner = target;
  while (dag.nodes[inner].parent != static_cast<int32_t>(loop)) {
    inner = static_cast<uint32_t>(dag.nodes[inner].parent);
  }
  ValueList items;
  for (int child : f->second.children) {
    Value v;
    const Env::Lookup l =
        inner == target ? LookupInstance(child, target, &v) : BodyList(child, inner, target, &v);
    items.push_back(l == Env::Lookup::kFound ? v : Value());
  }
  *out = Value::List(std::move(items));
  return Env::Lookup::kFound;
}

Env::Lookup Runner::Impl::LookupInstance(int scope, uint32_t node, Value* out) {
  const std::string key = Key(scope, node);
  const Instance* in = st.Find(key);
  if (!in) return Env::Lookup::kUnknown;
  if (in->status == InstStatus::kSkipped) return Env::Lookup::kSkipped;
  if (in->status != InstStatus::kDone) return Env::Lookup::kUnknown;
  const Stmt& s = StmtOf(node);
  if (s.kind == StmtKind::kLet && dag.nodes[node].secret) {
    // Values derived from secrets are never recorded: recompute.
    InstEnv env(*this, scope, key);
    EvalResult r = Evaluate(*s.value, env);
    if (!r.ok()) return Env::Lookup::kUnknown;
    *out = r.value();
    return Env::Lookup::kFound;
  }
  *out = in->result;
  return Env::Lookup::kFound;
}

EvalResult Runner::Impl::Eval(const Expr& e, int scope, const std::string& inst) {
  InstEnv env(*this, scope, inst);
  return EvalIn(e, env);
}

EvalResult Runner::Impl::EvalIn(const Expr& e, InstEnv& env) {
  EvalResult r = Evaluate(e, env);
  if (r.ok() || !env.touched_secret() || r.error().kind != "expr.error") return r;
  EvalError err = r.error();
  const size_t colon = err.message.find(": ");
  err.message = (colon == std::string::npos ? std::string() : err.message.substr(0, colon + 2)) +
                "the message is withheld: the expression uses a value derived from secret()";
  return err;
}

std::string Runner::Impl::RedactSecrets(std::string message) const {
  // Longest first: "admin123!" before "admin", or the rest would show.
  std::vector<const std::string*> values;
  for (const std::string& v : secret_values) values.push_back(&v);
  std::sort(values.begin(), values.end(), [](auto* a, auto* b) { return a->size() > b->size(); });
  for (const std::string* vp : values) {
    const std::string& v = *vp;
    for (size_t at = message.find(v); at != std::string::npos; at = message.find(v, at + 8)) {
      message.replace(at, v.size(), "[secret]");
    }
  }
  return message;
}

bool Runner::Impl::EvalOrFail(const Expr& e, int s, const std::string& key, Value* out,
                              const char* what, uint32_t node, const Value* it) {
  InstEnv env(*this, s, key);
  env.BindIt(it);
  EvalResult r = EvalIn(e, env);
  if (r.ok()) {
    *out = std::move(r.value());
    return true;
  }
  if (r.error().kind == "expr.skipped") {
    Skip(s, node, key);
    return false;
  }
  const std::string message = std::string(what) + ": " + r.error().message;
  const StmtKind kind = StmtOf(node).kind;
  if (r.error().kind == "schema.drift" &&
      (kind == StmtKind::kLet || kind == StmtKind::kStep || kind == StmtKind::kEffect)) {
    // Schema drift is for the operator to see (state.md §2): the statement
    // waits for a decision, as `on failure escalate` does.
    Instance& in = st.At(key);
    log.Append(key, events::AttemptFailed{.attempt = in.attempts, .kind = "schema.drift", .message = message});
    RequestApproval(key, "escalate",
                    "An upstream payload changed shape (" + RedactSecrets(message) +
                        "). Fix the transform under a new version (aosrun resume RUN --upgrade FILE), then approve "
                        "to try again; approve with --payload '{\"skip\": VALUE}' to continue with VALUE, or "
                        "reject to fail the run.",
                    M({{S("kind"), S("schema.drift")}, {S("message"), S(RedactSecrets(message))}}), 0, "");
    Block(s, node);
    return false;
  }
  FailStep(key, r.error().kind == "schema.drift" ? "schema.drift" : "expr.error", message);
  return false;
}

Value Runner::Impl::Describe(const Stmt& stmt, int s, const std::string& key) {
  const Modifier* m = stmt.FindModifier(ModifierKind::kDescribe);
  if (!m || !m->value) return Value();
  InstEnv env(*this, s, key);
  EvalResult r = Evaluate(*m->value, env);
  if (!r.ok() || env.touched_secret()) return Value();
  return S(r.value().ToDisplayString());
}

}  // namespace aos
