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
    for (uint32_t m : members[scopes[id].for_node + 1]) where[Key(id, m)] = {id, m};
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
    const std::string undo = inst + ":undo";
    const std::string ukey = st.At(inst).key + ":undo";
    Args a;
    bool ok = true;
    std::string why;
    for (size_t i = 0; i < cm->call->args.size() && ok; ++i) {
      EvalResult r = Eval(*cm->call->args[i], s, inst);
      if (!r.ok()) {
        ok = false;
        why = r.error().message;
        break;
      }
      if (cm->call->arg_names[i].empty()) {
        a.positional.push_back(r.value());
      } else {
        a.named.emplace_back(S(std::string(cm->call->arg_names[i])), r.value());
      }
    }
    CallRequest req;
    req.callee = cm->call->callee;
    req.instance = undo;
    req.idempotency_key = ukey;
    std::string ekind;
    if (ok && !BuildRequest(Target(*cm->call), a, s, inst, &req, &ekind, &why)) ok = false;
    Value result;
    if (ok) {
      const std::string idem = IdempotencyKey(ukey);
      auto raw = st.replay_effects ? std::nullopt : StoreOf().Get(Column::kIdempotency, idem);
      if (raw && DecodeValue(*raw, &result)) {
        log.Append(undo, events::EffectCompleted{.key = ukey, .result = result, .undo = true, .reused = true});
      } else {
        log.Append(undo, events::EffectIntent{.key = ukey, .undo = true});
        log.Flush(true);
        // The effect's retry policy (at least two more tries), with its
        // backoff slept inline while short; a longer one waits.
        const RetrySpec* spec = RetryOf(StmtOf(node));
        const int allowed = 1 + static_cast<int>(spec ? std::max<int64_t>(spec->attempts, 2) : 2);
        CallResult r;
        int64_t delay_ms = 0;
        for (int attempt = 1;; ++attempt) {
          r = calls.Invoke(req);
          r.message = RedactSecrets(r.message);
          if (r.ok || !Retryable(spec, r.error_kind)) break;
          delay_ms = BackoffMs(spec, attempt - 1, r.retry_after_ms);
          log.Append(undo, events::AttemptFailed{.attempt = attempt,
                                                 .kind = r.error_kind,
                                                 .message = r.message,
                                                 .retryable = attempt < allowed,
                                                 .delay_ms = delay_ms});
          if ((attempt >= allowed || delay_ms > opt.max_inline_wait_ms) && cancel) {
            break;  // a cancel ends the run: the undo is recorded as failed
          }
          if (attempt >= allowed || delay_ms > opt.max_inline_wait_ms) {
            // Still failing: the run waits for this undo (the receiver may
            // be down for a while); `resume` tries it again.
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
            return false;
          }
          log.Flush(opt.durability == Durability::kStrict);
          clock.SleepUntil(clock.NowNanos() + delay_ms * 1'000'000);
        }
        if (r.ok) {
          result = r.value;
          log.Append(undo, events::EffectCompleted{.key = ukey, .result = result, .undo = true});
          log.batch().Put(Column::kIdempotency, idem, EncodeValue(result));
        } else {
          ok = false;
          why = r.error_kind + ": " + r.message;
        }
      }
    }
    events::CompensationCompleted done{.for_inst = inst, .key = ukey, .ok = ok};
    if (!ok) done.error = RedactSecrets(why);
    log.Append("", done);
    log.Flush(opt.durability == Durability::kStrict);
  }
  return true;
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
