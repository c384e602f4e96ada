#include "runtime/runner_impl.h"

#include <algorithm>

namespace aos {

void Runner::Impl::RequestApproval(const std::string& key, const std::string& purpose,
                                   const std::string& ask, const Value& payload, int64_t due,
                                   const std::string& on_timeout, const Value& approvers, const std::string& explain) {
  // The explanation is part of what is decided on: the hash covers it
  // (and is the payload's alone without one, as before it existed).
  const std::string hash = Digest(explain.empty() ? EncodeValue(payload)
                                                  : EncodeValue(Value::List({payload, Value::String(explain)})));
  events::ApprovalRequested e{.purpose = purpose, .ask = ask, .payload = payload, .payload_hash = hash};
  if (!explain.empty()) e.explain = explain;
  if (due) e.due = due;
  if (!on_timeout.empty()) e.on_timeout = on_timeout;
  // Who may decide (`approvers [...]`): aosrun approve --as checks it.
  if (approvers.kind() == ValueKind::kList) e.approvers = approvers;
  log.Append(key, e);
}

bool Runner::Impl::TimeoutApproval(const std::string& key, Instance& in) {
  const Value* due = in.request.Find("due");
  if (!due || due->kind() != ValueKind::kInt || clock.NowNanos() < due->as_int()) return false;
  const std::string on = StrOf(in.request.Find("on_timeout"));
  if (on == "approve" || on == "reject") {
    log.Append(key, events::ApprovalDecided{.approved = on == "approve",
                                            .by = "timeout",
                                            .at = Timestamp{clock.NowNanos()},
                                            .comment = "no decision before the timeout",
                                            .payload_hash = StrOf(in.request.Find("payload_hash"))});
    return true;
  }
  if (on == "escalate") {
    // Overdue: the request stays open, marked escalated and without a
    // deadline, at the top of the operator's inbox, until someone decides.
    RequestApproval(key, StrOf(in.request.Find("purpose")),
                    "[overdue since " + FormatTimestamp(Timestamp{due->as_int()}) + "] " +
                        StrOf(in.request.Find("ask")),
                    in.request.Find("payload") ? *in.request.Find("payload") : Value(), 0, "",
                    in.request.Find("approvers") ? *in.request.Find("approvers") : Value());
    return false;
  }
  FailStep(key, "approval.timeout", key + " had no decision before its timeout");
  return false;
}

Value Runner::Impl::DecisionResult(const Instance& in) {
  const Value& d = in.decision;
  auto f = [&](const char* k) { return d.Find(k) ? *d.Find(k) : Value(); };
  return M({{S("approved"), f("approved")},
            {S("by"), f("by")},
            {S("at"), f("at")},
            {S("comment"), f("comment").is_null() ? S("") : f("comment")},
            {S("data"), f("data")}});
}

void Runner::Impl::AdvanceApproval(int s, uint32_t node, const std::string& key, Instance& in) {
  const Stmt& stmt = StmtOf(node);
  if (!in.requested) {
    Value ask, payload, timeout;
    if (!EvalOrFail(*stmt.waits().ask, s, key, &ask, "ask", node)) return;
    if (stmt.waits().show && !EvalOrFail(*stmt.waits().show, s, key, &payload, "show", node)) return;
    int64_t due = 0;
    if (stmt.waits().timeout) {
      if (!EvalOrFail(*stmt.waits().timeout, s, key, &timeout, "timeout", node)) return;
      if (timeout.kind() == ValueKind::kDuration) due = clock.NowNanos() + timeout.as_duration().nanos;
    }
    Value approvers, explain;
    if (stmt.waits().approvers && !EvalOrFail(*stmt.waits().approvers, s, key, &approvers, "approvers", node)) return;
    if (stmt.waits().explain && !EvalOrFail(*stmt.waits().explain, s, key, &explain, "explain", node)) return;
    RequestApproval(key, "approval", ask.ToDisplayString(), payload, due,
                    stmt.waits().on_timeout.empty() ? "reject" : std::string(stmt.waits().on_timeout), approvers,
                    explain.is_null() ? "" : explain.ToDisplayString());
  }
  Instance& i2 = st.At(key);
  if (!i2.decided && !TimeoutApproval(key, i2)) {
    if (st.At(key).status != InstStatus::kFailed) Block(s, node);
    return;
  }
  Complete(s, node, key, DecisionResult(st.At(key)));
}

void Runner::Impl::AdvanceWait(int s, uint32_t node, const std::string& key, Instance& in) {
  const Stmt& stmt = StmtOf(node);
  if (!in.timer) {
    Value v;
    int64_t due = 0;
    if (stmt.waits().wait_for) {
      if (!EvalOrFail(*stmt.waits().wait_for, s, key, &v, "wait for", node)) return;
      if (v.kind() != ValueKind::kDuration) {
        FailStep(key, "expr.error", "wait for: not a duration");
        return;
      }
      due = clock.NowNanos() + v.as_duration().nanos;
    } else if (stmt.waits().wait_until) {
      if (!EvalOrFail(*stmt.waits().wait_until, s, key, &v, "wait until", node)) return;
      if (v.kind() != ValueKind::kTimestamp) {
        FailStep(key, "expr.error", "wait until: not a time");
        return;
      }
      due = v.as_time().nanos;
    }
    log.Append(key, events::TimerStarted{due});
  }
  const int64_t due = st.At(key).due;
  if (clock.NowNanos() < due) {
    Block(s, node);
    return;
  }
  log.Append(key, events::TimerFired{});
  Complete(s, node, key, M({{S("at"), Value::Time(Timestamp{due})}}));
}

void Runner::Impl::AdvanceSignal(int s, uint32_t node, const std::string& key, Instance& in) {
  const Stmt& stmt = StmtOf(node);
  // Each waiting statement takes the next signal of its name that no
  // other has taken (statements in a loop get one each, in the order they
  // reach it); a signal delivered early waits for its statement.
  for (const std::string& name : {SignalName(stmt), std::string(stmt.name)}) {
    auto it = st.signals.find(name);
    const size_t taken = st.signals_taken.count(name) ? st.signals_taken.at(name) : 0;
    if (it != st.signals.end() && it->second.size() > taken) {
      log.Append(key, events::StepCompleted{.result = it->second[taken], .signal = name});
      MarkFinished(s, node, true);
      return;
    }
  }
  if (stmt.waits().timeout && !in.timer) {
    Value v;
    if (!EvalOrFail(*stmt.waits().timeout, s, key, &v, "timeout", node)) return;
    if (v.kind() == ValueKind::kDuration) {
      log.Append(key, events::TimerStarted{clock.NowNanos() + v.as_duration().nanos});
    }
  }
  const Instance& i2 = st.At(key);
  if (i2.timer && clock.NowNanos() >= i2.due) {
    if (stmt.waits().on_timeout == "null") {
      Complete(s, node, key, Value());  // `on_timeout null`: the run goes on without it
      return;
    }
    FailStep(key, "signal.timeout", "signal " + SignalName(stmt) + " did not arrive in time");
    return;
  }
  Block(s, node);
}

}  // namespace aos
