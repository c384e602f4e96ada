#include "lang/trigger_check.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "lang/cron.h"
#include "lang/eval_functions.h"
#include "lang/spelling.h"

namespace aos {
namespace {

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// A schedule whose day-of-month field names only days its months never
// have (only when the weekday field is `*`: otherwise a weekday fires).
bool NeverFires(const CronSpec& spec) {
  if (spec.days_any || !spec.weekdays_any) return false;
  static constexpr int kLongest[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (int m = 1; m <= 12; ++m) {
    if (!spec.months[m]) continue;
    for (int d = 1; d <= kLongest[m]; ++d) {
      if (spec.days[d]) return false;
    }
  }
  return true;
}

const std::string* StringLiteral(const Expr* e) {
  return e && e->kind == ExprKind::kLiteral && e->literal().kind() == ValueKind::kString ? &e->literal().as_string()
                                                                                       : nullptr;
}

// `request.json.NAME`: the field name, or nullopt for anything else.
std::optional<std::string> JsonField(const Expr& e) {
  if (e.kind != ExprKind::kMember || e.args().empty()) return std::nullopt;
  const Expr& json = *e.args()[0];
  if (json.kind != ExprKind::kMember || json.name() != "json" || json.args().empty()) return std::nullopt;
  const Expr& request = *json.args()[0];
  if (request.kind != ExprKind::kIdent || request.name() != "request") return std::nullopt;
  return std::string(e.name());
}

// "int", "list<string>", "Lead?" — for messages.
std::string TypeText(const TypeRef& t) {
  std::string s = t.name;
  if (!t.params.empty()) {
    s += "<";
    for (size_t i = 0; i < t.params.size(); ++i) s += (i ? ", " : "") + TypeText(*t.params[i]);
    s += ">";
  }
  return s + (t.optional ? "?" : "");
}

// Whether a value of type `given` can be passed where `want` is declared
// (an optional given needs an optional or defaulted want: the caller says).
bool SameType(const TypeRef& given, const TypeRef& want) {
  if (given.name != want.name || given.params.size() != want.params.size()) return false;
  for (size_t i = 0; i < given.params.size(); ++i) {
    if (!SameType(*given.params[i], *want.params[i])) return false;
  }
  return true;
}

class Checker {
 public:
  Checker(Program& p, const Module& m, const SourceFile* src, Diagnostics& d) : p_(p), m_(m), src_(src), d_(d) {
    time_.name = "time";
    request_.name = "map";
    request_.params.push_back(std::make_unique<TypeRef>());
    request_.params.back()->name = "string";
    request_.params.push_back(std::make_unique<TypeRef>());
    request_.params.back()->name = "any";
  }

  void Run() {
    std::set<std::string> paths;
    for (const auto& t : m_.triggers) Check(t, paths);
  }

 private:
  void Check(const TriggerDecl& t, std::set<std::string>& paths) {
    const int kinds = (t.schedule != nullptr) + (t.every != nullptr) + (t.webhook != nullptr);
    if (kinds != 1) {
      auto& d = d_.Error(src_, t.name_span, "E170",
                         "trigger " + Quote(t.name) + (kinds ? " has more than one of schedule, every and webhook"
                                                             : " says neither when (schedule, every) nor how (webhook) it fires"));
      d.hints.push_back("a trigger is one of: schedule \"0 9 * * MON\", every 6h, webhook \"/hooks/name\"");
    }
    if ((t.start != nullptr) == (t.signal != nullptr)) {
      auto& d = d_.Error(src_, t.name_span, "E170",
                         "trigger " + Quote(t.name) + " needs exactly one of start and signal");
      d.hints.push_back("start workflow(param: value) starts a run; signal \"name\" to RUN delivers a signal");
    }
    const bool timed = t.schedule || t.every;
    if (t.schedule) {
      if (const std::string* text = StringLiteral(t.schedule)) {
        std::string error;
        if (auto spec = ParseCron(*text, &error); !spec) {
          d_.Error(src_, t.schedule->span, "E171", "bad schedule: " + error);
        } else if (NeverFires(*spec)) {
          auto& d = d_.Error(src_, t.schedule->span, "E171",
                             "schedule " + Quote(*text) + " never fires: none of its months has its days");
          d.hints.push_back("April, June, September and November have 30 days, February 29 at most");
        }
      } else {
        d_.Error(src_, t.schedule->span, "E171", "a schedule is a quoted cron expression, such as \"0 9 * * MON\"");
      }
    }
    if (t.every && !(t.every->kind == ExprKind::kLiteral && t.every->literal().kind() == ValueKind::kDuration &&
                     t.every->literal().as_duration().nanos >= 1'000'000'000)) {
      d_.Error(src_, t.every->span, "E171", "every takes a duration of at least 1s, such as every 6h");
    }
    if (t.timezone) {
      const std::string* tz = StringLiteral(t.timezone);
      std::string error;
      if (!tz) {
        d_.Error(src_, t.timezone->span, "E171", "a time zone is a quoted IANA name, such as \"Europe/Berlin\"");
      } else if (!FindTimeZone(*tz, &error)) {
        d_.Error(src_, t.timezone->span, "E171", error);
      }
      if (!t.schedule) d_.Error(src_, t.timezone->span, "E170", "timezone goes with schedule");
    }
    if (!timed && t.missed_span.end) d_.Error(src_, t.missed_span, "E170", "missed goes with schedule or every");
    if (t.webhook) {
      const std::string* path = StringLiteral(t.webhook);
      if (!path || path->rfind("/hooks/", 0) != 0 || path->size() <= 7) {
        d_.Error(src_, t.webhook->span, "E172", "a webhook's path is a quoted \"/hooks/name\"");
      } else if (!paths.insert(*path).second) {
        d_.Error(src_, t.webhook->span, "E172", "two triggers listen on " + Quote(*path));
      }
      if (!t.auth) {
        auto& d = d_.Error(src_, t.name_span, "E172", "webhook trigger " + Quote(t.name) + " has no auth");
        d.hints.push_back("add auth bearer(secret(\"HOOK_TOKEN\")) or auth hmac_sha256(secret(\"HOOK_SECRET\"), "
                          "\"X-Signature\")");
      }
    } else if (t.auth || t.key) {
      d_.Error(src_, (t.auth ? t.auth : t.key)->span, "E170", "auth and key go with webhook");
    }
    if (t.auth) CheckAuth(*t.auth);
    const TypeDecl* body = t.body ? BodyType(*t.body) : nullptr;
    if (t.body && !t.webhook) d_.Error(src_, t.body->span, "E170", "body goes with webhook");
    if (t.start) CheckStart(*t.start, body);
    if (body) {
      for (const Expr* e : {t.key, t.signal, t.signal_to, t.signal_with}) {
        JsonFields(e, *body);
      }
      if (t.start) {
        for (const auto& a : t.start->args) JsonFields(a, *body);
      }
    }
    // Names: what the trigger binds, and nothing else; then, when they
    // are right, the expression as any other: functions, arity, types.
    const std::string bound = timed ? "fired_at" : "request";
    for (const Expr* e : {t.key, t.signal, t.signal_to, t.signal_with}) {
      Typed(e, bound, nullptr, nullptr);
    }
    for (const Expr* e : {t.schedule, t.every, t.timezone, t.webhook}) Names(e, bound, {});
    if (t.start) StartArgs(*t.start, bound);
    if (t.signal) CheckSignalName(*t.signal);
  }

  void CheckAuth(const Expr& a) {
    const bool bearer = a.kind == ExprKind::kCall && !a.has_receiver && a.name() == "bearer" && a.args().size() == 1;
    const bool hmac = a.kind == ExprKind::kCall && !a.has_receiver && a.name() == "hmac_sha256" && a.args().size() == 2 &&
                      StringLiteral(a.args()[1]);
    if (!bearer && !hmac) {
      auto& d = d_.Error(src_, a.span, "E172", "auth is bearer(SECRET) or hmac_sha256(SECRET, \"Header-Name\")");
      d.hints.push_back("write for example: auth bearer(secret(\"LEAD_HOOK_TOKEN\"))");
      return;
    }
    const Expr& secret = *a.args()[0];
    if (!(secret.kind == ExprKind::kCall && secret.name() == "secret" && !secret.has_receiver)) {
      d_.Error(src_, secret.span, "E172", "the webhook's credential comes from secret(\"NAME\")");
    }
  }

  // The declared record type of `body: T`; null (after E176) otherwise.
  const TypeDecl* BodyType(const TypeRef& t) {
    auto it = p_.types.find(t.name);
    if (it != p_.types.end() && t.params.empty()) return it->second;
    std::vector<std::string> names;
    for (const auto& [n, decl] : p_.types) names.push_back(n);
    auto& d = d_.Error(src_, t.span, "E176",
                       "a webhook's body is a declared type (type Lead { ... }), not " + Quote(TypeText(t)));
    if (auto m = ClosestMatch(t.name, names)) d.hints.push_back("did you mean " + Quote(*m) + "?");
    return nullptr;
  }

  const Field* FieldOf(const TypeDecl& type, const std::string& name) const {
    for (const auto& f : type.fields) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }

  // Every request.json.NAME in e must be a field of the body type.
  void JsonFields(const Expr* e, const TypeDecl& body) {
    if (!e) return;
    if (const auto name = JsonField(*e); name && !FieldOf(body, *name)) {
      std::vector<std::string> fields;
      for (const auto& f : body.fields) fields.push_back(f.name);
      auto& d = d_.Error(src_, e->span, "E176",
                         "request.json has no field " + Quote(*name) + " (the webhook's body is " + body.name + ")");
      if (auto m = ClosestMatch(*name, fields)) d.hints.push_back("did you mean " + Quote(*m) + "?");
    }
    for (const auto& a : e->args()) JsonFields(a, body);
  }

  void CheckStart(const Call& c, const TypeDecl* body) {
    const WorkflowDecl* wf = nullptr;
    std::vector<std::string> names;
    for (const auto& w : m_.workflows) {
      names.push_back(w.name);
      if (w.name == c.callee) wf = &w;
    }
    if (!wf) {
      auto& d = d_.Error(src_, c.callee_span, "E173", "no workflow " + Quote(c.callee) + " in this file to start");
      if (auto m = ClosestMatch(c.callee, names)) d.hints.push_back("did you mean " + Quote(*m) + "?");
      return;
    }
    std::set<std::string> given;
    std::vector<std::string> params;
    for (const auto& p : wf->params) params.push_back(p.name);
    for (size_t i = 0; i < c.args.size(); ++i) {
      const std::string name(c.arg_names[i]);
      if (name.empty()) {
        auto& d = d_.Error(src_, c.args[i]->span, "E173", "a trigger passes inputs by name");
        d.hints.push_back("write for example: start " + wf->name + "(" + (params.empty() ? "x" : params[0]) + ": ...)");
        continue;
      }
      if (std::find(params.begin(), params.end(), name) == params.end()) {
        auto& d = d_.Error(src_, c.args[i]->span, "E173", "workflow " + Quote(wf->name) + " has no parameter " + Quote(name));
        if (auto m = ClosestMatch(name, params)) d.hints.push_back("did you mean " + Quote(*m) + "?");
      } else if (body) {
        CheckArgType(*wf, name, *c.args[i], *body);
      }
      given.insert(name);
    }
    for (const auto& p : wf->params) {
      if (!given.count(p.name) && !p.default_value && !(p.type && p.type->optional)) {
        d_.Error(src_, c.span, "E173", "starting " + Quote(wf->name) + " needs the input " + Quote(p.name));
      }
    }
  }

  // With a body type, `param: request.json.F` passes F's declared type:
  // it must be the parameter's.
  void CheckArgType(const WorkflowDecl& wf, const std::string& param, const Expr& arg, const TypeDecl& body) {
    const auto name = JsonField(arg);
    const Field* f = name ? FieldOf(body, *name) : nullptr;
    const Field* p = nullptr;
    for (const auto& q : wf.params) {
      if (q.name == param) p = &q;
    }
    if (!f || !p || !f->type || !p->type) return;
    const bool maybe_absent = f->type->optional && !f->default_value;
    if (SameType(*f->type, *p->type) && (!maybe_absent || p->type->optional || p->default_value)) return;
    auto& d = d_.Error(src_, arg.span, "E173",
                       "request.json." + *name + " is " + TypeText(*f->type) + " (in " + body.name + "), but " +
                           Quote(param) + " of " + Quote(wf.name) + " is " + TypeText(*p->type));
    d.hints.push_back("declare the field as the parameter's type, or convert it in the workflow");
  }

  // Names(e), then, without unknown names, the expression checker over it;
  // `want` (a parameter's type) makes a mismatch E173 about `param`.
  void Typed(const Expr* e, const std::string& bound, const TypeRef* want, const std::string* param) {
    if (!e) return;
    const size_t before = d_.all().size();
    Names(e, bound, {});
    if (d_.all().size() != before) return;
    const std::string mismatch =
        CheckBoundExpr(p_, src_, *e, {{bound, bound == "fired_at" ? &time_ : &request_}}, want, d_);
    if (!mismatch.empty() && param) {
      d_.Error(src_, e->span, "E173", "the input " + Quote(*param) + " " + mismatch);
    }
    TimeZones(*e);
  }

  // Each start argument, typed against its parameter (when the workflow is
  // the file's).
  void StartArgs(const Call& c, const std::string& bound) {
    const WorkflowDecl* wf = nullptr;
    for (const auto& w : m_.workflows) {
      if (w.name == c.callee) wf = &w;
    }
    for (size_t i = 0; i < c.args.size(); ++i) {
      const std::string name(c.arg_names[i]);
      const TypeRef* want = nullptr;
      if (wf) {
        for (const auto& p : wf->params) {
          if (p.name == name) want = p.type.get();
        }
      }
      Typed(c.args[i], bound, want, &name);
    }
  }

  // format_time(t, fmt, "Zone"): a literal zone must be one the tz database
  // knows (as a trigger's timezone must).
  void TimeZones(const Expr& e) {
    if (e.kind == ExprKind::kCall && !e.has_receiver && e.name() == "format_time" && e.args().size() == 3) {
      if (const std::string* tz = StringLiteral(e.args()[2])) {
        std::string error;
        if (!FindTimeZone(*tz, &error)) d_.Error(src_, e.args()[2]->span, "E171", error);
      }
    }
    for (const auto& a : e.args()) TimeZones(*a);
  }

  // `signal "NAME" to RUN`: some statement of the file's workflows must take
  // NAME, or every delivery would be refused.
  void CheckSignalName(const Expr& s) {
    const std::string* name = StringLiteral(&s);
    if (!name) return;
    std::vector<std::string> taken;
    for (const auto& dag : p_.workflows) {
      for (const DagNode& n : dag->nodes) {
        if (n.stmt && n.stmt->kind == StmtKind::kSignal) taken.push_back(n.stmt->waits().event.empty() ? std::string(n.stmt->name) : n.stmt->waits().event);
      }
    }
    if (std::find(taken.begin(), taken.end(), *name) != taken.end()) return;
    auto& d = d_.Error(src_, s.span, "E173", "no workflow of this file takes the signal " + Quote(*name));
    if (auto m = ClosestMatch(*name, taken)) d.hints.push_back("did you mean " + Quote(*m) + "?");
  }

  void Names(const Expr* e, const std::string& bound, std::set<std::string> locals) {
    if (!e) return;
    if (e->kind == ExprKind::kIdent) {
      if (e->name() != bound && !locals.count(std::string(e->name()))) {
        auto& d = d_.Error(src_, e->span, "E174", "unknown name " + Quote(std::string(e->name())) + " in a trigger");
        d.hints.push_back(bound == "fired_at" ? "a schedule's expressions know fired_at (the fire time)"
                                              : "a webhook's expressions know request (method, path, query, headers, json, body)");
      }
      return;
    }
    if (e->kind == ExprKind::kCall && e->has_receiver && IsMacro(e->name()) && e->args().size() >= 3 &&
        e->args()[1]->kind == ExprKind::kIdent) {
      Names(e->args()[0], bound, locals);
      locals.insert(std::string(e->args()[1]->name()));
      for (size_t i = 2; i < e->args().size(); ++i) Names(e->args()[i], bound, locals);
      return;
    }
    if (e->kind == ExprKind::kMember) return Names(e->args()[0], bound, locals);
    for (const auto& a : e->args()) Names(a, bound, locals);
  }

  Program& p_;
  const Module& m_;
  TypeRef time_, request_;  // the types of fired_at and request
  const SourceFile* src_;
  Diagnostics& d_;
};

}  // namespace

void CheckTriggers(Program& program, const Module& main, const SourceFile* src, Diagnostics& diags) {
  Checker(program, main, src, diags).Run();
}

void CheckServedTogether(const std::vector<const Program*>& programs, Diagnostics& diags) {
  // name -> the file that declared it first
  std::map<std::string, const SourceFile*> workflows, triggers, paths;
  auto claim = [&](std::map<std::string, const SourceFile*>& seen, const std::string& what, const std::string& name,
                   const SourceFile* src, Span span) {
    auto [it, fresh] = seen.try_emplace(name, src);
    if (fresh) return;
    auto& d = diags.Error(src, span, "E175", what + " " + Quote(name) + " is also declared in " + it->second->path());
    d.hints.push_back("files served together need distinct workflow names, trigger names and webhook paths "
                      "(aoscheck --together FILE... checks them before serving)");
  };
  for (const Program* p : programs) {
    if (p->sources.empty()) continue;
    const SourceFile* src = p->sources.front().get();
    for (const auto& dag : p->workflows) {
      claim(workflows, "workflow", dag->workflow->name, src, dag->workflow->name_span);
    }
    for (const TriggerDecl* t : p->triggers) {
      claim(triggers, "trigger", t->name, src, t->name_span);
      if (t->webhook && t->webhook->kind == ExprKind::kLiteral && t->webhook->literal().kind() == ValueKind::kString) {
        claim(paths, "webhook path", t->webhook->literal().as_string(), src, t->webhook->span);
      }
    }
  }
}

}  // namespace aos
