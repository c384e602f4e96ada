#include "runtime/runner_impl.h"

#include <algorithm>
#include <cmath>
#include "lang/allow.h"
#include "lang/eval_functions.h"
#include "runtime/codec.h"
#include "runtime/kb_index.h"
#include "runtime/kv_kb.h"
#include "runtime/schema.h"

namespace aos {

void Runner::Impl::FinishKb(const Job& job, CallResult& r) {
  const CallRequest& req = job.req;
  if (!r.ok || req.args.Find("kb") == nullptr) return;
  const std::string op = StrOf(req.args.Find("kb"));
  const std::string collection = StrOf(req.args.Find("collection"));
  if (op == "add") {
    const std::string id = StrOf(req.args.Find("id"));
    log.batch().Put(Column::kKb, KbKey(collection, id),
                    EncodeValue(KbEntry(id, *req.args.Find("text"),
                                        req.args.Find("meta") ? *req.args.Find("meta") : Value(), r.value)));
    r.value = M({{S("id"), S(id)}, {S("collection"), *req.args.Find("collection")}});
    return;
  }
  SeeOwnWrites();
  const Value* kv = req.args.Find("k");
  const size_t k = kv && kv->kind() == ValueKind::kInt && kv->as_int() > 0 ? static_cast<size_t>(kv->as_int()) : 5;
  // where: evaluated on the entries best first, until k pass.
  const Expr* where = nullptr;
  if (const Call* call = StmtOf(job.node).call.get()) {
    for (size_t i = 0; i < call->args.size(); ++i) {
      if (call->arg_names[i] == "where") where = call->args[i];
    }
  }
  // The index (kb_index.h) yields the entries best first; each is read for
  // its text and meta, and where: is evaluated on it, until k pass.
  ValueList out;
  std::string error;
  std::vector<double> query;  // as the embedding came, in double
  if (r.value.kind() == ValueKind::kList) {
    for (const Value& x : r.value.as_list()) query.push_back(VectorNumber(x));
  }
  KbIndex::Of(StoreOf())->Rank(StoreOf(), collection, query, [&](const std::string& id, double score) {
    Value e;
    auto raw = StoreOf().Get(Column::kKb, KbKey(collection, id));
    if (!raw || !DecodeValue(*raw, &e)) return true;
    Value entry = M({{S("id"), S(id)},
                     {S("text"), e.Find("text") ? *e.Find("text") : Value()},
                     {S("meta"), e.Find("meta") ? *e.Find("meta") : Value()},
                     {S("score"), Value::Double(score)}});
    if (where) {
      InstEnv env(*this, job.scope, job.inst);
      env.BindIt(&entry);
      EvalResult keep = EvalIn(*where, env);
      if (!keep.ok() || keep.value().kind() != ValueKind::kBool) {
        error = "where: " + (keep.ok() ? "is " + std::string(KindName(keep.value().kind())) + ", not bool"
                                       : keep.error().message);
        return false;
      }
      if (!keep.value().as_bool()) return true;
    }
    out.push_back(std::move(entry));
    return out.size() < k;
  });
  if (!error.empty()) {
    r.ok = false;
    r.error_kind = "expr.error";
    r.message = error;
    return;
  }
  r.value = Value::List(std::move(out));
}

bool Runner::Impl::HttpRequest(const CallTarget& k, const Args& a, int s, const std::string& key, CallRequest* req,
                               std::string* error_kind, std::string* error) {
  const std::string method = Upper(std::string(k.spec->method));
  std::string url = a.positional.empty() ? "" : a.positional[0].ToDisplayString();
  ValueMap headers;
  if (const ConnectorDecl* conn = k.connector()) {
    InstEnv env(*this, s, key);
    std::string base;
    for (const auto& setting : conn->settings) {
      if (!setting.value) continue;
      EvalResult r = EvalIn(*setting.value, env);
      if (!r.ok()) {
        *error_kind = "expr.error";
        *error = "connector " + conn->name + " " + setting.key + ": " + r.error().message;
        return false;
      }
      if (setting.key == "base_url") base = r.value().ToDisplayString();
      if (setting.key == "headers" && r.value().kind() == ValueKind::kMap) {
        for (const auto& h : r.value().as_map()) headers.push_back(h);
      }
      if (setting.key == "auth") headers.emplace_back(S("Authorization"), r.value());
      if (setting.key == "allow" && r.value().kind() == ValueKind::kList) {
        const std::string path = url.substr(0, url.find('?'));
        bool allowed = false;
        // The checker's matcher (lang/allow.h): what aoscheck refuses is
        // refused here, and nothing more.
        for (const auto& p : r.value().as_list()) allowed = allowed || AllowRuleMatches(p.ToDisplayString(), method, path);
        if (!allowed) {
          *error_kind = "connector.denied";
          *error = "connector " + conn->name + " does not allow " + method + " " + path;
          return false;
        }
      }
    }
    if (!base.empty() && base.back() == '/' && !url.empty() && url.front() == '/') base.pop_back();
    url = base + url;
  }
  if (const Value* h = a.Named("headers"); h && h->kind() == ValueKind::kMap) {
    for (const auto& e : h->as_map()) headers.push_back(e);
  }
  ValueMap m;
  m.emplace_back(S("method"), S(method));
  m.emplace_back(S("url"), S(url));
  m.emplace_back(S("headers"), Value::Map(std::move(headers)));
  for (const char* n : {"query", "json", "body"}) {
    if (a.Named(n)) m.emplace_back(S(n), *a.Named(n));
  }
  // timeout: bounds each attempt, as the statement's `timeout` does (which
  // wins when both are given).
  if (const Value* t = a.Named("timeout");
      t && t->kind() == ValueKind::kDuration && t->as_duration().nanos > 0 && req->timeout_ms == 0) {
    req->timeout_ms = std::max<int64_t>(1, t->as_duration().nanos / 1'000'000);
  }
  req->args = Value::Map(std::move(m));
  return true;
}

void Runner::Impl::ChatRequest(const CallTarget& k, const Args& a, int s, const std::string& key, CallRequest* req) {
  auto named = [&](const char* n) { return a.Named(n) ? *a.Named(n) : Value(); };
  std::string prompt;
  Value model = named("model"), system = named("system"), temperature = named("temperature"),
        max_tokens = named("max_tokens");
  bool typed = false;
  Value schema = named("schema");
  if (const AgentDecl* agent = k.agent()) {
    prompt = a.positional.empty() ? "" : a.positional[0].ToDisplayString();
    if (const Value* c = a.Named("context")) prompt += "\n\nContext (JSON):\n" + c->ToJson();
    if (const TypeRef* out = AgentOutput(*agent)) {
      schema = JsonSchemaOf(program, out);
      // The last answer did not fit: say what was wrong.
      const Instance* in = st.Find(key);
      if (in && StrOf(in->last_error.Find("kind")) == "llm.schema") {
        prompt += "\n\nYour previous answer was not valid: " + StrOf(in->last_error.Find("message")) +
                  ". Answer again with one JSON object that matches the schema.";
      }
    }
    InstEnv env(*this, s, key);
    for (const auto& setting : agent->settings) {
      if (setting.key == "output") {
        typed = true;
        continue;
      }
      if (!setting.value) continue;
      EvalResult r = Evaluate(*setting.value, env);
      if (!r.ok()) continue;
      if (setting.key == "model") model = r.value();
      if (setting.key == "instructions") system = r.value();
      if (setting.key == "temperature") temperature = r.value();
      if (setting.key == "max_tokens") max_tokens = r.value();
    }
  } else {
    prompt = named("prompt").ToDisplayString();
    typed = !named("schema").is_null();
  }
  req->args = M({{S("model"), model},
                 {S("system"), system},
                 {S("prompt"), S(prompt)},
                 {S("temperature"), temperature},
                 {S("max_tokens"), max_tokens},
                 {S("typed"), Value::Bool(typed)},
                 {S("schema"), schema}});
}

bool Runner::Impl::BuildRequest(const CallTarget& k, const Args& a, int s, const std::string& key,
                                CallRequest* req, std::string* error_kind, std::string* error) {
  if (!k.known()) {
    *error_kind = "effect.unknown";
    *error = req->callee + " is not a call of this program";
    return false;
  }
  req->kind = RequestOf(k.spec->op);
  auto named = [&](const char* n) { return a.Named(n) ? *a.Named(n) : Value(); };
  auto pos = [&](size_t i) { return i < a.positional.size() ? a.positional[i] : Value(); };
  switch (k.spec->op) {
    case CallOp::kHttp:
      return HttpRequest(k, a, s, key, req, error_kind, error);
    case CallOp::kChat:
      ChatRequest(k, a, s, key, req);
      return true;
    case CallOp::kEmbed:
      req->args = M({{S("model"), named("model")}, {S("text"), named("text")}});
      return true;
    case CallOp::kSummarize: {
      std::vector<std::string> texts;
      if (pos(0).kind() == ValueKind::kList) {
        for (const Value& t : pos(0).as_list()) texts.push_back(t.ToDisplayString());
      } else {
        texts.push_back(pos(0).ToDisplayString());
      }
      req->args = SummaryArgs(named("model"), named("max_tokens"),
                              named("previous").is_null() ? "" : named("previous").ToDisplayString(), texts);
      return true;
    }
    case CallOp::kEntitySummary:
      return SummaryRequest(*k.entity(), a, req, error_kind, error);
    case CallOp::kKbAdd:
    case CallOp::kKbSearch: {
      // The text is embedded by the config's kb model; FinishKb stores the
      // entry or ranks the collection.
      if (!opt.config || opt.config->kb_model.empty()) {
        *error_kind = "llm.config";
        *error = req->callee + " needs a model to embed with: kb: {model: NAME} in aos.yaml";
        return false;
      }
      const bool add = k.spec->op == CallOp::kKbAdd;
      if (pos(0).ToDisplayString().find('\0') != std::string::npos ||
          (add && pos(1).ToDisplayString().find('\0') != std::string::npos)) {
        *error_kind = "expr.error";
        *error = req->callee + ": a collection or id cannot hold the NUL character (\\u0000)";
        return false;
      }
      ValueMap m = {{S("model"), S(opt.config->kb_model)},
                    {S("text"), S(pos(add ? 2 : 1).ToDisplayString())},
                    {S("kb"), S(add ? "add" : "search")},
                    {S("collection"), S(pos(0).ToDisplayString())}};
      if (add) {
        m.emplace_back(S("id"), S(pos(1).ToDisplayString()));
        m.emplace_back(S("meta"), named("meta"));
      } else {
        m.emplace_back(S("k"), named("k").kind() == ValueKind::kInt ? named("k") : Value::Int(5));
      }
      req->args = Value::Map(std::move(m));
      return true;
    }
    case CallOp::kEmail:
      req->args = Value::Map(a.named);
      return true;
    default:
      *error_kind = "effect.unknown";
      *error = req->callee + " runs in the runtime, not as a request";
      return false;
  }
}

void Runner::Impl::InlineKv(const CallTarget& k, const Args& a, int s, uint32_t node, const std::string& key) {
  const std::string kk = a.positional.empty() ? "" : a.positional[0].ToDisplayString();
  if (k.spec->op == CallOp::kKvPut) {
    Value v = a.positional.size() > 1 ? a.positional[1] : Value();
    int64_t expires = 0;
    if (const Value* ttl = a.Named("ttl"); ttl && ttl->kind() == ValueKind::kDuration) {
      expires = clock.NowNanos() + ttl->as_duration().nanos;
    }
    log.batch().Put(Column::kKv, kk, EncodeValue(KvRecord(v, expires)));
    Complete(s, node, key, v);
    return;
  }
  Value out;
  if (auto raw = StoreOf().Get(Column::kKv, kk)) {
    Value rec;
    if (DecodeValue(*raw, &rec)) {
      const Value* exp = rec.Find("exp");
      if (!exp || exp->as_int() == 0 || exp->as_int() > clock.NowNanos()) out = *rec.Find("v");
    }
  }
  Complete(s, node, key, out);
}

bool Runner::Impl::InlineCall(const CallTarget& k, const Args& a, int s, uint32_t node, const std::string& key) {
  if (k.known() && k.spec->op == CallOp::kEntitySummary) {
    SeeOwnWrites();
    return SummaryFromStore(*k.entity(), a, s, node, key);  // nothing new: no model call
  }
  if (!k.known() || RequestOf(k.spec->op) != RequestKind::kInline) return false;
  SeeOwnWrites();
  if (k.ns == CallNs::kKv) {
    InlineKv(k, a, s, node, key);
    return true;
  }
  if (k.spec->op == CallOp::kKbDelete) {
    // The entry FinishKb stored.
    const std::string collection = a.positional.size() > 0 ? a.positional[0].ToDisplayString() : "";
    if (collection.find('\0') != std::string::npos) {
      FailStep(key, "expr.error", "kb.delete: a collection cannot hold the NUL character (\\u0000)");
      return true;
    }
    const std::string ekey = KbKey(collection, a.positional.size() > 1 ? a.positional[1].ToDisplayString() : "");
    const bool had = StoreOf().Get(Column::kKb, ekey).has_value();
    if (had) log.batch().Delete(Column::kKb, ekey);
    Complete(s, node, key, Value::Bool(had));
    return true;
  }
  InlineEntity(*k.entity(), k.spec->op, a, s, node, key);
  return true;
}

}  // namespace aos
