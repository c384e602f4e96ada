#include "lang/plan.h"

#include "lang/model_cost.h"

#include <date/tz.h>

#include "lang/cron.h"

#include <cmath>
#include <cstdio>
#include <set>

#include "lang/diagnostic.h"
#include "lang/eval.h"

namespace aos {
namespace {

std::string SourceText(const SourceFile* src, Span s) {
  std::string out;
  bool space = false;
  for (char c : src->Slice(s.begin, s.end)) {
    // Fold newlines and runs of blanks so that one item stays on one line.
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string Shown(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kString: return JsonQuote(v.as_string());
    case ValueKind::kDuration:
    case ValueKind::kTimestamp:
    case ValueKind::kMoney: return v.ToDisplayString();
    default: return v.ToJson();
  }
}

// Long argument texts are cut so that one plan line stays readable.
std::string Clip(std::string s, size_t max = 60) {
  if (s.size() <= max) return s;
  return s.substr(0, max - 3) + "...";
}

// Names that have values at plan time: inputs and defaults, constant lets.
class PlanEnv : public Env {
 public:
  Lookup Find(std::string_view name, Value* out) const override {
    auto it = values.find(std::string(name));
    if (it == values.end()) return Lookup::kUnknown;
    *out = it->second;
    return Lookup::kFound;
  }
  std::map<std::string, Value> values;
};

std::string RetryText(const RetrySpec& r) {
  std::string s = std::to_string(r.attempts);
  if (r.backoff) {
    s += " (backoff " + FormatDuration(*r.backoff);
    if (r.factor != 1.0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", r.factor);
      s += std::string(" x") + buf;
    }
    if (r.max_delay) s += " max " + FormatDuration(*r.max_delay);
    if (r.jitter) s += ", jitter";
    s += ")";
  }
  if (!r.on.empty()) {
    s += " on ";
    for (size_t i = 0; i < r.on.size(); ++i) s += (i ? ", " : "") + r.on[i];
  }
  return s;
}

const Setting* FindSetting(const std::vector<Setting>& settings, const char* key) {
  for (const auto& s : settings) {
    if (s.key == key) return &s;
  }
  return nullptr;
}


class Planner {
 public:
  Planner(const Program& p, const Dag& d, const PlanOptions& o) : prog_(p), dag_(d), opts_(o) {
    src_ = dag_.source;
  }

  PlanReport Run() {
    const WorkflowDecl& w = *dag_.workflow;
    BindInputs(w);
    if (!report_.input_errors.empty()) return std::move(report_);
    report_.signature = w.name + "(";
    for (size_t i = 0; i < w.params.size(); ++i) {
      const Field& f = w.params[i];
      report_.signature += (i ? ", " : "") + f.name + ": " + SourceText(src_, f.type->span);
      auto it = env_.values.find(f.name);
      if (it != env_.values.end()) report_.signature += " = " + Shown(it->second);
    }
    report_.signature += ")";
    report_.cost_known = opts_.models.has_value();
    Walk(dag_.order, 0);
    // The workflow's budget against the high estimate: past it, model calls
    // wait for the operator at run time (budget approvals).
    if (report_.cost_known && report_.model_calls && w.budget && w.budget->kind == ExprKind::kLiteral &&
        w.budget->literal().kind() == ValueKind::kMoney &&
        w.budget->literal().as_money().currency == report_.cost_high.currency &&
        report_.cost_high.nanos > w.budget->literal().as_money().nanos) {
      report_.budget_note = "the estimate (up to " + FormatMoneyAmount(report_.cost_high) + " " +
                            report_.cost_high.currency.str() + ") can exceed the budget of " +
                            FormatMoneyAmount(w.budget->literal().as_money()) + " " + report_.cost_high.currency.str() +
                            ": a call past it waits for the operator";
    }
    return std::move(report_);
  }

 private:
  void BindInputs(const WorkflowDecl& w) {
    std::set<std::string> given;
    for (const auto& [k, v] : opts_.inputs) {
      const Field* param = nullptr;
      for (const auto& f : w.params) {
        if (f.name == k) param = &f;
      }
      if (!param) {
        std::string names;
        for (size_t i = 0; i < w.params.size(); ++i) names += (i ? ", " : "") + w.params[i].name;
        report_.input_errors.push_back("workflow '" + w.name + "' has no parameter '" + k + "'" +
                                       (names.empty() ? std::string(" (it takes none)")
                                                      : " (its parameters are " + names + ")"));
        continue;
      }
      std::string error;
      auto value = TypedInput(v, param->type.get(), &error);
      if (!value) {
        report_.input_errors.push_back("--input " + k + ": " + error);
        continue;
      }
      env_.values[k] = *value;
      given.insert(k);
    }
    for (const auto& f : w.params) {
      if (given.count(f.name) || !f.default_value) continue;
      PlanEnv empty;
      EvalResult r = Evaluate(*f.default_value, empty);
      if (r.ok()) env_.values[f.name] = r.value();
    }
  }

  // The value of `e` when the inputs decide it, else the text as written;
  // literals as written, and interpolations with the parts that are known.
  std::string ValueOrText(const Expr& e) {
    if (e.kind == ExprKind::kLiteral && e.literal().kind() != ValueKind::kString) {
      return SourceText(src_, e.span);
    }
    EvalResult r = Evaluate(e, env_);
    if (r.ok()) return Shown(r.value());
    if (e.kind == ExprKind::kInterp) {
      std::string out;
      for (const auto& part : e.args()) {
        EvalResult p = Evaluate(*part, env_);
        if (p.ok()) {
          out += p.value().ToDisplayString();
        } else {
          out += "${" + SourceText(src_, part->span) + "}";
        }
      }
      return JsonQuote(out);
    }
    return SourceText(src_, e.span);
  }

  std::string CallText(const Call& c) {
    std::string s = c.callee + "(";
    if (!c.args.empty() && c.arg_names[0].empty()) {
      const Expr& first = *c.args[0];
      s += Clip(first.kind == ExprKind::kLiteral ? Shown(first.literal()) : ValueOrText(first));
      if (c.args.size() > 1) s += ", ...";
    } else if (!c.args.empty()) {
      s += "...";
    }
    return s + ")";
  }

  void ModelCost(PlanItem& item, const Stmt& s, const std::string& model, int64_t max_tokens,
                 size_t prompt_chars) {
    report_.model_calls += static_cast<int>(times_);
    item.details.emplace_back("model", model);
    if (!opts_.models) {
      item.details.emplace_back("cost", "unknown without --config");
      return;
    }
    auto it = opts_.models->find(model);
    if (it == opts_.models->end()) {
      item.details.emplace_back("cost", "unknown: model not in the config");
      report_.cost_known = false;
      return;
    }
    // The runtime's own estimate (lang/model_cost.h): low is the prompt
    // alone (nothing on a cache hit), high the prompt and all of max_tokens.
    const bool cached = s.FindModifier(ModifierKind::kCache) != nullptr;
    Money low{cached ? 0 : TokenCostNanos(PromptTokens(prompt_chars), it->second.input_per_mtok),
              it->second.currency};
    Money high{EstimateModelCostNanos(prompt_chars, max_tokens, it->second.input_per_mtok,
                                      it->second.output_per_mtok),
               it->second.currency};
    item.details.emplace_back("cost", FormatMoneyAmount(low) + "-" + FormatMoneyAmount(high) +
                                          " " + low.currency.str() + (cached ? " (0 on a cache hit)" : ""));
    // Once per pass: a loop's body runs once per item.
    report_.cost_low.nanos += low.nanos * times_;
    report_.cost_high.nanos += high.nanos * times_;
    report_.cost_low.currency = report_.cost_high.currency = low.currency;
  }

  void DescribeCall(PlanItem& item, const Stmt& s) {
    const Call& c = *s.call;
    item.call = CallText(c);
    const CallTarget k = prog_.Target(c);
    if (!k.known()) return;
    const CallOp op = k.spec->op;
    if (const AgentDecl* agent = k.agent()) {
      std::string model = "?";
      int64_t max_tokens = kDefaultMaxTokens;
      size_t chars = 0;
      if (const Setting* m = FindSetting(agent->settings, "model");
          m && m->value && m->value->kind == ExprKind::kLiteral &&
          m->value->literal().kind() == ValueKind::kString) {
        model = m->value->literal().as_string();
      }
      if (const Setting* m = FindSetting(agent->settings, "max_tokens");
          m && m->value && m->value->kind == ExprKind::kLiteral &&
          m->value->literal().kind() == ValueKind::kInt) {
        max_tokens = m->value->literal().as_int();
      }
      if (const Setting* m = FindSetting(agent->settings, "instructions"); m && m->value) {
        chars += src_->Slice(m->value->span.begin, m->value->span.end).size();
      }
      for (const auto& arg : c.args) chars += arg->span.end - arg->span.begin;
      ModelCost(item, s, model, max_tokens, chars);
    } else if (op == CallOp::kChat || op == CallOp::kSummarize || op == CallOp::kEntitySummary) {
      std::string model = "?";
      size_t chars = 0;
      int64_t max_tokens = kDefaultMaxTokens;
      for (size_t i = 0; i < c.args.size(); ++i) {
        if (c.arg_names[i] == "model" && c.args[i]->kind == ExprKind::kLiteral &&
            c.args[i]->literal().kind() == ValueKind::kString) {
          model = c.args[i]->literal().as_string();
        } else if (c.arg_names[i] == "max_tokens" && c.args[i]->kind == ExprKind::kLiteral &&
                   c.args[i]->literal().kind() == ValueKind::kInt) {
          max_tokens = c.args[i]->literal().as_int();
        } else {
          chars += c.args[i]->span.end - c.args[i]->span.begin;
        }
      }
      ModelCost(item, s, model, max_tokens, chars);
    } else if (RequestOf(op) == RequestKind::kEmbed) {  // llm.embed, kb.add, kb.search
      report_.model_calls += static_cast<int>(times_);
    } else if (k.entity()) {
      if (k.spec->writes) {
        ++report_.entity_writes;
        item.details.emplace_back("entity write", k.entity()->name);
      }
    } else if (s.kind == StmtKind::kStep && op == CallOp::kHttp) {
      ++report_.http_reads;
    }
  }

  void Walk(const std::vector<uint32_t>& ids, uint32_t depth) {
    for (uint32_t id : ids) {
      const DagNode& n = dag_.nodes[id];
      const Stmt& s = *n.stmt;
      PlanItem item;
      item.group = n.group + 1;
      item.depth = depth;
      item.kind = StmtKindName(s.kind);
      item.name = s.kind == StmtKind::kFor ? s.loop().loop_var : s.name;
      switch (s.kind) {
        case StmtKind::kStep:
        case StmtKind::kEffect:
          if (s.call) DescribeCall(item, s);
          if (s.kind == StmtKind::kEffect) {
            ++report_.effects;
            if (const Modifier* k = s.FindModifier(ModifierKind::kKey); k && k->value) {
              item.details.emplace_back("key", ValueOrText(*k->value));
            }
            if (const Modifier* m = s.FindModifier(ModifierKind::kCompensate); m && m->call) {
              ++report_.compensable;
              item.details.emplace_back("compensate", m->call->callee);
            }
            if (s.FindModifier(ModifierKind::kConfirm)) {
              ++report_.approvals;
              item.details.emplace_back("confirm", "an approval showing the request comes first");
            }
          }
          for (const auto& m : s.modifiers) {
            if (m.kind == ModifierKind::kRetry) item.details.emplace_back("retry", RetryText(*m.retry));
            if (m.kind == ModifierKind::kTimeout) item.details.emplace_back("timeout", ValueOrText(*m.value));
            if (m.kind == ModifierKind::kCache) {
              item.details.emplace_back("cache", m.ttl ? FormatDuration(*m.ttl) : "default");
            }
            if (m.kind == ModifierKind::kEscalate) {
              item.details.emplace_back("escalate", "after " + std::to_string(m.count) + " attempts");
            }
            if (m.kind == ModifierKind::kDescribe) item.details.emplace_back("describe", ValueOrText(*m.value));
          }
          break;
        case StmtKind::kApproval:
          ++report_.approvals;
          if (s.waits().ask) item.details.emplace_back("ask", ValueOrText(*s.waits().ask));
          if (s.waits().timeout) {
            item.details.emplace_back(
                "timeout", ValueOrText(*s.waits().timeout) +
                               (s.waits().on_timeout.empty() ? std::string(", then fail")
                                                     : ", then " + std::string(s.waits().on_timeout)));
          } else {
            item.details.emplace_back("timeout", "none: waits for a decision however long");
          }
          break;
        case StmtKind::kWait:
          ++report_.waits;
          if (s.waits().wait_for) item.details.emplace_back("for", ValueOrText(*s.waits().wait_for));
          if (s.waits().wait_until) item.details.emplace_back("until", ValueOrText(*s.waits().wait_until));
          break;
        case StmtKind::kSignal:
          ++report_.signals;
          item.details.emplace_back("event", JsonQuote(s.waits().event));
          if (s.waits().timeout) item.details.emplace_back("timeout", ValueOrText(*s.waits().timeout));
          break;
        case StmtKind::kLet: {
          EvalResult r = Evaluate(*s.value, env_);
          if (r.ok()) {
            env_.values[std::string(s.name)] = r.value();
            item.details.emplace_back("value", Shown(r.value()));
          }
          break;
        }
        case StmtKind::kFor: {
          item.details.emplace_back("over", SourceText(src_, s.value->span));
          // Its items, when the inputs (--input, --input-json) tell them.
          EvalResult items = Evaluate(*s.value, env_);
          if (items.ok() && items.value().kind() == ValueKind::kList) {
            body_times_ = static_cast<int64_t>(items.value().as_list().size());
            item.details.emplace_back("items", std::to_string(body_times_) + " (its body's calls and costs count each)");
          } else {
            body_times_ = 1;
            report_.loop_items_unknown = true;
            item.details.emplace_back("items", "unknown before the run (its body counted once)");
          }
          item.details.emplace_back("max", s.loop().max_parallel ? std::to_string(*s.loop().max_parallel)
                                                           : std::string("no bound"));
          break;
        }
        case StmtKind::kOutput:
          item.name.clear();
          break;
        case StmtKind::kFail:
          item.name.clear();
          item.details.emplace_back("message", ValueOrText(*s.value));
          break;
      }
      if (s.when) item.details.emplace_back("when", SourceText(src_, s.when->span));
      if (!s.after.empty()) {
        std::string a;
        for (size_t i = 0; i < s.after.size(); ++i) a += (i ? ", " : "") + std::string(s.after[i].name);
        item.details.emplace_back("after", a);
      }
      report_.items.push_back(std::move(item));
      if (!dag_.Children(id).empty()) {
        const int64_t saved = times_;
        times_ = std::min<int64_t>(times_ * body_times_, 1'000'000'000);
        Walk(dag_.Children(id), depth + 1);
        times_ = saved;
      }
    }
  }

  int64_t times_ = 1;       // passes of the statements being walked (loops multiply)
  int64_t body_times_ = 1;  // the items of the for just described

  const Program& prog_;
  const Dag& dag_;
  const PlanOptions& opts_;
  const SourceFile* src_;
  PlanEnv env_;
  PlanReport report_;
};

std::string Plural(int n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::optional<Value> TypedInput(const std::string& text, const TypeRef* type, std::string* error) {
  const std::string t = type ? type->name : "any";
  std::string json_error;
  if (t == "string") return Value::String(text);
  if (t == "any") {
    if (auto v = ParseJson(text, &json_error)) return v;
    return Value::String(text);
  }
  if (t == "duration") {
    if (auto d = ParseDurationText(text)) return Value::Dur(*d);
    *error = "'" + text + "' is not a duration (such as 30s, 5m, 48h)";
    return std::nullopt;
  }
  if (t == "money") {
    if (auto m = ParseMoneyText(text)) return Value::MoneyOf(*m);
    // Or the JSON form, {"amount": "2.50", "currency": "usd"}: checked by
    // the input preparation against the type.
    if (auto v = ParseJson(text, &json_error); v && v->kind() == ValueKind::kMap) return v;
    *error = "'" + text + "' is not money (such as '1200.00 usd' or {\"amount\": \"1200.00\", \"currency\": \"usd\"})";
    return std::nullopt;
  }
  if (t == "time" || t == "timestamp") {
    std::string why;
    if (auto ts = ParseTimestampText(text, &why)) return Value::Time(*ts);
    *error = "'" + text + "' is " + why;
    return std::nullopt;
  }
  auto v = ParseJson(text, &json_error);
  if (v && text.find('.') != std::string::npos && t == "double" && v->kind() == ValueKind::kDouble) {
    return v;
  }
  if (v) {
    const ValueKind k = v->kind();
    if ((t == "int" && k == ValueKind::kInt) || (t == "bool" && k == ValueKind::kBool) ||
        (t == "list" && k == ValueKind::kList) || (t == "map" && k == ValueKind::kMap) ||
        (t == "uint" && (k == ValueKind::kUint || k == ValueKind::kInt))) {
      if (t == "uint" && k == ValueKind::kInt) {
        if (v->as_int() < 0) {
          *error = "'" + text + "' is negative, but the parameter is a uint";
          return std::nullopt;
        }
        return Value::Uint(static_cast<uint64_t>(v->as_int()));
      }
      return v;
    }
    if (t == "double" && k == ValueKind::kInt) return Value::Double(static_cast<double>(v->as_int()));
    if (t == "double" && k == ValueKind::kDouble) return v;
    if (k == ValueKind::kMap && t != "int" && t != "bool" && t != "double" && t != "uint" &&
        t != "list") {
      return v;  // a record type
    }
  }
  *error = "'" + text + "' is not " + (t == "int" ? std::string("an int") : "a " + t);
  return std::nullopt;
}

PlanReport BuildPlan(const Program& program, const Dag& dag, const PlanOptions& options) {
  return Planner(program, dag, options).Run();
}

std::string RenderTriggers(const Program& program, const Dag& dag, int64_t now, int count, bool json) {
  std::string text, list;
  for (const TriggerDecl* t : program.triggers) {
    const bool starts = t->start && t->start->callee == dag.workflow->name;
    // A signal trigger concerns this workflow when one of its statements
    // takes that signal (a name known only when the trigger fires counts).
    bool signals = false;
    if (t->signal) {
      const bool literal = t->signal->kind == ExprKind::kLiteral && t->signal->literal().kind() == ValueKind::kString;
      for (const DagNode& n : dag.nodes) {
        if (!n.stmt || n.stmt->kind != StmtKind::kSignal) continue;
        const std::string taken = n.stmt->waits().event.empty() ? std::string(n.stmt->name) : n.stmt->waits().event;
        signals = signals || !literal || taken == t->signal->literal().as_string();
      }
    }
    if (!starts && !signals) continue;
    std::string how, times;
    std::vector<std::string> fires;
    if (t->schedule && t->schedule->literal().kind() == ValueKind::kString) {
      const std::string tz = t->timezone ? t->timezone->literal().ToDisplayString() : "UTC";
      how = "schedule \"" + t->schedule->literal().as_string() + "\" in " + tz + ", missed " + t->missed;
      std::string error;
      auto spec = ParseCron(t->schedule->literal().as_string(), &error);
      const date::time_zone* zone = FindTimeZone(tz, &error);
      int64_t at = now;
      for (int i = 0; spec && zone && i < count; ++i) {
        auto next = NextFire(*spec, zone, at);
        if (!next) break;
        at = *next;
        fires.push_back(FormatTimestamp(Timestamp{at}));
      }
    } else if (t->every && t->every->literal().kind() == ValueKind::kDuration) {
      how = "every " + FormatDuration(t->every->literal().as_duration()) + " (from the previous fire), missed " + t->missed;
      // Counted from the previous fire: shown as if serve started now.
      const int64_t step = t->every->literal().as_duration().nanos;
      for (int i = 1; step > 0 && i <= count; ++i) fires.push_back(FormatTimestamp(Timestamp{now + i * step}));
    } else if (t->webhook) {
      how = "webhook POST " + t->webhook->literal().ToDisplayString() + " (" +
            (t->auth && t->auth->name() == "bearer" ? "bearer token" : "HMAC-SHA256 signature") + ")";
    }
    const std::string what = starts ? "starts " + dag.workflow->name : "signals a run";
    text += "  trigger " + t->name + ": " + how + "; " + what + "\n";
    for (const auto& f : fires) text += "    fires at " + f + "\n";
    std::string jf;
    for (const auto& f : fires) jf += (jf.empty() ? "" : ",") + JsonQuote(f);
    list += std::string(list.empty() ? "" : ",") + "{\"trigger\":" + JsonQuote(t->name) + ",\"how\":" +
            JsonQuote(how) + ",\"starts\":" + (starts ? "true" : "false") + ",\"next\":[" + jf + "]}";
  }
  if (json) return "[" + list + "]";
  return text.empty() ? "" : "\nTriggers\n" + text;
}

std::string RenderPlanText(const PlanReport& r) {
  std::string out = "Plan for " + r.signature + "\n\n";
  out += "  group  statement\n";
  for (const PlanItem& it : r.items) {
    std::string line = "  " + std::string(it.depth * 2, ' ');
    std::string g = std::to_string(it.group);
    line += std::string(g.size() < 5 ? 5 - g.size() : 0, ' ') + g + "  ";
    line += it.kind;
    if (!it.name.empty()) line += " " + it.name;
    if (!it.call.empty()) line += " = " + it.call;
    out += line + "\n";
    for (const auto& [k, v] : it.details) {
      out += "  " + std::string(it.depth * 2, ' ') + "         " + k + ": " + v + "\n";
    }
  }
  out += "\nStatements in the same group run in parallel; a for's body runs once per item.\n";
  out += "Plan: " + Plural(r.effects, "effect", "effects") + " (" +
         std::to_string(r.compensable) + " compensable), " +
         Plural(r.approvals, "approval", "approvals") + ", " +
         Plural(r.model_calls, "model call", "model calls") + ", " +
         Plural(r.entity_writes, "entity write", "entity writes");
  if (r.waits) out += ", " + Plural(r.waits, "timer", "timers");
  if (r.signals) out += ", " + Plural(r.signals, "signal", "signals");
  out += "\n";
  if (r.model_calls) {
    if (r.cost_known) {
      out += "Model cost: " + FormatMoneyAmount(r.cost_low) + " to " +
             FormatMoneyAmount(r.cost_high) + " " + r.cost_high.currency.str() + " (estimate" +
             (r.loop_items_unknown ? "; a loop's items are unknown, its body counted once: give --input-json" : "") +
             ")\n";
      if (!r.budget_note.empty()) out += "Budget: " + r.budget_note + "\n";
    } else {
      out += "Model cost: unknown (give --config with model prices)\n";
    }
  }
  return out;
}

std::string RenderPlanJson(const PlanReport& r) {
  std::string out = "{\"workflow\":" + JsonQuote(r.signature) + ",\"steps\":[";
  for (size_t i = 0; i < r.items.size(); ++i) {
    const PlanItem& it = r.items[i];
    out += (i ? "," : "") + std::string("{\"group\":") + std::to_string(it.group) +
           ",\"depth\":" + std::to_string(it.depth) + ",\"kind\":" + JsonQuote(it.kind) +
           ",\"name\":" + JsonQuote(it.name) + ",\"call\":" + JsonQuote(it.call) + ",\"details\":{";
    for (size_t k = 0; k < it.details.size(); ++k) {
      out += (k ? "," : "") + JsonQuote(it.details[k].first) + ":" + JsonQuote(it.details[k].second);
    }
    out += "}}";
  }
  out += "],\"summary\":{\"effects\":" + std::to_string(r.effects) +
         ",\"compensable\":" + std::to_string(r.compensable) +
         ",\"approvals\":" + std::to_string(r.approvals) +
         ",\"model_calls\":" + std::to_string(r.model_calls) +
         ",\"entity_writes\":" + std::to_string(r.entity_writes) +
         ",\"timers\":" + std::to_string(r.waits) + ",\"signals\":" + std::to_string(r.signals) + "}";
  if (r.cost_known && r.model_calls) {
    out += ",\"cost\":{\"low\":" + JsonQuote(FormatMoneyAmount(r.cost_low)) +
           ",\"high\":" + JsonQuote(FormatMoneyAmount(r.cost_high)) +
           ",\"currency\":" + JsonQuote(r.cost_high.currency.view()) +
           ",\"loop_items_known\":" + (r.loop_items_unknown ? "false" : "true") + "}";
    if (!r.budget_note.empty()) out += ",\"budget\":" + JsonQuote(r.budget_note);
  }
  return out + "}";
}

}  // namespace aos
