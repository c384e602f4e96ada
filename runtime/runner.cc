#include "runtime/runner_impl.h"

#include <algorithm>

namespace aos {

Runner::Impl::Impl(RunLog& l, const Program& p, const Dag& d, CallHandler& c, Clock& k, RunOptions o)
    : log(l), st(l.state()), program(p), dag(d), calls(c), clock(k), opt(std::move(o)),
      wf(*d.workflow) {
  if (opt.concurrency < 1) opt.concurrency = 1;
  if (wf.concurrency && *wf.concurrency > 0) opt.concurrency = static_cast<int>(*wf.concurrency);
  const size_t n = dag.nodes.size();
  names.resize(dag.bodies.size() + 2);
  pos.resize(n);
  dependents.resize(n);
  sibling_deps.assign(n, 0);
  for (uint32_t i = 0; i < dag.order.size(); ++i) pos[dag.order[i]] = i;
  for (const auto& body : dag.bodies) {
    for (uint32_t i = 0; i < body.size(); ++i) pos[body[i]] = i;
  }
  names[0].reserve(dag.order.size());
  for (uint32_t id = 0; id < n; ++id) {
    const DagNode& dn = dag.nodes[id];
    for (const Dep& dep : dn.deps) {
      // Ids go up: a dep named twice has this id last in its dependents.
      std::vector<uint32_t>& users = dependents[dep.node];
      if (dag.nodes[dep.node].parent == dn.parent && (users.empty() || users.back() != id)) {
        users.push_back(id);
        ++sibling_deps[id];
      }
    }
    NameMap& nm = names[NameSlot(dn.parent)];
    if (dn.stmt && !dn.stmt->name.empty()) nm[dn.stmt->name] = NameRef{id, false};
    if (dn.stmt && dn.stmt->kind == StmtKind::kFor) {
      // Every name inside the loop, however deep, is a (nested) list after it.
      std::vector<uint32_t> stack(dag.Children(id).begin(), dag.Children(id).end());
      while (!stack.empty()) {
        const uint32_t c2 = stack.back();
        stack.pop_back();
        const Stmt* cs = dag.nodes[c2].stmt;
        if (cs && !cs->name.empty()) nm.emplace(cs->name, NameRef{id, true, c2});
        for (uint32_t g : dag.Children(c2)) stack.push_back(g);
      }
    }
  }
}

RunOutcome Runner::Impl::Run() {
  if (st.Finished()) return OutcomeOf(st);
  SeedKeyWaits();  // before RunResumed clears what the run waited on
  if (st.status == RunStatus::kWaiting || st.next_seq > 1) {
    log.Append("", events::RunResumed{});
  }
  if (st.compensating) {
    // Interrupted while compensating: finish that, then end as it would have.
    Build();
    fail_error = st.error;
    failing = true;
    return EndFailed(st.cancelling);
  }
  // A run that failed before a crash but had not recorded RunFailed: the
  // first failure, as a live run reports it.
  if (!st.first_failure.is_null() && !failing) {
    failing = true;
    fail_error = st.first_failure;
  }
  Build();
  for (;;) {
    while (!ready.empty() && !failing) {
      auto [s, node] = ready.front();
      ready.pop_front();
      Advance(s, node);
      if (opt.durability == Durability::kStrict) {
        log.Flush(true);  // every event durable before the next statement
      } else if (log.pending() >= 1024) {
        log.Flush(false);
      }
    }
    if (failing) return EndFailed(false);
    if (scopes[0].unfinished == 0) {
      Value output;
      for (uint32_t id : dag.order) {
        if (StmtOf(id).kind == StmtKind::kOutput) output = st.At(Key(0, id)).result;
      }
      log.Append("", events::RunCompleted{output});
      log.Flush(opt.sync_at_end || opt.durability == Durability::kStrict);
      return OutcomeOf(st);
    }
    if (in_flight > 0) {
      log.Flush(opt.durability == Durability::kStrict);
      Collect(NextDue());
      RecheckBlocked();
      continue;
    }
    if (!blocked.empty()) {
      const uint64_t before = st.next_seq;
      RecheckBlocked();
      if (st.next_seq != before || !ready.empty()) continue;
      const int64_t due = NextDue();
      const int64_t now = clock.NowNanos();
      if (due && due - now <= opt.max_inline_wait_ms * 1'000'000) {
        log.Flush(opt.durability == Durability::kStrict);
        clock.SleepUntil(due);
        RecheckBlocked();
        continue;
      }
      log.Append("", events::RunWaiting{WaitingList()});
      log.Flush(opt.sync_at_end || opt.durability == Durability::kStrict);
      return OutcomeOf(st);
    }
    if (!deferred.empty()) {
      ready.push_back(deferred.front());
      deferred.pop_front();
      continue;
    }
    // Nothing ready, running or blocked, yet statements remain: a
    // dependency failed to settle. Report rather than spin.
    failing = true;
    fail_error = ErrorValue("internal", "the run cannot make progress (statements remain unscheduled)", "");
  }
}

Runner::Runner(RunLog& log, const Program& program, const Dag& dag, CallHandler& calls, Clock& clock,
               RunOptions options)
    : impl_(std::make_unique<Impl>(log, program, dag, calls, clock, std::move(options))) {}

Runner::~Runner() = default;

RunOutcome Runner::Run() { return impl_->Run(); }

RunOutcome Runner::Cancel() {
  Impl& r = *impl_;
  if (r.st.Finished()) return OutcomeOf(r.st);
  r.Build();
  r.fail_error = Impl::ErrorValue("cancelled", "the run was cancelled", "");
  r.failing = true;
  return r.EndFailed(true);
}

}  // namespace aos
