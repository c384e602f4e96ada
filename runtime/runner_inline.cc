#include "runtime/runner_impl.h"

#include <algorithm>
#include <cmath>
#include "lang/allow.h"
#include "lang/eval_functions.h"
#include "runtime/codec.h"
#include "runtime/schema.h"

namespace aos {

double Runner::Impl::Cosine(const Value& a, const Value& b) {
  if (a.kind() != ValueKind::kList || b.kind() != ValueKind::kList || a.as_list().size() != b.as_list().size()) {
    return 0;
  }
  auto num = [](const Value& v) {
    return v.kind() == ValueKind::kDouble ? v.as_double() : v.kind() == ValueKind::kInt ? static_cast<double>(v.as_int()) : 0.0;
  };
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.as_list().size(); ++i) {
    const double x = num(a.as_list()[i]), y = num(b.as_list()[i]);
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0;
}

void Runner::Impl::FinishKb(const CallRequest& req, CallResult& r) {
  if (!r.ok || req.args.Find("kb") == nullptr) return;
  const std::string op = StrOf(req.args.Find("kb"));
  const std::string prefix = StrOf(req.args.Find("collection")) + std::string(1, '\0');
  if (op == "add") {
    const std::string id = StrOf(req.args.Find("id"));
    log.batch().Put(Column::kKb, prefix + id,
                    EncodeValue(M({{S("id"), S(id)},
                                   {S("text"), *req.args.Find("text")},
                                   {S("meta"), req.args.Find("meta") ? *req.args.Find("meta") : Value()},
                                   {S("vector"), r.value}})));
    r.value = M({{S("id"), S(id)}, {S("collection"), *req.args.Find("collection")}});
    return;
  }
  SeeOwnWrites();
  std::vector<std::pair<double, Value>> hits;
  StoreOf().Scan(Column::kKb, prefix, prefix, [&](std::string_view, std::string_view raw) {
    Value e;
    if (DecodeValue(raw, &e) && e.Find("vector")) {
      hits.emplace_back(Cosine(r.value, *e.Find("vector")), e);
    }
    return true;
  });
  std::stable_sort(hits.begin(), hits.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
  const Value* kv = req.args.Find("k");
  const size_t k = kv && kv->kind() == ValueKind::kInt && kv->as_int() > 0 ? static_cast<size_t>(kv->as_int()) : 5;
  ValueList out;
  for (size_t i = 0; i < hits.size() && i < k; ++i) {
    const Value& e = hits[i].second;
    out.push_back(M({{S("id"), *e.Find("id")},
                     {S("text"), e.Find("text") ? *e.Find("text") : Value()},
                     {S("meta"), e.Find("meta") ? *e.Find("meta") : Value()},
                     {S("score"), Value::Double(hits[i].first)}}));
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
    log.batch().Put(Column::kKv, kk, EncodeValue(M({{S("v"), v}, {S("exp"), Value::Int(expires)}})));
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

namespace {

// The record's declared fields, in declaration order: from `rec` where it
// has them, else the declared default, else null.
Value WithDefaults(const TypeDecl& et, const Value& rec) {
  ValueMap fields;
  for (const auto& f : et.fields) {
    const Value* v = rec.kind() == ValueKind::kMap ? rec.Find(f.name) : nullptr;
    if (v) {
      fields.emplace_back(Value::String(f.name), *v);
    } else if (f.default_value) {
      MapEnv none;
      EvalResult r = Evaluate(*f.default_value, none);
      fields.emplace_back(Value::String(f.name), r.ok() ? r.value() : Value());
    } else {
      fields.emplace_back(Value::String(f.name), Value());
    }
  }
  return Value::Map(std::move(fields));
}

// The entities column: a record at "E\0key". An indexed field's entries
// sit beside: "E\x01field\0" + the value's encoding (self-delimiting) + the
// key, and "E\x02field" marks an index built over every record (E.find
// builds it when first asked, for records written before it was declared).
std::string RecordPrefix(const std::string& type) { return type + '\0'; }
std::string IndexHead(const std::string& type, std::string_view field) {
  return type + '\x01' + std::string(field) + '\0';
}
std::string IndexMarks(const std::string& type) { return type + '\x02'; }
// The encoding of record r's field, none when absent or null.
std::optional<std::string> FieldEncoding(const Value& r, std::string_view field) {
  const Value* f = r.kind() == ValueKind::kMap ? r.Find(field) : nullptr;
  if (!f || f->is_null()) return std::nullopt;
  return EncodeValue(*f);
}

// Patches of one record by runs of this process (serve runs several) are
// read, changed and written under this lock, and the write is flushed
// before it is released: no patch reads a record another has changed but
// not yet written. One process writes a data directory (rocks_store.cc).
std::mutex patch_mu;

}  // namespace

bool Runner::Impl::InlineCall(const CallTarget& k, const Args& a, int s, uint32_t node, const std::string& key) {
  if (!k.known() || RequestOf(k.spec->op) != RequestKind::kInline) return false;
  SeeOwnWrites();
  Store& store = StoreOf();
  if (k.ns == CallNs::kKv) {
    InlineKv(k, a, s, node, key);
    return true;
  }
  if (k.spec->op == CallOp::kKbDelete) {
    // The entry FinishKb stored: collection \0 id.
    const std::string ekey = (a.positional.size() > 0 ? a.positional[0].ToDisplayString() : "") + std::string(1, '\0') +
                             (a.positional.size() > 1 ? a.positional[1].ToDisplayString() : "");
    const bool had = store.Get(Column::kKb, ekey).has_value();
    if (had) log.batch().Delete(Column::kKb, ekey);
    Complete(s, node, key, Value::Bool(had));
    return true;
  }
  const TypeDecl& et = *k.entity();
  const std::string prefix = RecordPrefix(et.name);
  const Field* key_field = et.KeyField();
  auto load = [&](const std::string& id) { return LoadRecord(et.name, id); };
  const CallOp op = k.spec->op;
  if (op == CallOp::kEntityList) {
    InlineList(et, a, s, node, key);
    return true;
  }
  if (op == CallOp::kEntityGet || op == CallOp::kEntityDelete) {
    const std::string id = a.positional.empty() ? "" : a.positional[0].ToDisplayString();
    Value before = load(id);
    if (op == CallOp::kEntityGet) {
      Complete(s, node, key, before);
      return true;
    }
    if (!before.is_null()) {
      log.batch().Delete(Column::kEntities, prefix + id);
      Reindex(et, id, before, Value());
      log.Append(key, events::EntityChanged{et.name, id, before, Value()});
    }
    Complete(s, node, key, Value::Bool(!before.is_null()));
    return true;
  }
  if (op == CallOp::kEntityPatch) {
    InlinePatch(et, a, s, node, key);
    return true;
  }
  if (op == CallOp::kEntityFind) {
    InlineFind(et, a, s, node, key);
    return true;
  }
  // upsert: the record, with declared defaults filled in.
  const Value rec = a.positional.empty() ? Value() : a.positional[0];
  if (rec.kind() != ValueKind::kMap || !key_field) {
    FailStep(key, "expr.error", et.name + ".upsert needs a record");
    return true;
  }
  Value after = WithDefaults(et, rec);
  const Value* idv = after.Find(key_field->name);
  if (!idv || idv->is_null()) {
    FailStep(key, "expr.error", et.name + ".upsert: the key field '" + key_field->name + "' is missing");
    return true;
  }
  const std::string id = idv->ToDisplayString();
  // Checked before anything is written: the step fails with nothing queued.
  if (TooDeep(key, after) || !RefsExist(et, after, key)) return true;
  Value before = load(id);
  log.batch().Put(Column::kEntities, prefix + id, EncodeValue(after));
  Reindex(et, id, before, after);
  log.Append(key, events::EntityChanged{et.name, id, before, after});
  Complete(s, node, key, after);
  return true;
}

Value Runner::Impl::LoadRecord(const std::string& type, const std::string& id) {
  auto raw = StoreOf().Get(Column::kEntities, RecordPrefix(type) + id);
  Value v;
  if (raw && DecodeValue(*raw, &v)) return v;
  return Value();
}

bool Runner::Impl::RefsExist(const TypeDecl& et, const Value& rec, const std::string& key) {
  for (const auto& f : et.fields) {
    if (!f.type || f.type->name != "ref" || f.type->params.empty()) continue;
    const Value* v = rec.Find(f.name);
    if (!v || v->is_null()) continue;
    const std::string& target = f.type->params[0]->name;
    if (!StoreOf().Get(Column::kEntities, RecordPrefix(target) + v->ToDisplayString())) {
      FailStep(key, "entity.ref", et.name + "." + f.name + " is ref<" + target + ">, but no " + target +
                                      " record has the key '" + v->ToDisplayString() + "'");
      return false;
    }
  }
  return true;
}

void Runner::Impl::Reindex(const TypeDecl& et, const std::string& id, const Value& before, const Value& after) {
  // The fields this program indexes, and those an index was built for
  // (marked) by any program: a program that does not declare an index still
  // keeps it, so a find never misses a record it changed.
  std::set<std::string> fields;
  for (const auto& ix : et.indexes) fields.emplace(ix.field);
  const std::string marks = IndexMarks(et.name);
  StoreOf().Scan(Column::kEntities, marks, marks, [&](std::string_view k, std::string_view) {
    fields.emplace(k.substr(marks.size()));
    return true;
  });
  for (const std::string& field : fields) {
    const auto b = FieldEncoding(before, field), a = FieldEncoding(after, field);
    if (b == a) continue;
    const std::string head = IndexHead(et.name, field);
    if (b) log.batch().Delete(Column::kEntities, head + *b + id);
    if (a) log.batch().Put(Column::kEntities, head + *a + id, id);
  }
}

// E.find(F: value): by the index's entries, each checked against its record
// (a program without the index may have changed the record since).
void Runner::Impl::InlineFind(const TypeDecl& et, const Args& a, int s, uint32_t node, const std::string& key) {
  if (a.named.size() != 1 || a.named[0].first.kind() != ValueKind::kString) {
    FailStep(key, "expr.error", et.name + ".find needs one indexed field");
    return;
  }
  const std::string field = a.named[0].first.as_string();
  const Value& want = a.named[0].second;
  const std::string enc = EncodeValue(want);
  const std::string records = RecordPrefix(et.name);
  const std::string head = IndexHead(et.name, field);
  const std::string mark = IndexMarks(et.name) + field;
  Store& store = StoreOf();
  ValueList items;
  if (!store.Get(Column::kEntities, mark)) {
    // First use: build the index from every record, and answer from them.
    store.Scan(Column::kEntities, records, records, [&](std::string_view k, std::string_view raw) {
      Value v;
      if (!DecodeValue(raw, &v)) return true;
      const std::string id(k.substr(records.size()));
      const auto f = FieldEncoding(v, field);
      if (f) log.batch().Put(Column::kEntities, head + *f + id, id);
      if (f == enc) items.push_back(std::move(v));
      return true;
    });
    log.batch().Put(Column::kEntities, mark, "1");
  } else if (!want.is_null()) {
    const std::string prefix = head + enc;
    store.Scan(Column::kEntities, prefix, prefix, [&](std::string_view k, std::string_view) {
      const std::string id(k.substr(prefix.size()));
      Value v = LoadRecord(et.name, id);
      if (FieldEncoding(v, field) == enc) items.push_back(std::move(v));
      return true;
    });
  }
  Complete(s, node, key, Value::List(std::move(items)));
}

// E.list: the records where `where` holds (evaluated per record with `it`
// bound), in key order or by a field, the first `limit`.
void Runner::Impl::InlineList(const TypeDecl& et, const Args& a, int s, uint32_t node, const std::string& key) {
  int64_t limit = INT64_MAX;
  if (const Value* l = a.Named("limit"); l && l->kind() == ValueKind::kInt) limit = std::max<int64_t>(0, l->as_int());
  std::string order_by;
  if (const Value* o = a.Named("order_by"); o && o->kind() == ValueKind::kString) order_by = o->as_string();
  const Value* desc = a.Named("desc");
  const bool descending = desc && desc->kind() == ValueKind::kBool && desc->as_bool();
  const Call& call = *StmtOf(node).call;
  const Expr* where = nullptr;
  for (size_t i = 0; i < call.args.size(); ++i) {
    if (call.arg_names[i] == "where") where = call.args[i];
  }
  const std::string prefix = RecordPrefix(et.name);
  ValueList items;
  bool failed = false;
  StoreOf().Scan(Column::kEntities, prefix, prefix, [&](std::string_view, std::string_view raw) {
    // In key order the first `limit` that pass are the answer.
    if (order_by.empty() && static_cast<int64_t>(items.size()) >= limit) return false;
    Value stored;
    if (!DecodeValue(raw, &stored)) return true;
    // As a patch sees it: fields declared since it was written at their defaults.
    Value v = WithDefaults(et, stored);
    if (where) {
      Value keep;
      if (!EvalOrFail(*where, s, key, &keep, "where", node, &v)) {
        failed = true;
        return false;
      }
      if (keep.kind() != ValueKind::kBool) {
        FailStep(key, "expr.error", "where: is " + std::string(KindName(keep.kind())) + ", not bool");
        failed = true;
        return false;
      }
      if (!keep.as_bool()) return true;
    }
    items.push_back(std::move(v));
    return true;
  });
  if (failed) return;
  if (!order_by.empty()) {
    auto field = [&](const Value& r) {
      const Value* f = r.Find(order_by);
      return f ? *f : Value();
    };
    // Nulls last either way; the rest ascending or, with desc, descending.
    std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
      const Value fx = field(x), fy = field(y);
      if (fx.is_null() || fy.is_null()) return !fx.is_null() && fy.is_null();
      return descending ? SortsBefore(fy, fx) : SortsBefore(fx, fy);
    });
    if (static_cast<int64_t>(items.size()) > limit) items.resize(static_cast<size_t>(limit));
  }
  Complete(s, node, key, Value::List(std::move(items)));
}

void Runner::Impl::InlinePatch(const TypeDecl& et, const Args& a, int s, uint32_t node, const std::string& key) {
  const Field* key_field = et.KeyField();
  const Value idv = a.positional.empty() ? Value() : a.positional[0];
  if (!key_field || idv.is_null()) {
    FailStep(key, "expr.error", et.name + ".patch needs the key of a record");
    return;
  }
  const std::string id = idv.ToDisplayString();
  const std::string skey = RecordPrefix(et.name) + id;
  std::lock_guard<std::mutex> lock(patch_mu);
  const Value before = LoadRecord(et.name, id);
  // `it`: the stored record, its absent fields at their defaults (a record
  // not stored yet: the defaults and the key).
  const Value it = WithDefaults(et, before.is_null() ? M({{S(key_field->name), idv}}) : before);
  Value changes;
  if (!EvalOrFail(*StmtOf(node).call->args[1], s, key, &changes, "the changes", node, &it)) return;
  if (changes.kind() != ValueKind::kMap) {
    FailStep(key, "expr.error", et.name + ".patch: the changes must be a map of fields, not " +
                                    std::string(KindName(changes.kind())));
    return;
  }
  ValueMap fields = it.as_map();
  for (const auto& [name, value] : changes.as_map()) {
    const std::string f = name.ToDisplayString();
    auto at = std::find_if(fields.begin(), fields.end(), [&](const auto& kv) { return kv.first.ToDisplayString() == f; });
    if (at == fields.end() || f == key_field->name) {
      FailStep(key, "expr.error", et.name + ".patch: " +
                                      (at == fields.end() ? "no field '" + f + "'" : "the key field '" + f + "' cannot change"));
      return;
    }
    at->second = value;
  }
  Value after = Value::Map(std::move(fields));
  if (TooDeep(key, after) || !RefsExist(et, after, key)) return;
  log.batch().Put(Column::kEntities, skey, EncodeValue(after));
  Reindex(et, id, before, after);
  log.Append(key, events::EntityChanged{et.name, id, before, after});
  Complete(s, node, key, after);
  log.Flush(opt.durability == Durability::kStrict);
}

}  // namespace aos
