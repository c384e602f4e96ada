#include "runtime/run_state.h"

#include "runtime/events.h"

#include <algorithm>
#include <cstdint>

namespace aos {

const char* RunStatusName(RunStatus s) {
  switch (s) {
    case RunStatus::kRunning: return "running";
    case RunStatus::kWaiting: return "waiting";
    case RunStatus::kCompleted: return "completed";
    case RunStatus::kFailed: return "failed";
    case RunStatus::kCancelled: return "cancelled";
  }
  return "?";
}

namespace {

std::string Str(const Value& v) { return v.kind() == ValueKind::kString ? v.as_string() : ""; }
int64_t Int(const Value& v) { return v.kind() == ValueKind::kInt ? v.as_int() : 0; }
bool Bool(const Value& v) { return v.kind() == ValueKind::kBool && v.as_bool(); }

}  // namespace

// A model call's cost (StepCompleted or AttemptFailed usage), saturating;
// a negative cost from a confused server adds nothing.
void RunState::AddSpending(const std::optional<Value>& usage) {
  const Value* cost = usage ? usage->Find("cost") : nullptr;
  if (!cost || cost->kind() != ValueKind::kMoney || cost->as_money().nanos <= 0) return;
  if (__builtin_add_overflow(spent_nanos, cost->as_money().nanos, &spent_nanos)) spent_nanos = INT64_MAX;
}

void RunState::Apply(const Event& e) {
  ++next_seq;
  updated_at = e.at_nanos;
  Instance* in = e.step.empty() ? nullptr : &inst[e.step];
  switch (e.type) {
    case EventType::kRunStarted: {
      auto ev = events::Read<events::RunStarted>(e);
      run_id = std::move(ev.run_id);
      workflow = std::move(ev.workflow);
      file = std::move(ev.file);
      source = std::move(ev.source);
      source_hash = std::move(ev.source_hash);
      inputs = std::move(ev.inputs);
      env = std::move(ev.env);
      replay_effects = ev.replay_effects;
      started_at = e.at_nanos;
      status = RunStatus::kRunning;
      break;
    }
    case EventType::kRunResumed:
      status = RunStatus::kRunning;
      waiting_on = Value();
      break;
    case EventType::kRunRetried:
      // A failed run goes on: its failed statements start afresh (the same
      // effect keys), everything completed stays as it is.
      status = RunStatus::kRunning;
      error = Value();
      first_failure = Value();
      waiting_on = Value();
      compensating = cancelling = false;  // nothing was undone (RetryRun)
      compensated.clear();
      for (const auto& name : events::Read<events::RunRetried>(e).retry) {
        // Afresh: no attempts, and no decision, gate or deadline left over
        // from the failure (a rejected escalation or confirm, a signal's
        // expired timer); an effect keeps its key and intent.
        Instance& r = inst[name];
        r.status = InstStatus::kPending;
        r.attempts = r.failures = 0;
        r.in_flight = false;
        r.retry_due = 0;
        r.last_error = Value();
        r.requested = r.decided = r.confirmed = r.timer = false;
        r.request = r.decision = Value();
        r.due = 0;
      }
      break;
    case EventType::kRunUpgraded: {
      woken = status == RunStatus::kWaiting;  // the new text may go on where the old one waited
      auto ev = events::Read<events::RunUpgraded>(e);
      source = std::move(ev.source);
      source_hash = std::move(ev.source_hash);
      if (!ev.file.empty()) file = std::move(ev.file);
      break;
    }
    case EventType::kStepScheduled: {
      auto ev = events::Read<events::StepScheduled>(e);
      if (in && ev.reset.value_or(false)) {
        // An escalation answered "retry": a fresh round of attempts.
        in->status = InstStatus::kActive;
        in->failures = 0;
        in->requested = false;
        in->decided = false;
        in->request = Value();
        in->decision = Value();
        in->retry_due = 0;
      } else if (in) {
        in->status = InstStatus::kActive;
        in->expanded = true;
        in->items = ev.items.value_or(Value());
      }
      break;
    }
    case EventType::kAttemptStarted:
      if (in) {
        in->status = InstStatus::kActive;
        in->attempts = static_cast<int>(events::Read<events::AttemptStarted>(e).attempt);
        in->in_flight = true;
      }
      break;
    case EventType::kAttemptFailed: {
      auto ev = events::Read<events::AttemptFailed>(e);
      if (in) {
        in->in_flight = false;
        ++in->failures;
        in->last_error = Value::Map({{Value::String("kind"), Value::String(ev.kind)},
                                     {Value::String("message"), Value::String(ev.message)}});
        in->retry_due = e.at_nanos + std::min<int64_t>(ev.delay_ms, 366LL * 24 * 3600 * 1000) * 1'000'000;
      }
      AddSpending(ev.usage);
      break;
    }
    case EventType::kStepCompleted: {
      auto ev = events::Read<events::StepCompleted>(e);
      if (in) {
        in->status = InstStatus::kDone;
        in->in_flight = false;
        in->result = std::move(ev.result);
      }
      AddSpending(ev.usage);
      if (ev.signal) ++signals_taken[*ev.signal];
      break;
    }
    case EventType::kStepSkipped:
      if (in) {
        in->status = InstStatus::kSkipped;
        in->in_flight = false;
        in->result = Value();
      }
      break;
    case EventType::kStepFailed:
      if (in) {
        in->status = InstStatus::kFailed;
        in->in_flight = false;
        in->last_error = e.data;
        if (first_failure.is_null()) {
          const auto ev = events::Read<events::StepFailed>(e);
          first_failure = Value::Map({{Value::String("kind"), Value::String(ev.kind)},
                                      {Value::String("message"), Value::String(ev.message)},
                                      {Value::String("step"), Value::String(e.step)}});
        }
      }
      break;
    case EventType::kEffectIntent:
      if (in) {
        auto ev = events::Read<events::EffectIntent>(e);
        in->key = std::move(ev.key);
        in->intent = true;
        in->request_digest = ev.request_digest.value_or("");
        if (!in->request_digest.empty()) effect_key_owner.emplace(in->key, e.step);
      }
      break;
    case EventType::kEffectCompleted: {
      // Compensation undoes what this run did: not undo effects, and not
      // results reused from an earlier run's record of the same key.
      const auto ev = events::Read<events::EffectCompleted>(e);
      if (in && !ev.undo.value_or(false) && !ev.reused.value_or(false)) completed_effects.push_back(e.step);
      break;
    }
    case EventType::kApprovalRequested:
      if (in) {
        in->status = InstStatus::kActive;
        in->requested = true;
        in->decided = false;
        in->request = e.data;
        in->requested_at = e.at_nanos;
      }
      break;
    case EventType::kApprovalDecided:
      woken = status == RunStatus::kWaiting;
      if (in) {
        in->decided = true;
        in->decision = e.data;
        // No longer waited on, even before the run is continued (a decision
        // recorded with --no-continue, or by a process killed right after).
        if (waiting_on.kind() == ValueKind::kList) {
          ValueList still;
          for (const auto& w : waiting_on.as_list()) {
            const Value* name = w.Find("name");
            const Value* kind = w.Find("kind");
            const bool this_one = name && kind && name->kind() == ValueKind::kString && name->as_string() == e.step &&
                                  kind->kind() == ValueKind::kString && kind->as_string() == "approval";
            if (!this_one) still.push_back(w);
          }
          waiting_on = Value::List(std::move(still));
        }
        const std::string purpose = Str(in->request.Find("purpose") ? *in->request.Find("purpose") : Value());
        const bool approved = events::Read<events::ApprovalDecided>(e).approved;
        if (purpose == "confirm" && approved) in->confirmed = true;
        if (purpose == "budget" && approved) {
          const Value* by = in->request.Find("payload") ? in->request.Find("payload")->Find("raise_by") : nullptr;
          // Money since the formats were unified; a plain int in older logs.
          if (by && by->kind() == ValueKind::kMoney) budget_raised_nanos += by->as_money().nanos;
          if (by && by->kind() == ValueKind::kInt) budget_raised_nanos += by->as_int();
        }
      }
      break;
    case EventType::kTimerStarted:
      if (in) {
        in->status = InstStatus::kActive;
        in->timer = true;
        in->due = events::Read<events::TimerStarted>(e).due;
      }
      break;
    case EventType::kTimerFired:
      break;
    case EventType::kSignalReceived: {
      woken = status == RunStatus::kWaiting;
      auto ev = events::Read<events::SignalReceived>(e);
      signals[ev.name].push_back(Value::Map({{Value::String("data"), std::move(ev.data)},
                                             {Value::String("at"), Value::Time(Timestamp{e.at_nanos})}}));
      break;
    }
    case EventType::kNondeterministicValue: {
      auto ev = events::Read<events::NondeterministicValue>(e);
      nondet[ev.site] = std::move(ev.value);
      break;
    }
    case EventType::kEntityChanged:
    case EventType::kEntitiesMerged:
      break;  // the projection lives in the entities column
    case EventType::kCompensationStarted: {
      woken = status == RunStatus::kWaiting;  // a cancel of a waiting run: its undos go on after a crash
      auto ev = events::Read<events::CompensationStarted>(e);
      compensating = true;
      cancelling = ev.cancel;
      if (!ev.error.is_null()) error = std::move(ev.error);
      break;
    }
    case EventType::kCompensationCompleted: {
      // A failed undo is recorded and reported, and not tried again, unless
      // it is pending: a retryable failure the run waits to try again.
      auto ev = events::Read<events::CompensationCompleted>(e);
      if (!ev.pending.value_or(false)) compensated.push_back(std::move(ev.for_inst));
      break;
    }
    case EventType::kRunWaiting:
      status = RunStatus::kWaiting;
      woken = false;
      waiting_on = events::Read<events::RunWaiting>(e).on;
      break;
    case EventType::kRunCompleted:
      status = RunStatus::kCompleted;
      output = events::Read<events::RunCompleted>(e).output;
      waiting_on = Value();
      break;
    case EventType::kRunFailed:
      status = RunStatus::kFailed;
      error = events::Read<events::RunFailed>(e).error;
      waiting_on = Value();
      break;
    case EventType::kRunCancelled:
      status = RunStatus::kCancelled;
      waiting_on = Value();
      break;
  }
  if (status != RunStatus::kWaiting) woken = false;
}

// ------------------------------------------------------------ snapshots

namespace {


Value InstanceToValue(const Instance& i) {
  ValueMap m;
  m.emplace_back(S("s"), Value::Int(static_cast<int>(i.status)));
  if (!i.result.is_null()) m.emplace_back(S("r"), i.result);
  if (i.attempts) m.emplace_back(S("a"), Value::Int(i.attempts));
  if (i.failures) m.emplace_back(S("f"), Value::Int(i.failures));
  if (i.in_flight) m.emplace_back(S("fl"), Value::Bool(true));
  if (i.retry_due) m.emplace_back(S("rd"), Value::Int(i.retry_due));
  if (!i.last_error.is_null()) m.emplace_back(S("e"), i.last_error);
  if (!i.key.empty()) m.emplace_back(S("k"), S(i.key));
  if (i.intent) m.emplace_back(S("i"), Value::Bool(true));
  if (!i.request_digest.empty()) m.emplace_back(S("rdg"), S(i.request_digest));
  if (i.requested) m.emplace_back(S("rq"), i.request);
  if (i.requested_at) m.emplace_back(S("rqa"), Value::Int(i.requested_at));
  if (i.decided) m.emplace_back(S("d"), i.decision);
  if (i.confirmed) m.emplace_back(S("cf"), Value::Bool(true));
  if (i.timer) m.emplace_back(S("t"), Value::Int(i.due));
  if (i.expanded) m.emplace_back(S("x"), i.items);
  return Value::MapOfUnique(std::move(m));
}

Instance InstanceFromValue(const Value& v) {
  Instance i;
  i.status = static_cast<InstStatus>(Int(*v.Find("s")));
  for (const auto& [k, x] : v.as_map()) {
    if (k.kind() != ValueKind::kString) continue;
    const std::string& n = k.as_string();
    if (n == "r") i.result = x;
    else if (n == "a") i.attempts = static_cast<int>(Int(x));
    else if (n == "f") i.failures = static_cast<int>(Int(x));
    else if (n == "fl") i.in_flight = true;
    else if (n == "rd") i.retry_due = Int(x);
    else if (n == "e") i.last_error = x;
    else if (n == "k") i.key = Str(x);
    else if (n == "i") i.intent = true;
    else if (n == "rdg") i.request_digest = Str(x);
    else if (n == "rq") { i.requested = true; i.request = x; }
    else if (n == "rqa") i.requested_at = Int(x);
    else if (n == "d") { i.decided = true; i.decision = x; }
    else if (n == "cf") i.confirmed = true;
    else if (n == "t") { i.timer = true; i.due = Int(x); }
    else if (n == "x") { i.expanded = true; i.items = x; }
  }
  return i;
}

Value StringList(const std::vector<std::string>& v) {
  ValueList l;
  for (const auto& s : v) l.push_back(S(s));
  return Value::List(std::move(l));
}

std::vector<std::string> FromStringList(const Value* v) {
  std::vector<std::string> out;
  if (v && v->kind() == ValueKind::kList) {
    for (const auto& s : v->as_list()) out.push_back(Str(s));
  }
  return out;
}

}  // namespace

Value RunState::ToSnapshot() const {
  ValueMap insts;
  insts.reserve(inst.size());
  for (const auto& [k, i] : inst) insts.emplace_back(S(k), InstanceToValue(i));
  ValueMap sigs;
  for (const auto& [k, l] : signals) sigs.emplace_back(S(k), Value::List(l));
  ValueMap nd;
  for (const auto& [k, v] : nondet) nd.emplace_back(S(k), v);
  ValueMap taken;
  for (const auto& [k, n] : signals_taken) taken.emplace_back(S(k), Value::Int(static_cast<int64_t>(n)));
  ValueMap m = {
      {S("run_id"), S(run_id)},
      {S("workflow"), S(workflow)},
      {S("file"), S(file)},
      {S("source"), S(source)},
      {S("source_hash"), S(source_hash)},
      {S("inputs"), inputs},
      {S("env"), env},
      {S("replay_effects"), Value::Bool(replay_effects)},
      {S("status"), Value::Int(static_cast<int>(status))},
      {S("next_seq"), Value::Int(static_cast<int64_t>(next_seq))},
      {S("started_at"), Value::Int(started_at)},
      {S("updated_at"), Value::Int(updated_at)},
      {S("inst"), Value::MapOfUnique(std::move(insts))},
      {S("signals"), Value::MapOfUnique(std::move(sigs))},
      {S("nondet"), Value::MapOfUnique(std::move(nd))},
      {S("signals_taken"), Value::MapOfUnique(std::move(taken))},
      {S("completed_effects"), StringList(completed_effects)},
      {S("compensated"), StringList(compensated)},
      {S("compensating"), Value::Bool(compensating)},
      {S("cancelling"), Value::Bool(cancelling)},
      {S("output"), output},
      {S("error"), error},
      {S("first_failure"), first_failure},
      {S("spent_nanos"), Value::Int(spent_nanos)},
      {S("budget_raised_nanos"), Value::Int(budget_raised_nanos)},
      {S("waiting_on"), waiting_on},
      {S("woken"), Value::Bool(woken)},
  };
  return Value::MapOfUnique(std::move(m));
}

bool RunState::FromSnapshot(const Value& v, RunState* out) {
  if (v.kind() != ValueKind::kMap) return false;
  auto get = [&](const char* k) -> const Value& {
    static const Value kNull;
    const Value* x = v.Find(k);
    return x ? *x : kNull;
  };
  RunState s;
  s.run_id = Str(get("run_id"));
  s.workflow = Str(get("workflow"));
  s.file = Str(get("file"));
  s.source = Str(get("source"));
  s.source_hash = Str(get("source_hash"));
  s.inputs = get("inputs");
  s.env = get("env");
  s.replay_effects = Bool(get("replay_effects"));
  if (Int(get("status")) < 0 || Int(get("status")) > static_cast<int>(RunStatus::kCancelled)) return false;
  s.status = static_cast<RunStatus>(Int(get("status")));
  s.next_seq = static_cast<uint64_t>(Int(get("next_seq")));
  s.started_at = Int(get("started_at"));
  s.updated_at = Int(get("updated_at"));
  const Value& insts = get("inst");
  if (insts.kind() != ValueKind::kMap || s.run_id.empty()) return false;
  s.inst.reserve(insts.as_map().size());
  for (const auto& [k, i] : insts.as_map()) {
    if (k.kind() != ValueKind::kString || i.kind() != ValueKind::kMap || !i.Find("s") ||
        i.Find("s")->kind() != ValueKind::kInt || i.Find("s")->as_int() < 0 ||
        i.Find("s")->as_int() > static_cast<int>(InstStatus::kFailed)) {
      return false;
    }
    auto [it, fresh] = s.inst.emplace(k.as_string(), InstanceFromValue(i));
    // Derived, not stored: any instance with the key will do (they agree).
    if (!it->second.request_digest.empty()) s.effect_key_owner.emplace(it->second.key, it->first);
  }
  if (get("signals").kind() == ValueKind::kMap) {
    for (const auto& [k, l] : get("signals").as_map()) {
      if (l.kind() == ValueKind::kList) s.signals[Str(k)] = l.as_list();
    }
  }
  if (get("signals_taken").kind() == ValueKind::kMap) {
    for (const auto& [k, n] : get("signals_taken").as_map()) {
      if (n.kind() == ValueKind::kInt && n.as_int() >= 0) s.signals_taken[Str(k)] = static_cast<size_t>(n.as_int());
    }
  }
  if (get("nondet").kind() == ValueKind::kMap) {
    for (const auto& [k, x] : get("nondet").as_map()) s.nondet[Str(k)] = x;
  }
  s.completed_effects = FromStringList(v.Find("completed_effects"));
  s.compensated = FromStringList(v.Find("compensated"));
  s.compensating = Bool(get("compensating"));
  s.cancelling = Bool(get("cancelling"));
  s.output = get("output");
  s.error = get("error");
  s.first_failure = get("first_failure");
  s.spent_nanos = Int(get("spent_nanos"));
  s.budget_raised_nanos = Int(get("budget_raised_nanos"));
  s.waiting_on = get("waiting_on");
  s.woken = Bool(get("woken"));
  *out = std::move(s);
  return true;
}

}  // namespace aos
