#include "runtime/runner_impl.h"

#include <algorithm>

namespace aos {

bool Runner::Impl::WantsCompensation() const {
  if (wf.on_failure == FailurePolicy::kCompensate) return true;
  if (wf.on_failure != FailurePolicy::kDefault) return false;
  for (const auto& n : dag.nodes) {
    if (n.stmt && n.stmt->FindModifier(ModifierKind::kCompensate)) return true;
  }
  return false;
}

void Runner::Impl::IndexInstances() {
  where.clear();
  for (int id = 0; id < static_cast<int>(scopes.size()); ++id) {
    for (uint32_t m : Members(scopes[id].for_node)) where[Key(id, m)] = {id, m};
  }
}

bool Runner::Impl::Compensate(bool cancel, Value* waiting) {
  IndexInstances();
  if (!st.compensating) {
    log.Append("", events::CompensationStarted{fail_error, cancel});
  }
  const std::vector<std::string> effects = st.completed_effects;
  for (auto it = effects.rbegin(); it != effects.rend(); ++it) {
    const std::string& inst = *it;
    if (std::find(st.compensated.begin(), st.compensated.end(), inst) != st.compensated.end()) continue;
    auto w = where.find(inst);
    if (w == where.end()) {
      log.Append("", events::CompensationCompleted{
                         .for_inst = inst, .ok = false, .error = "its statement is not in the workflow any more (upgraded)"});
      continue;
    }
    const auto [s, node] = w->second;
    const Modifier* cm = StmtOf(node).FindModifier(ModifierKind::kCompensate);
    if (!cm || !cm->call) {
      log.Append("", events::CompensationCompleted{.for_inst = inst, .ok = true, .none = true});
      continue;
    }
    const std::string ukey = st.At(inst).key + ":undo";
    CallRequest req;
    std::string why;
    bool ok = UndoRequest(*cm->call, s, inst, &req, &why);
    if (ok) {
      const Undo u = RunUndo(node, inst, req, cancel, waiting, &why);
      if (u == Undo::kWaiting) return false;
      ok = u == Undo::kDone;
    }
    events::CompensationCompleted done{.for_inst = inst, .key = ukey, .ok = ok};
    if (!ok) done.error = RedactSecrets(why);
    log.Append("", done);
    log.Flush(opt.durability == Durability::kStrict);
  }
  return true;
}

bool Runner::Impl::UndoRequest(const Call& call, int s, const std::string& inst, CallRequest* req,
                               std::string* why) {
  Args a;
  for (size_t i = 0; i < call.args.size(); ++i) {
    EvalResult r = Eval(*call.args[i], s, inst);
    if (!r.ok()) {
      *why = r.error().message;
      return false;
    }
    if (call.arg_names[i].empty()) {
      a.positional.push_back(r.value());
    } else {
      a.named.emplace_back(S(std::string(call.arg_names[i])), r.value());
    }
  }
  req->callee = call.callee;
  req->instance = inst + ":undo";
  req->idempotency_key = st.At(inst).key + ":undo";
  std::string ekind;
  return BuildRequest(Target(call), a, s, inst, req, &ekind, why);
}

Runner::Impl::Undo Runner::Impl::RunUndo(uint32_t node, const std::string& inst, const CallRequest& req,
                                         bool cancel, Value* waiting, std::string* why) {
  const std::string& undo = req.instance;
  const std::string& ukey = req.idempotency_key;
  const std::string idem = IdempotencyKey(ukey);
  Value result;
  auto raw = st.replay_effects ? std::nullopt : StoreOf().Get(Column::kIdempotency, idem);
  if (raw && DecodeValue(*raw, &result)) {
    log.Append(undo, events::EffectCompleted{.key = ukey, .result = result, .undo = true, .reused = true});
    return Undo::kDone;
  }
  log.Append(undo, events::EffectIntent{.key = ukey, .undo = true});
  log.Flush(true);
  // The effect's retry policy (at least two more tries), with its backoff
  // slept inline while short; a longer one waits.
  const RetrySpec* spec = RetryOf(StmtOf(node));
  const int allowed = 1 + static_cast<int>(spec ? std::max<int64_t>(spec->attempts, 2) : 2);
  CallResult r;
  for (int attempt = 1;; ++attempt) {
    r = calls.Invoke(req);
    r.message = RedactSecrets(r.message);
    if (r.ok || !Retryable(spec, r.error_kind)) break;
    const int64_t delay_ms = BackoffMs(spec, attempt - 1, r.retry_after_ms);
    log.Append(undo, events::AttemptFailed{.attempt = attempt,
                                           .kind = r.error_kind,
                                           .message = r.message,
                                           .retryable = attempt < allowed,
                                           .delay_ms = delay_ms});
    const bool gives_up = attempt >= allowed || delay_ms > opt.max_inline_wait_ms;
    if (gives_up && cancel) break;  // a cancel ends the run: the undo is recorded as failed
    if (gives_up) {
      // Still failing: the run waits for this undo (the receiver may be
      // down for a while); `resume` tries it again.
      const int64_t due = clock.NowNanos() + std::max<int64_t>(delay_ms, 1000) * 1'000'000;
      log.Append("", events::CompensationCompleted{.for_inst = inst,
                                                  .key = ukey,
                                                  .ok = false,
                                                  .pending = true,
                                                  .error = r.error_kind + ": " + r.message});
      *waiting = Value::List({M({{S("kind"), S("compensation")},
                                 {S("name"), S(undo)},
                                 {S("error"), S(r.error_kind + ": " + r.message)},
                                 {S("due"), Value::Time(Timestamp{due})}})});
      return Undo::kWaiting;
    }
    log.Flush(opt.durability == Durability::kStrict);
    clock.SleepUntil(clock.NowNanos() + delay_ms * 1'000'000);
  }
  if (!r.ok) {
    *why = r.error_kind + ": " + r.message;
    return Undo::kFailed;
  }
  log.Append(undo, events::EffectCompleted{.key = ukey, .result = r.value, .undo = true});
  log.batch().Put(Column::kIdempotency, idem, EncodeValue(r.value));
  return Undo::kDone;
}

void Runner::Impl::SettleInDoubt() {
  IndexInstances();
  std::vector<std::string> doubt;
  for (const auto& [key, in] : st.inst) {
    if (in.intent && in.status == InstStatus::kActive && !dispatched.count(key) && where.count(key)) {
      doubt.push_back(key);
    }
  }
  std::sort(doubt.begin(), doubt.end());
  for (const auto& key : doubt) {
    const auto [s, node] = where[key];
    while (in_flight >= opt.concurrency) Collect(0);
    AdvanceCall(s, node, key, st.At(key));
  }
  while (in_flight > 0) Collect(0);
  ready.clear();  // retries the failures asked for: the run is ending
}

RunOutcome Runner::Impl::EndFailed(bool cancelled) {
  while (in_flight > 0) Collect(0);
  SettleInDoubt();
  Value waiting;
  if ((WantsCompensation() || cancelled) && !Compensate(cancelled, &waiting)) {
    log.Append("", events::RunWaiting{waiting});
    log.Flush(true);
    return OutcomeOf(st);
  }
  if (cancelled) {
    log.Append("", events::RunCancelled{});
  } else {
    log.Append("", events::RunFailed{fail_error});
  }
  log.Flush(opt.sync_at_end || opt.durability == Durability::kStrict);
  return OutcomeOf(st);
}

}  // namespace aos
