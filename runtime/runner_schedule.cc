#include "runtime/runner_impl.h"

#include <algorithm>

namespace aos {

int Runner::Impl::NewScope(int parent, int32_t for_node, std::string suffix) {
  Scope sc;
  sc.parent = parent;
  sc.for_node = for_node;
  sc.suffix = std::move(suffix);
  const auto& mem = Members(for_node);
  sc.remaining.resize(mem.size());
  sc.finished.assign(mem.size(), false);
  sc.unfinished = static_cast<int>(mem.size());
  for (size_t i = 0; i < mem.size(); ++i) sc.remaining[i] = sibling_deps[mem[i]];
  scopes.push_back(std::move(sc));
  const int id = static_cast<int>(scopes.size()) - 1;
  total_count += mem.size();
  return id;
}

void Runner::Impl::Populate(int s) {
  const auto& mem = Members(scopes[s].for_node);
  for (uint32_t m : mem) {
    const Instance* in = st.Find(Key(s, m));
    if (!in) continue;
    if (StmtOf(m).kind == StmtKind::kFor && in->expanded) Expand(s, m);
    if (in->status == InstStatus::kDone || in->status == InstStatus::kSkipped) {
      MarkFinished(s, m, /*queue=*/false);
    }
  }
  if (scopes[s].admitted) QueueReady(s);
}

void Runner::Impl::QueueReady(int s) {
  for (uint32_t m : Members(scopes[s].for_node)) {
    const size_t i = pos[m];
    if (!scopes[s].finished[i] && scopes[s].remaining[i] == 0) ready.emplace_back(s, m);
  }
}

void Runner::Impl::MarkFinished(int s, uint32_t node, bool queue) {
  Scope& sc = scopes[s];
  const size_t i = pos[node];
  if (sc.finished[i]) return;
  sc.finished[i] = true;
  --sc.unfinished;
  ++finished_count;
  for (uint32_t d : dependents[node]) {
    if (--scopes[s].remaining[pos[d]] == 0 && queue && scopes[s].admitted &&
        !scopes[s].finished[pos[d]]) {
      ready.emplace_back(s, d);
    }
  }
  if (queue && opt.progress) opt.progress(finished_count, total_count, Key(s, node));
  if (scopes[s].unfinished == 0 && scopes[s].for_node >= 0 && queue) ScopeDone(s);
}

void Runner::Impl::ScopeDone(int s) {
  auto it = fors.find(scopes[s].for_inst);
  if (it == fors.end()) return;
  ForInfo& f = it->second;
  ++f.done;
  if (scopes[s].admitted) --f.active;
  AdmitMore(f);
  if (f.done == static_cast<int>(f.children.size())) {
    const std::string key = scopes[s].for_inst;
    const Instance* in = st.Find(key);
    if (!in || in->status != InstStatus::kDone) {
      log.Append(key, events::StepCompleted{});
    }
    MarkFinished(f.scope, f.node, true);
  }
}

void Runner::Impl::AdmitMore(ForInfo& f) {
  while (f.next_admit < f.children.size()) {
    const int c = f.children[f.next_admit];
    const bool finished = scopes[c].unfinished == 0;
    if (!finished && f.max != 0 && f.active >= f.max) break;
    ++f.next_admit;
    scopes[c].admitted = true;
    if (finished) continue;
    ++f.active;
    QueueReady(c);
  }
}

void Runner::Impl::Expand(int s, uint32_t node) {
  const std::string key = Key(s, node);
  if (fors.count(key)) return;
  const Instance& in = st.At(key);
  const Stmt& stmt = StmtOf(node);
  ForInfo f;
  f.scope = s;
  f.node = node;
  f.max = stmt.loop().max_parallel.value_or(0);
  const ValueList empty;
  const ValueList& items = in.items.kind() == ValueKind::kList ? in.items.as_list() : empty;
  for (size_t i = 0; i < items.size(); ++i) {
    const int c = NewScope(s, static_cast<int32_t>(node), scopes[s].suffix + "[" + std::to_string(i) + "]");
    scopes[c].loop_var = &stmt.loop().loop_var;
    scopes[c].loop_value = items[i];
    scopes[c].admitted = false;
    scopes[c].for_inst = key;
    f.children.push_back(c);
  }
  fors[key] = std::move(f);
  const std::vector<int> children = fors[key].children;
  for (int c : children) Populate(c);  // not admitted yet: nothing is queued
  ForInfo& fi = fors[key];
  for (int c : children) fi.done += scopes[c].unfinished == 0;
  AdmitMore(fi);
}

void Runner::Impl::Skip(int s, uint32_t node, const std::string& key) {
  log.Append(key, events::StepSkipped{});
  MarkFinished(s, node, true);
}

void Runner::Impl::Complete(int s, uint32_t node, const std::string& key, Value result) {
  const Stmt& stmt = StmtOf(node);
  if (TooDeep(key, result)) return;
  Value recorded = (stmt.kind == StmtKind::kLet && dag.nodes[node].secret) ? Value() : result;
  log.Append(key, events::StepCompleted{.result = std::move(recorded)});
  if (!transforms_used.empty()) transforms_used.erase(key);
  MarkFinished(s, node, true);
}

std::string Runner::Impl::TooDeepMessage(const std::string& key) {
  return "the value of " + key + " is nested more than " + std::to_string(kMaxValueDepth) + " levels deep";
}

bool Runner::Impl::TooDeep(const std::string& key, const Value& v) {
  if (!DeeperThan(v, kMaxValueDepth)) return false;
  FailStep(key, "expr.error", TooDeepMessage(key));
  return true;
}

void Runner::Impl::FailStep(const std::string& key, const std::string& kind, const std::string& raw_message) {
  const std::string message = RedactSecrets(raw_message);
  DropClaim(key);
  log.Append(key, events::StepFailed{kind, message});
  if (!failing) {
    failing = true;
    fail_error = ErrorValue(kind, message, key);
  }
}

bool Runner::Impl::Mentions(const Expr& e, const std::string& name) {
  if (e.kind == ExprKind::kIdent && e.name() == name) return true;
  for (const auto& a : e.args()) {
    if (a && Mentions(*a, name)) return true;
  }
  return false;
}

const Instance* Runner::Impl::DepInstance(int s, uint32_t dep) {
  int ds = s;
  while (ds >= 0 && scopes[ds].for_node != dag.nodes[dep].parent) ds = scopes[ds].parent;
  if (ds < 0) return nullptr;
  return st.Find(Key(ds, dep));
}

bool Runner::Impl::LiftedFromBody(const Stmt& stmt, const Dep& dep) const {
  if (stmt.kind != StmtKind::kFor) return false;
  for (const auto& b : stmt.loop().body) {
    if (dep.at.begin >= b->span.begin && dep.at.end <= b->span.end) return true;
  }
  return false;
}

bool Runner::Impl::PreCheck(int s, uint32_t node, const std::string& key) {
  const Stmt& stmt = StmtOf(node);
  // A skip propagates first, whatever else the statement depends on.
  for (const Dep& dep : dag.nodes[node].deps) {
    if (LiftedFromBody(stmt, dep)) continue;
    const Instance* d = DepInstance(s, dep.node);
    if (d && d->status == InstStatus::kSkipped && !dep.soft) {
      Skip(s, node, key);
      return true;
    }
  }
  // A rejection stops the statements that would act on it (calls, gates)
  // unless their `when` decides on it; values (let, output) may read it.
  const bool acts = stmt.kind == StmtKind::kStep || stmt.kind == StmtKind::kEffect ||
                    stmt.kind == StmtKind::kApproval || stmt.kind == StmtKind::kWait ||
                    stmt.kind == StmtKind::kSignal;
  for (const Dep& dep : dag.nodes[node].deps) {
    if (!acts || StmtOf(dep.node).kind != StmtKind::kApproval) continue;
    const Instance* d = DepInstance(s, dep.node);
    if (!d || d->status != InstStatus::kDone) continue;
    const std::string name(StmtOf(dep.node).name);
    if (stmt.when && Mentions(*stmt.when, name)) continue;
    const Value* ap = d->result.Find("approved");
    if (ap && ap->kind() == ValueKind::kBool && !ap->as_bool()) {
      FailStep(key, "approval.rejected",
               name + " was rejected (use `when " + name + ".approved` to run only on approval)");
      return true;
    }
  }
  if (stmt.when) {
    EvalResult r = Eval(*stmt.when, s, key);
    if (!r.ok()) {
      if (r.error().kind == "expr.skipped") {
        Skip(s, node, key);
      } else {
        FailStep(key, "expr.error", "when: " + r.error().message);
      }
      return true;
    }
    if (r.value().kind() != ValueKind::kBool) {
      FailStep(key, "expr.error", "when: the condition is " + std::string(KindName(r.value().kind())) +
                                      ", not bool");
      return true;
    }
    if (!r.value().as_bool()) {
      Skip(s, node, key);
      return true;
    }
  }
  return false;
}

void Runner::Impl::Advance(int s, uint32_t node) {
  const std::string key = Key(s, node);
  Instance& in = st.At(key);
  if (in.status == InstStatus::kDone || in.status == InstStatus::kSkipped) {
    MarkFinished(s, node, true);
    return;
  }
  if (in.status == InstStatus::kFailed) return;
  const Stmt& stmt = StmtOf(node);
  if (in.status == InstStatus::kPending && PreCheck(s, node, key)) return;
  Value v;
  switch (stmt.kind) {
    case StmtKind::kLet:
    case StmtKind::kOutput:
      if (stmt.kind == StmtKind::kLet && Escalated(s, node, key, in)) return;
      if (EvalOrFail(*stmt.value, s, key, &v, stmt.kind == StmtKind::kLet ? "let" : "output", node)) {
        Complete(s, node, key, std::move(v));
      }
      return;
    case StmtKind::kFail:
      if (EvalOrFail(*stmt.value, s, key, &v, "fail", node)) {
        FailStep(key, "fail", v.ToDisplayString());
      }
      return;
    case StmtKind::kFor:
      return AdvanceFor(s, node, key, in);
    case StmtKind::kApproval:
      return AdvanceApproval(s, node, key, in);
    case StmtKind::kWait:
      return AdvanceWait(s, node, key, in);
    case StmtKind::kSignal:
      return AdvanceSignal(s, node, key, in);
    case StmtKind::kStep:
    case StmtKind::kEffect:
      return AdvanceCall(s, node, key, in);
  }
}

void Runner::Impl::AdvanceFor(int s, uint32_t node, const std::string& key, Instance& in) {
  const Stmt& stmt = StmtOf(node);
  if (!in.expanded) {
    Value items;
    if (!EvalOrFail(*stmt.value, s, key, &items, "for", node)) return;
    if (items.kind() == ValueKind::kNull) items = Value::List({});
    if (items.kind() != ValueKind::kList) {
      FailStep(key, "expr.error", "for: the loop runs over a list, not a " +
                                      std::string(KindName(items.kind())));
      return;
    }
    log.Append(key, events::StepScheduled{.items = items});
  }
  Expand(s, node);
  ForInfo& f = fors[key];
  if (f.children.empty() || f.done == static_cast<int>(f.children.size())) {
    if (st.At(key).status != InstStatus::kDone) {
      log.Append(key, events::StepCompleted{});
    }
    MarkFinished(s, node, true);
  }
}

void Runner::Impl::Build() {
  scopes.clear();
  fors.clear();
  where.clear();
  ready.clear();
  blocked.clear();
  finished_count = total_count = 0;
  NewScope(-1, -1, "");
  Populate(0);
}

Value Runner::Impl::WaitingList() {
  ValueList out;
  std::set<std::string> seen;
  for (const auto& [s, node] : blocked) {
    const std::string key = Key(s, node);
    if (!seen.insert(key).second) continue;
    const Instance& in = st.At(key);
    const Stmt& stmt = StmtOf(node);
    ValueMap m;
    if (in.requested && !in.decided) {
      m = {{S("kind"), S("approval")}, {S("name"), S(key)}, {S("ask"), in.request.Find("ask") ? *in.request.Find("ask") : Value()}};
      if (const Value* due = in.request.Find("due")) m.emplace_back(S("due"), Value::Time(Timestamp{due->as_int()}));
    } else if (stmt.kind == StmtKind::kWait) {
      m = {{S("kind"), S("timer")}, {S("name"), S(key)}, {S("due"), Value::Time(Timestamp{in.due})}};
    } else if (stmt.kind == StmtKind::kSignal) {
      m = {{S("kind"), S("signal")}, {S("name"), S(key)}, {S("signal"), S(SignalName(stmt))}};
      if (in.timer) m.emplace_back(S("due"), Value::Time(Timestamp{in.due}));  // its timeout
    } else if (auto w = key_waits.find(key); w != key_waits.end() && w->second.due) {
      // Another run sends an effect with this key: its result, or the key
      // once that run gives it up.
      m = {{S("kind"), S("effect_key")},
           {S("name"), S(key)},
           {S("held_by"), S(w->second.holder)},
           {S("due"), Value::Time(Timestamp{w->second.due})},
           {S("turns"), Value::Int(w->second.turns)}};
    } else {
      m = {{S("kind"), S("retry")}, {S("name"), S(key)}, {S("due"), Value::Time(Timestamp{in.retry_due})}};
    }
    out.push_back(M(std::move(m)));
  }
  return Value::List(std::move(out));
}

int64_t Runner::Impl::NextDue() {
  int64_t best = 0;
  auto take = [&](int64_t t) {
    if (t && (!best || t < best)) best = t;
  };
  for (const auto& [s, node] : blocked) {
    const std::string key = Key(s, node);
    const Instance& in = st.At(key);
    if (auto w = key_waits.find(key); w != key_waits.end() && w->second.due) take(w->second.due);
    if (in.requested && !in.decided) {
      if (const Value* due = in.request.Find("due")) take(due->as_int());
    } else if (in.timer) {
      take(in.due);
    } else if (in.retry_due) {
      take(in.retry_due);
    }
  }
  return best;
}

void Runner::Impl::RecheckBlocked() {
  std::vector<std::pair<int, uint32_t>> b;
  b.swap(blocked);
  for (auto [s, node] : b) {
    if (failing) {
      blocked.emplace_back(s, node);
      continue;
    }
    Advance(s, node);
  }
}

}  // namespace aos
