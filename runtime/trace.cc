#include "runtime/trace.h"

#include <cstdio>
#include <map>

#include "lang/ast_dump.h"
#include "lang/builtins.h"
#include "runtime/codec.h"
#include "runtime/run_log.h"

namespace aos {

namespace {

std::string Str(const Value& v) { return v.kind() == ValueKind::kString ? v.as_string() : (v.is_null() ? "" : v.ToJson()); }

}  // namespace

namespace {

std::string Joined(const std::vector<std::string>& xs) {
  std::string out;
  for (const auto& x : xs) out += (out.empty() ? "" : ", ") + x;
  return out;
}

// The keys an entity read returned: E.get's record, E.find's and E.list's
// records, E.resolve's key.
void ReadKeys(const std::map<std::string, const Stmt*>& stmts, const std::string& step, const Value& result,
              TraceSpan& s) {
  auto st = stmts.find(step.substr(0, step.find('[')));
  if (st == stmts.end() || !st->second || !st->second->call) return;
  const CallTarget& k = st->second->call->target;
  if (!k.known() || !k.entity()) return;
  const TypeDecl& et = *k.entity();
  const Field* kf = et.KeyField();
  auto add = [&](const Value& key) {
    if (key.is_null()) return;
    if (s.read.size() < kMaxReadKeys) {
      s.read.push_back(et.name + ":" + key.ToDisplayString());
    } else {
      ++s.read_more;
    }
  };
  auto key_of = [&](const Value& r) { return kf && r.kind() == ValueKind::kMap && r.Find(kf->name) ? *r.Find(kf->name) : Value(); };
  switch (k.spec->op) {
    case CallOp::kEntityGet: add(key_of(result)); break;
    case CallOp::kEntityResolve: add(result); break;
    case CallOp::kEntityFind:
    case CallOp::kEntityList:
      if (result.kind() == ValueKind::kList) {
        for (const Value& r : result.as_list()) add(key_of(r));
      }
      break;
    default: break;
  }
}

}  // namespace

bool BuildTrace(Store& store, const std::string& run_id, const Dag* dag, Trace* out, std::string* error) {
  Trace t;
  t.run_id = run_id;
  if (!store.Get(Column::kRuns, run_id)) {
    *error = "no run " + run_id + " in this data directory";
    return false;
  }
  std::map<std::string, const Stmt*> stmts;
  if (dag) {
    for (const auto& n : dag->nodes) stmts[std::string(n.name)] = n.stmt;
  }
  std::map<std::string, size_t> index;
  bool damaged = false;
  ScanRunEvents(store, run_id, [&](uint64_t seq, const Event* e, const std::string& why) {
    if (!e) {
      *error = "run " + run_id + ": event " + std::to_string(seq) + ": " + why;
      damaged = true;
      return false;
    }
    if (t.start == 0) t.start = e->at_nanos;
    t.end = e->at_nanos;
    switch (e->type) {
      case EventType::kRunStarted:
        t.workflow = events::Read<events::RunStarted>(*e).workflow;
        t.status = "running";
        return true;
      case EventType::kRunWaiting: t.status = "waiting"; return true;
      case EventType::kRunResumed: t.status = "running"; return true;
      case EventType::kRunCompleted: t.status = "completed"; return true;
      case EventType::kRunFailed:
        t.status = "failed";
      {
        const Value error = events::Read<events::RunFailed>(*e).error;
        t.error = Str(error.Find("kind") ? *error.Find("kind") : Value()) + ": " +
                  Str(error.Find("message") ? *error.Find("message") : Value());
      }
        return true;
      case EventType::kRunCancelled: t.status = "cancelled"; return true;
      default: break;
    }
    if (e->step.empty()) return true;
    auto [it, fresh] = index.emplace(e->step, t.spans.size());
    if (fresh) {
      TraceSpan s;
      s.name = e->step;
      s.start = e->at_nanos;
      s.status = "running";
      const std::string base = e->step.substr(0, e->step.find('['));
      if (auto st = stmts.find(base); st != stmts.end() && st->second) {
        const Stmt& stmt = *st->second;
        s.kind = StmtKindName(stmt.kind);
        if (stmt.call) s.callee = stmt.call->callee;
        if (const Modifier* d = stmt.FindModifier(ModifierKind::kDescribe);
            d && d->value && d->value->kind == ExprKind::kLiteral && d->value->literal().kind() == ValueKind::kString) {
          s.describe = d->value->literal().as_string();
        }
      } else if (e->step.size() > 5 && e->step.substr(e->step.size() - 5) == ":undo") {
        s.kind = "undo";
      }
      t.spans.push_back(std::move(s));
    }
    TraceSpan& s = t.spans[it->second];
    switch (e->type) {
      case EventType::kAttemptStarted:
        ++s.attempts;
        // The text as evaluated when the statement started (interpolated).
        if (auto d = events::Read<events::AttemptStarted>(*e).describe) s.describe = *d;
        break;
      case EventType::kAttemptFailed: {
        const auto ev = events::Read<events::AttemptFailed>(*e);
        s.error = ev.kind + ": " + ev.message;
        break;
      }
      case EventType::kEffectIntent: s.key = events::Read<events::EffectIntent>(*e).key; break;
      case EventType::kApprovalRequested: s.status = "waiting"; break;
      case EventType::kApprovalDecided: {
        const auto ev = events::Read<events::ApprovalDecided>(*e);
        s.decision = std::string(ev.approved ? "approved" : "rejected") + " by " + ev.by;
        break;
      }
      case EventType::kTimerStarted: s.status = "waiting"; break;
      case EventType::kStepCompleted: {
        s.status = "ok";
        s.end = e->at_nanos;
        const auto ev = events::Read<events::StepCompleted>(*e);
        if (const Value u = ev.usage.value_or(Value()); u.kind() == ValueKind::kMap) {
          s.model = u.Find("model") ? Str(*u.Find("model")) : "";
          if (const Value* v = u.Find("tokens_in"); v && v->kind() == ValueKind::kInt) s.tokens_in = v->as_int();
          if (const Value* v = u.Find("tokens_out"); v && v->kind() == ValueKind::kInt) s.tokens_out = v->as_int();
          if (const Value* v = u.Find("cost"); v && v->kind() == ValueKind::kMoney) {
            s.cost = FormatMoneyAmount(v->as_money()) + " " + v->as_money().currency.str();
          }
        }
        s.cache_hit = ev.cache.has_value();
        ReadKeys(stmts, e->step, ev.result, s);
        break;
      }
      case EventType::kEntityChanged: {
        const auto ev = events::Read<events::EntityChanged>(*e);
        s.written.push_back(ev.type + ":" + ev.key);
        break;
      }
      case EventType::kEntitiesMerged: {
        const auto ev = events::Read<events::EntitiesMerged>(*e);
        s.written.push_back(ev.type + ":" + ev.from + "->" + ev.into);
        break;
      }
      case EventType::kStepSkipped: s.status = "skipped"; s.end = e->at_nanos; break;
      case EventType::kStepFailed:
        s.status = "failed";
        s.end = e->at_nanos;
      {
        const auto ev = events::Read<events::StepFailed>(*e);
        s.error = ev.kind + ": " + ev.message;
        break;
      }
      case EventType::kEffectCompleted:
        if (s.kind == "undo") {
          s.status = "ok";
          s.end = e->at_nanos;
          s.key = events::Read<events::EffectCompleted>(*e).key;
        }
        break;
      default: break;
    }
    return true;
  });
  if (damaged) return false;
  *out = std::move(t);
  return true;
}

namespace {

// A duration as durations print everywhere (FormatDuration: "250ms",
// "1.5s", "49h"), to the millisecond under a minute, to the second above.
std::string Ms(int64_t nanos) {
  const int64_t unit = nanos < 60'000'000'000 ? 1'000'000 : 1'000'000'000;
  return FormatDuration(Duration{(nanos + unit / 2) / unit * unit});
}

}  // namespace

std::string RenderTraceText(const Trace& t) {
  std::string out = "run " + t.run_id + "  " + t.workflow + "  " + t.status + "  " +
                    (t.end > t.start ? Ms(t.end - t.start) : "") + "\n";
  if (!t.error.empty()) out += "  error: " + t.error + "\n";
  char line[512];
  for (const auto& s : t.spans) {
    const std::string took = s.end ? Ms(s.end - s.start) : "...";
    std::snprintf(line, sizeof line, "  +%-9s  %-20s %-9s %-8s %10s", Ms(s.start - t.start).c_str(),
                  s.name.c_str(), s.kind.c_str(), s.status.c_str(), took.c_str());
    out += line;
    std::string notes;
    auto add = [&](const std::string& x) {
      if (!x.empty()) notes += (notes.empty() ? "" : "; ") + x;
    };
    add(s.callee);
    if (s.attempts > 1) add(std::to_string(s.attempts) + " attempts");
    add(s.key.empty() ? "" : "key " + s.key);
    if (!s.model.empty()) {
      add(s.model + " " + std::to_string(s.tokens_in) + "->" + std::to_string(s.tokens_out) + " tokens, " + s.cost +
          (s.cache_hit ? " (cache hit)" : ""));
    } else if (s.cache_hit) {
      add("cache hit");
    }
    add(s.decision);
    add(s.read.empty() ? "" : "read " + Joined(s.read) + (s.read_more ? " (+" + std::to_string(s.read_more) + " more)" : ""));
    add(s.written.empty() ? "" : "wrote " + Joined(s.written));
    add(s.describe.empty() ? "" : "\"" + s.describe + "\"");
    if (!s.error.empty() && s.status != "ok") add(s.error);
    if (!notes.empty()) out += "  " + notes;
    out += "\n";
  }
  return out;
}

namespace {

std::string Attr(const std::string& key, const std::string& value) {
  return "{\"key\":" + JsonQuote(key) + ",\"value\":{\"stringValue\":" + JsonQuote(value) + "}}";
}
std::string IntAttr(const std::string& key, int64_t value) {
  return "{\"key\":" + JsonQuote(key) + ",\"value\":{\"intValue\":\"" + std::to_string(value) + "\"}}";
}

}  // namespace

std::string RenderOtlpJson(const Trace& t) {
  // Ids: 16 bytes for the trace, 8 per span, derived from the run and instance
  // names so that the same run always gives the same ids.
  const std::string trace_id = Digest("trace:" + t.run_id) + Digest("run:" + t.run_id);
  const std::string root_id = Digest("span:" + t.run_id);
  const int64_t end = t.end > t.start ? t.end : t.start;
  std::string spans;
  auto span = [&](const std::string& id, const std::string& parent, const std::string& name, int64_t start,
                  int64_t stop, const std::vector<std::string>& attrs, bool error, const std::string& message) {
    if (!spans.empty()) spans += ",";
    spans += "{\"traceId\":\"" + trace_id + "\",\"spanId\":\"" + id + "\"";
    if (!parent.empty()) spans += ",\"parentSpanId\":\"" + parent + "\"";
    spans += ",\"name\":" + JsonQuote(name) + ",\"kind\":1,\"startTimeUnixNano\":\"" + std::to_string(start) +
             "\",\"endTimeUnixNano\":\"" + std::to_string(stop) + "\",\"attributes\":[";
    for (size_t i = 0; i < attrs.size(); ++i) spans += (i ? "," : "") + attrs[i];
    spans += "],\"status\":{\"code\":" + std::string(error ? "2" : "1");
    if (error && !message.empty()) spans += ",\"message\":" + JsonQuote(message);
    spans += "}}";
  };
  span(root_id, "", "run " + t.workflow, t.start, end,
       {Attr("aos.run_id", t.run_id), Attr("aos.workflow", t.workflow), Attr("aos.status", t.status)},
       t.status == "failed", t.error);
  for (const auto& s : t.spans) {
    std::vector<std::string> attrs = {Attr("aos.instance", s.name), Attr("aos.kind", s.kind),
                                      Attr("aos.status", s.status)};
    if (!s.callee.empty()) attrs.push_back(Attr("aos.call", s.callee));
    if (!s.describe.empty()) attrs.push_back(Attr("aos.describe", s.describe));
    if (!s.key.empty()) attrs.push_back(Attr("aos.idempotency_key", s.key));
    if (s.attempts) attrs.push_back(IntAttr("aos.attempts", s.attempts));
    if (!s.model.empty()) {
      attrs.push_back(Attr("gen_ai.request.model", s.model));
      attrs.push_back(IntAttr("gen_ai.usage.input_tokens", s.tokens_in));
      attrs.push_back(IntAttr("gen_ai.usage.output_tokens", s.tokens_out));
      attrs.push_back(Attr("aos.cost", s.cost));
    }
    if (s.cache_hit) attrs.push_back(Attr("aos.cache", "hit"));
    if (!s.decision.empty()) attrs.push_back(Attr("aos.decision", s.decision));
    if (!s.read.empty()) attrs.push_back(Attr("aos.entities.read", Joined(s.read)));
    if (!s.written.empty()) attrs.push_back(Attr("aos.entities.written", Joined(s.written)));
    span(Digest("span:" + t.run_id + ":" + s.name), root_id, s.kind.empty() ? s.name : s.kind + " " + s.name, s.start,
         s.end ? s.end : end, attrs, s.status == "failed", s.error);
  }
  return "{\"resourceSpans\":[{\"resource\":{\"attributes\":[" + Attr("service.name", "aos") +
         "]},\"scopeSpans\":[{\"scope\":{\"name\":\"aos\"},\"spans\":[" + spans + "]}]}]}";
}

}  // namespace aos
