#include "runtime/runner_impl.h"

#include <algorithm>
#include "lang/model_cost.h"
#include "lang/plan.h"
#include "runtime/codec.h"
#include "runtime/schema.h"

namespace aos {

std::string Runner::Impl::CacheKey(const CallRequest& req) const {
  std::string model;
  if (req.kind == RequestKind::kLlm && opt.config) {
    auto it = opt.config->models.find(StrOf(req.args.Find("model")));
    if (it != opt.config->models.end()) model = it->second.base_url + "\n" + it->second.model;
  }
  return Digest(std::string(RequestKindName(req.kind)) + "\n" + req.callee + "\n" + model + "\n" + EncodeValue(req.args));
}

void Runner::Impl::CacheHit(int s, uint32_t node, const std::string& key, const CallRequest& req, Value value) {
  ValueMap usage;
  if (req.kind == RequestKind::kLlm && value.kind() == ValueKind::kMap) {
    ValueMap m = value.as_map();
    std::string currency = "usd";
    for (auto& [k, v] : m) {
      if (k.kind() == ValueKind::kString && k.as_string() == "cost" && v.kind() == ValueKind::kMoney) {
        currency = v.as_money().currency;
        v = Value::MoneyOf(Money{0, currency});
      }
    }
    value = Value::MapOfUnique(std::move(m));
    usage = {{S("model"), value.Find("model") ? *value.Find("model") : Value()},
             {S("tokens_in"), Value::Int(0)},
             {S("tokens_out"), Value::Int(0)},
             {S("cost"), Value::MoneyOf(Money{0, currency})}};
  }
  events::StepCompleted e{.result = value, .cache = "hit"};
  if (!usage.empty()) e.usage = M(std::move(usage));
  log.Append(key, e);
  MarkFinished(s, node, true);
}

void Runner::Impl::CacheStore(uint32_t node, const std::string& cache_key, const Value& value) {
  const Modifier* cm = StmtOf(node).FindModifier(ModifierKind::kCache);
  if (cache_key.empty() || !cm) return;
  const int64_t ttl = cm->ttl ? cm->ttl->nanos : 24LL * 3600 * 1'000'000'000;
  log.batch().Put(Column::kCache, cache_key,
                  EncodeValue(M({{S("value"), value},
                                 {S("expires"), Value::Int(clock.NowNanos() + ttl)},
                                 {S("at"), Value::Int(clock.NowNanos())}})));
}

const TypeRef* Runner::Impl::AgentOutput(const AgentDecl& agent) {
  for (const auto& setting : agent.settings) {
    if (setting.key == "output" && setting.type) return setting.type.get();
  }
  return nullptr;
}

void Runner::Impl::CheckTypedAnswer(uint32_t node, CallResult& r) {
  const Stmt& stmt = StmtOf(node);
  if (!r.ok || !stmt.call) return;
  const CallTarget k = Target(*stmt.call);
  const TypeRef* out = k.agent() ? AgentOutput(*k.agent()) : nullptr;
  if (!out) return;
  const Value* data = r.value.Find("data");
  Value fixed;
  const std::string err = CheckValue(program, out, data ? *data : Value(), &fixed);
  if (!err.empty()) {
    r.ok = false;
    r.error_kind = "llm.schema";
    r.message = "the answer does not match " + out->name + ": " + err;
    return;
  }
  ValueMap m = r.value.as_map();
  for (auto& [key, v] : m) {
    if (key.kind() == ValueKind::kString && key.as_string() == "data") v = fixed;
  }
  r.value = Value::MapOfUnique(std::move(m));
}

bool Runner::Impl::EvalArgs(const Call& call, int s, const std::string& key, uint32_t node, Args* out) {
  const CallTarget k = Target(call);
  for (size_t i = 0; i < call.args.size(); ++i) {
    Value v;
    // A patch's changes are evaluated when the record is read (InlineCall).
    if (ArgSeesIt(k, call, i)) {
      if (call.arg_names[i].empty()) {
        out->positional.push_back(Value());
      } else {
        out->named.emplace_back(S(std::string(call.arg_names[i])), Value());
      }
      continue;
    }
    if (!EvalOrFail(*call.args[i], s, key, &v, "argument", node)) return false;
    if (call.arg_names[i].empty()) {
      out->positional.push_back(std::move(v));
    } else {
      out->named.emplace_back(S(std::string(call.arg_names[i])), std::move(v));
    }
  }
  return true;
}

std::string Runner::Impl::Upper(std::string m) {
  for (auto& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return m;
}

const RetrySpec* Runner::Impl::RetryOf(const Stmt& stmt) const {
  if (const Modifier* m = stmt.FindModifier(ModifierKind::kRetry)) return m->retry.get();
  if (wf.retry) return &*wf.retry;
  return nullptr;
}

bool Runner::Impl::Retryable(const RetrySpec* r, const std::string& kind) {
  if (!r || r->on.empty()) return RetriedByDefault(kind);
  for (const auto& k : r->on) {
    if (ErrorKindMatches(k, kind)) return true;
  }
  return false;
}

void Runner::Impl::SeeOwnWrites() {
  if (log.batch().state_writes) log.Flush(opt.durability == Durability::kStrict);
}

bool Runner::Impl::Escalated(int s, uint32_t node, const std::string& key, Instance& in) {
  if (!in.requested || StrOf(in.request.Find("purpose")) != "escalate") return false;
  if (!in.decided) {
    Block(s, node);
    return true;
  }
  const Value* ap = in.decision.Find("approved");
  const Value* data = in.decision.Find("data");
  if (!ap || !ap->as_bool()) {
    FailStep(key, StrOf(in.last_error.Find("kind")).empty() ? "approval.rejected" : StrOf(in.last_error.Find("kind")),
             "the operator chose to fail " + key + " after: " + StrOf(in.last_error.Find("message")));
    return true;
  }
  if (data && data->Find("skip")) {
    DropClaim(key);
    Complete(s, node, key, *data->Find("skip"));
    return true;
  }
  log.Append(key, events::StepScheduled{.reset = true});
  return false;
}

bool Runner::Impl::EffectMayGo(int s, uint32_t node, const std::string& key, const Args& a, std::string* ekey) {
  const Stmt& stmt = StmtOf(node);
  const Call& call = *stmt.call;
  Instance& in = st.At(key);
  *ekey = in.key;  // recorded by an earlier intent; else evaluated (deterministically)
  if (ekey->empty()) {
    const Modifier* km = stmt.FindModifier(ModifierKind::kKey);
    Value kv;
    if (!km || !EvalOrFail(*km->value, s, key, &kv, "key", node)) return false;
    *ekey = kv.ToDisplayString();
  }
  // Within a run a key names one request: a second effect with the same
  // key and another request would reach a deduplicating receiver as a
  // replay and be dropped, or be sent twice under one key elsewhere.
  if (!in.intent) {
    const std::string digest = RequestDigest(call, a);
    auto owner = st.effect_key_owner.find(*ekey);
    if (owner != st.effect_key_owner.end() && owner->second != key) {
      const Instance& first = st.At(owner->second);
      if (first.request_digest != digest) {
        FailStep(key, "effect.key_conflict",
                 "effects " + owner->second + " and " + key + " have the same key '" + *ekey +
                     "' but different requests: a key must name one request");
        return false;
      }
      // The same request under the same key is the same effect: its
      // result once done (the store may not have it yet), never a
      // second send (SMTP cannot deduplicate).
      if (first.status == InstStatus::kDone) {
        log.Append(key, events::EffectCompleted{.key = *ekey, .result = first.result, .reused = true});
        Complete(s, node, key, first.result);
        return false;
      }
      if (first.status != InstStatus::kFailed) {
        Block(s, node);  // until the first one ends
        return false;
      }
    }
  }
  // Across runs: a completed key returns its recorded result.
  if (!st.replay_effects) {
    IdemRecord prior = DecodeIdemRecord(StoreOf().Get(Column::kIdempotency, IdempotencyKey(*ekey)));
    if (prior.kind == IdemRecord::Kind::kDone) {
      log.Append(key, events::EffectCompleted{.key = *ekey, .result = prior.result, .reused = true});
      Complete(s, node, key, prior.result);
      return false;
    }
  }
  return Confirmed(s, node, key, *ekey);
}

bool Runner::Impl::ClaimKey(int s, uint32_t node, const std::string& key, const std::string& ekey) {
  if (st.replay_effects) return true;  // the operator asked to send again
  // The run's index first: a run that claims a key must be found running
  // by another looking at its claim, never taken for one that is gone.
  if (log.pending() > 0) log.Flush(false);
  const ClaimOutcome c = ClaimIdempotencyKey(StoreOf(), IdempotencyKey(ekey), st.run_id, key);
  if (c.kind == ClaimOutcome::Kind::kHeld) {
    // Look again after 1, 2, 4, 8 and 16 s, then every 5 minutes: past
    // max_inline_wait_ms the run waits, and serve or `resume` looks again.
    KeyWait& w = key_waits[key];
    const int64_t delay_ms = w.turns < 5 ? (1000LL << w.turns) : 300'000;
    ++w.turns;
    w.due = clock.NowNanos() + delay_ms * 1'000'000;
    w.holder = c.holder_run;
    Block(s, node);
    return false;
  }
  key_waits.erase(key);
  if (c.kind == ClaimOutcome::Kind::kDone) {
    log.Append(key, events::EffectCompleted{.key = ekey, .result = c.result, .reused = true});
    Complete(s, node, key, c.result);
    return false;
  }
  return true;
}

void Runner::Impl::SeedKeyWaits() {
  if (st.waiting_on.kind() != ValueKind::kList) return;
  for (const auto& w : st.waiting_on.as_list()) {
    const Value* turns = w.Find("turns");
    if (StrOf(w.Find("kind")) != "effect_key" || !turns || turns->kind() != ValueKind::kInt) continue;
    key_waits[StrOf(w.Find("name"))].turns = static_cast<int>(std::clamp<int64_t>(turns->as_int(), 0, 64));
  }
}

void Runner::Impl::DropClaim(const std::string& key) {
  const Instance* in = st.Find(key);
  if (st.replay_effects || !in || in->key.empty() || in->request_digest.empty()) return;
  const std::string record = IdempotencyKey(in->key);
  if (HoldsClaim(StoreOf(), record, st.run_id, key)) log.batch().Delete(Column::kIdempotency, record);
}

bool Runner::Impl::Confirmed(int s, uint32_t node, const std::string& key, const std::string& ekey) {
  const Stmt& stmt = StmtOf(node);
  const Call& call = *stmt.call;
  if (!stmt.FindModifier(ModifierKind::kConfirm) || st.At(key).confirmed) return true;
  if (!st.At(key).requested || StrOf(st.At(key).request.Find("purpose")) != "confirm") {
    // The operator sees the request as it will be made, secrets masked.
    Args shown;
    redact_secrets = true;
    const bool ok = EvalArgs(call, s, key, node, &shown);
    redact_secrets = false;
    if (!ok) return false;
    RequestApproval(key, "confirm", "Run effect " + key + " (" + call.callee + ") with key '" + ekey + "'?",
                    M({{S("call"), S(call.callee)},
                       {S("args"), Value::List(shown.positional)},
                       {S("named"), M(shown.named)},
                       {S("key"), S(ekey)}}),
                    0, "");
  }
  Instance& in = st.At(key);
  if (!in.decided) {
    Block(s, node);
    return false;
  }
  const Value* ap = in.decision.Find("approved");
  if (!ap || !ap->as_bool()) {
    FailStep(key, "approval.rejected", "the effect " + key + " was not confirmed");
    return false;
  }
  return true;
}

bool Runner::Impl::CachedAnswer(int s, uint32_t node, const std::string& key, const CallRequest& req,
                                std::string* ckey) {
  if (StmtOf(node).kind == StmtKind::kEffect || !StmtOf(node).FindModifier(ModifierKind::kCache)) return false;
  *ckey = CacheKey(req);
  auto raw = StoreOf().Get(Column::kCache, *ckey);
  if (!raw) return false;
  Value entry;
  if (DecodeValue(*raw, &entry) && entry.Find("expires") && entry.Find("value") &&
      (entry.Find("expires")->as_int() == 0 || entry.Find("expires")->as_int() > clock.NowNanos())) {
    CacheHit(s, node, key, req, *entry.Find("value"));
    return true;
  }
  return false;
}

void Runner::Impl::StartAttempt(int s, uint32_t node, const std::string& key, const Args& a, const std::string& ekey,
                                CallRequest req, std::string ckey) {
  const Stmt& stmt = StmtOf(node);
  if (req.kind == RequestKind::kLlm && BudgetNanos() >= 0) {
    // Held until the call ends, so that parallel calls share the budget.
    const int64_t est = EstimateNanos(req);
    reserved_nanos += est;
    reserved[key] = est;
  }
  Instance& in = st.At(key);
  events::AttemptStarted started{.attempt = in.attempts + (in.in_flight ? 0 : 1)};
  if (in.attempts == 0) {
    if (Value d = Describe(stmt, s, key); !d.is_null()) started.describe = d.as_string();
  }
  log.Append(key, started);
  if (stmt.kind == StmtKind::kEffect) {
    log.Append(key, events::EffectIntent{.key = ekey, .request_digest = RequestDigest(*stmt.call, a)});
    log.Flush(/*sync=*/true);  // the intent is durable before the world is touched
  } else if (opt.durability == Durability::kStrict) {
    log.Flush(true);
  }
  Dispatch(Job{key, s, node, std::move(req), clock.NowNanos(), std::move(ckey)});
}

void Runner::Impl::AdvanceCall(int s, uint32_t node, const std::string& key, Instance& in) {
  const Stmt& stmt = StmtOf(node);
  if (dispatched.count(key)) return;  // on a worker now
  const bool effect = stmt.kind == StmtKind::kEffect;
  if (Escalated(s, node, key, in)) return;
  if (in.retry_due > clock.NowNanos()) {
    Block(s, node);
    return;
  }
  if (auto w = key_waits.find(key); w != key_waits.end() && w->second.due) {
    if (w->second.due > clock.NowNanos()) {
      Block(s, node);
      return;
    }
    w->second.due = 0;  // look at the key again now (a due passed is no wake-up)
  }
  if (in_flight >= opt.concurrency) {
    deferred.emplace_back(s, node);
    return;
  }
  const Call& call = *stmt.call;
  Args a;
  if (!EvalArgs(call, s, key, node, &a)) return;
  const CallTarget k = Target(call);
  if (!effect && InlineCall(k, a, s, node, key)) return;

  CallRequest req;
  req.callee = call.callee;
  req.instance = key;
  if (const Modifier* t = stmt.FindModifier(ModifierKind::kTimeout); t && t->value) {
    Value tv;
    if (!EvalOrFail(*t->value, s, key, &tv, "timeout", node)) return;
    if (tv.kind() == ValueKind::kDuration) req.timeout_ms = tv.as_duration().nanos / 1'000'000;
  }
  std::string ekey;  // the effect's idempotency key
  if (effect) {
    if (!EffectMayGo(s, node, key, a, &ekey)) return;
    req.idempotency_key = ekey;
  }
  std::string ekind, emsg;
  if (!BuildRequest(k, a, s, key, &req, &ekind, &emsg)) {
    FailStep(key, ekind, emsg);
    return;
  }
  // `cache`: an identical call (callee, evaluated arguments, model
  // settings) made within the TTL by any run answers from the cache.
  std::string ckey;
  if (CachedAnswer(s, node, key, req, &ckey)) return;
  if (req.kind == RequestKind::kLlm && !BudgetAllows(s, node, key, req)) return;
  if (effect && !ClaimKey(s, node, key, ekey)) return;
  StartAttempt(s, node, key, a, ekey, std::move(req), std::move(ckey));
}

std::string Runner::Impl::RequestDigest(const Call& call, const Args& a) {
  return Digest(call.callee + EncodeValue(Value::List(a.positional)) + EncodeValue(M(a.named)));
}

}  // namespace aos
