#include "runtime/operations.h"

#include <algorithm>
#include <map>
#include <optional>

#include "lang/spelling.h"
#include "runtime/entity_schemas.h"
#include "runtime/schema.h"

namespace aos {

std::vector<std::string> SignalEvents(const Dag& dag) {
  std::vector<std::string> out;
  for (const DagNode& n : dag.nodes) {
    if (n.stmt && n.stmt->kind == StmtKind::kSignal) {
      out.push_back(n.stmt->waits().event.empty() ? std::string(n.stmt->name) : n.stmt->waits().event);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool Delivered(Store& store, const std::string& delivery) {
  return store.Get(Column::kMeta, "delivery:" + delivery).has_value();
}

OpResult DeliverSignal(RunLog& log, const Dag* dag, const std::string& name, const Value& data,
                       const std::string& delivery) {
  const RunState& s = log.state();
  if (s.Finished()) {
    return {OpStatus::kEnded,
            "run " + s.run_id + " has ended (" + RunStatusName(s.status) + "); the signal is not delivered"};
  }
  const std::vector<std::string> events = dag ? SignalEvents(*dag) : std::vector<std::string>{};
  if (!std::binary_search(events.begin(), events.end(), name)) {
    std::string msg = "no statement of run " + s.run_id + " (workflow " + s.workflow + ") takes the signal '" +
                      name + "'";
    if (auto m = ClosestMatch(name, events)) {
      msg += "; did you mean '" + *m + "'?";
    } else if (events.empty()) {
      msg += "; the workflow has no signal statements";
    } else {
      std::string list;
      for (const auto& e : events) list += (list.empty() ? "" : ", ") + e;
      msg += " (it takes: " + list + ")";
    }
    return {OpStatus::kConflict, msg};
  }
  log.Append("", events::SignalReceived{name, data});
  if (!delivery.empty()) log.batch().Put(Column::kMeta, "delivery:" + delivery, s.run_id);
  log.Flush(true);
  return {};
}

std::string OutcomeJson(const std::string& run_id, const RunOutcome& o) {
  std::string out = "{\"run_id\":" + JsonQuote(run_id) + ",\"status\":" + JsonQuote(RunStatusName(o.status));
  out += ",\"output\":" + o.output.ToJson();
  out += ",\"error\":" + o.error.ToJson();
  out += ",\"waiting_on\":" + (o.waiting_on.is_null() ? std::string("[]") : o.waiting_on.ToJson());
  return out + "}";
}

std::vector<InboxItem> Inbox(Store& store, Clock& clock, std::vector<std::string>* damaged) {
  std::vector<InboxItem> out;
  for (const auto& r : ListRuns(store)) {
    if (r.status != RunStatus::kWaiting) continue;
    // The index says what each run waits on: only runs waiting on an
    // approval are loaded (10,000 runs waiting on timers cost no reads).
    bool approval = false;
    if (r.waiting_on.kind() == ValueKind::kList) {
      for (const auto& w : r.waiting_on.as_list()) {
        const Value* kind = w.Find("kind");
        approval = approval || (kind && kind->kind() == ValueKind::kString && kind->as_string() == "approval");
      }
    }
    if (!approval) continue;
    RunLog log(store, clock);
    std::string error;
    if (!log.Load(r.run_id, &error)) {
      damaged->push_back(error);
      continue;
    }
    for (const auto& [name, in] : log.state().inst) {
      if (!in.requested || in.decided) continue;
      InboxItem item;
      item.run_id = r.run_id;
      item.workflow = r.workflow;
      item.name = name;
      auto str = [&](const char* k) { return in.request.Find(k) ? in.request.Find(k)->ToDisplayString() : ""; };
      item.ask = str("ask");
      item.explain = str("explain");
      item.payload_hash = str("payload_hash");
      if (const Value* p = in.request.Find("payload")) item.show = *p;
      if (const Value* a = in.request.Find("approvers")) item.approvers = *a;
      if (const Value* d = in.request.Find("due"); d && d->kind() == ValueKind::kInt) {
        item.due = Value::Time(Timestamp{d->as_int()});
      }
      if (in.requested_at) item.requested = Value::Time(Timestamp{in.requested_at});
      out.push_back(std::move(item));
    }
  }
  return out;
}

std::string InboxItemJson(const InboxItem& i) {
  return "{\"run_id\":" + JsonQuote(i.run_id) + ",\"workflow\":" + JsonQuote(i.workflow) +
         ",\"name\":" + JsonQuote(i.name) + ",\"ask\":" + JsonQuote(i.ask) + ",\"explain\":" + (i.explain.empty() ? "null" : JsonQuote(i.explain)) +
         ",\"show\":" + i.show.ToJson() +
         ",\"payload_hash\":" + JsonQuote(i.payload_hash) + ",\"approvers\":" + i.approvers.ToJson() +
         ",\"due\":" + i.due.ToJson() + ",\"requested\":" + i.requested.ToJson() + "}";
}

const TypeRef* ApprovalReturns(const Dag& dag, const std::string& name) {
  const std::string base = name.substr(0, name.find('['));
  for (const auto& n : dag.nodes) {
    if (n.name == base && n.stmt && n.stmt->kind == StmtKind::kApproval && n.stmt->waits().returns) return n.stmt->waits().returns.get();
  }
  return nullptr;
}

OpResult Decide(RunLog& log, const Program* program, const Dag* dag, const std::string& name, Decision d) {
  const RunState& s = log.state();
  const Instance* in = s.Find(name);
  if (!in || !in->requested) {
    std::string pending;
    for (const auto& [k, i] : s.inst) {
      if (i.requested && !i.decided) pending += (pending.empty() ? "" : ", ") + k;
    }
    return {OpStatus::kNotFound, "run " + s.run_id + " has no approval '" + name + "' waiting for a decision" +
                                    (pending.empty() ? "" : " (waiting: " + pending + ")")};
  }
  if (in->decided) {
    const Value* ap = in->decision.Find("approved");
    const Value* by = in->decision.Find("by");
    return {OpStatus::kConflict, "approval '" + name + "' of run " + s.run_id + " was already decided (" +
                                    (ap && ap->kind() == ValueKind::kBool && ap->as_bool() ? "approved" : "rejected") +
                                    " by " + (by ? by->ToDisplayString() : "") + "); a decision is final"};
  }
  if (s.Finished()) return {OpStatus::kEnded, "run " + s.run_id + " has ended (" + RunStatusName(s.status) + ")"};
  const Value* hash = in->request.Find("payload_hash");
  const std::string shown = hash ? hash->ToDisplayString() : "";
  if (!d.expect_hash.empty() && shown != d.expect_hash) {
    // The decision is bound to what the approver saw: a payload that changed
    // since (a new request after an upgrade or a retry) is not decided blind.
    return {OpStatus::kStale, "approval '" + name + "' of run " + s.run_id + " shows payload " + shown + ", not " +
                                    d.expect_hash + " as expected; look again (aosrun inbox --json)"};
  }
  if (const Value* approvers = in->request.Find("approvers");
      approvers && approvers->kind() == ValueKind::kList && !approvers->as_list().empty()) {
    bool allowed = false;
    std::string list;
    for (const auto& a : approvers->as_list()) {
      allowed = allowed || a.ToDisplayString() == d.by;
      list += (list.empty() ? "" : ", ") + a.ToDisplayString();
    }
    if (!allowed) {
      return {OpStatus::kForbidden, d.by + " may not decide '" + name + "' of run " + s.run_id + " (approvers: " + list +
                                      "); decide --as one of them"};
    }
  }
  // `returns T`: an approval's data must be a T.
  const TypeRef* returns = d.approve && !d.data.is_null() && program && dag ? ApprovalReturns(*dag, name) : nullptr;
  if (returns) {
    Value typed;
    const std::string err = CheckValue(*program, returns, d.data, &typed);
    if (!err.empty()) {
      return {OpStatus::kInvalid, "--payload does not fit '" + name + "' (returns " + returns->name + "): " + err};
    }
    d.data = typed;
  }
  log.Append(name, events::ApprovalDecided{.approved = d.approve,
                                           .by = d.by,
                                           .at = Timestamp{d.at_nanos},
                                           .comment = d.comment,
                                           .data = d.data,
                                           .payload_hash = shown});
  log.Flush(true);  // durable before anyone is told it was recorded
  return {};
}

OpResult RetryRun(RunLog& log, const std::string& from) {
  const RunState& s = log.state();
  if (s.status != RunStatus::kFailed) {
    return {OpStatus::kConflict, "run " + s.run_id + " did not fail (it is " + RunStatusName(s.status) +
                                    "); retry continues failed runs"};
  }
  if (s.compensating && !s.completed_effects.empty()) {
    return {OpStatus::kConflict, "run " + s.run_id + " compensated its effects when it failed; start a new run"};
  }
  std::vector<std::string> failed;
  for (const auto& [name, in] : s.inst) {
    if (in.status == InstStatus::kFailed) failed.push_back(name);
  }
  std::sort(failed.begin(), failed.end());
  if (!from.empty()) {
    if (!std::binary_search(failed.begin(), failed.end(), from)) {
      std::string msg = "statement '" + from + "' of run " + s.run_id + " did not fail";
      if (auto m = ClosestMatch(from, failed)) msg += "; did you mean '" + *m + "'?";
      std::string list;
      for (const auto& f : failed) list += (list.empty() ? "" : ", ") + f;
      return {OpStatus::kNotFound, msg + " (failed: " + list + ")"};
    }
    if (failed.size() > 1) {
      std::string others;
      for (const auto& f : failed) {
        if (f != from) others += (others.empty() ? "" : ", ") + f;
      }
      return {OpStatus::kConflict, "retrying only '" + from + "' would leave " + others +
                                      " failed, and the run with it: retry them all (without --from)"};
    }
  }
  log.Append("", events::RunRetried{failed});
  log.Flush(true);
  return {};
}

OpResult CancelRun(RunLog& log, const Program& program, const Dag& dag, CallHandler& calls, Clock& clock,
                   RunOptions options, RunOutcome* out) {
  const RunState& s = log.state();
  if (s.Finished()) {
    return {OpStatus::kEnded, "run " + s.run_id + " has already ended (" + RunStatusName(s.status) + ")"};
  }
  *out = Runner(log, program, dag, calls, clock, std::move(options)).Cancel();
  return {};
}

OpResult UpgradeRun(RunLog& log, const Program& program, const Dag& current, const Dag& next,
                    const std::string& file, const std::string& source, bool force,
                    std::vector<std::string>* blockers) {
  const RunState& s = log.state();
  if (s.Finished()) {
    return {OpStatus::kEnded,
            "run " + s.run_id + " has ended (" + RunStatusName(s.status) + "); there is nothing to upgrade"};
  }
  *blockers = UpgradeBlockers(current, next, s);
  if (!blockers->empty() && !force) {
    return {OpStatus::kConflict, "run " + s.run_id + " cannot move to " + file +
                                     ": completed steps changed (they keep their recorded results; force "
                                     "upgrades anyway)"};
  }
  if (std::string conflicts = StoredConflicts(log.store(), program); !conflicts.empty()) {
    return {OpStatus::kInvalid, "run " + s.run_id + " cannot move to " + file + ": " + conflicts};
  }
  RecordSchemas(log.store(), log.batch(), program);
  log.Append("", events::RunUpgraded{file, source, Digest(source), force, *blockers});
  log.Flush(true);
  return {};
}

std::vector<CostRow> Costs(Store& store, const std::vector<RunIndexEntry>& runs, int64_t since) {
  std::vector<CostRow> out;
  for (const auto& r : runs) {
    std::map<std::pair<std::string, std::string>, CostRow> by_model;  // model, day
    ScanRunEvents(store, r.run_id, [&](uint64_t, const Event* e, const std::string&) {
      if (e && e->at_nanos < since) return true;
      std::optional<Value> usage;
      if (e && e->type == EventType::kStepCompleted) usage = events::Read<events::StepCompleted>(*e).usage;
      if (e && e->type == EventType::kAttemptFailed) usage = events::Read<events::AttemptFailed>(*e).usage;
      if (!usage || usage->kind() != ValueKind::kMap) return true;
      const Value* model = usage->Find("model");
      const std::string name = model && model->kind() == ValueKind::kString ? model->as_string() : "";
      const std::string day = FormatTimestamp(Timestamp{e->at_nanos}).substr(0, 10);
      CostRow& row = by_model[{name, day}];
      row.day = day;
      ++row.calls;
      if (const Value* v = usage->Find("tokens_in"); v && v->kind() == ValueKind::kInt) row.tokens_in += v->as_int();
      if (const Value* v = usage->Find("tokens_out"); v && v->kind() == ValueKind::kInt) row.tokens_out += v->as_int();
      if (const Value* v = usage->Find("cost"); v && v->kind() == ValueKind::kMoney) {
        row.cost.nanos += v->as_money().nanos;
        row.cost.currency = v->as_money().currency;
      }
      return true;
    });
    for (auto& [model_day, row] : by_model) {
      row.run_id = r.run_id;
      row.workflow = r.workflow;
      row.model = model_day.first;
      out.push_back(std::move(row));
    }
  }
  return out;
}

}  // namespace aos
