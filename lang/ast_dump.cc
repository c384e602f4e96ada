#include "lang/ast_dump.h"

namespace aos {

namespace {

void Dump(const Expr& e, std::string& out);

void DumpArgs(const Expr& e, size_t from, std::string& out) {
  for (size_t i = from; i < e.args().size(); ++i) {
    out += ' ';
    Dump(*e.args()[i], out);
  }
}

void Dump(const Expr& e, std::string& out) {
  switch (e.kind) {
    case ExprKind::kLiteral:
      out += e.literal().ToJson();
      return;
    case ExprKind::kIdent:
      out += e.name();
      return;
    case ExprKind::kMember:
      out += "(. ";
      Dump(*e.args()[0], out);
      out += " " + std::string(e.name()) + ")";
      return;
    case ExprKind::kIndex:
      out += "([] ";
      Dump(*e.args()[0], out);
      out += " ";
      Dump(*e.args()[1], out);
      out += ")";
      return;
    case ExprKind::kCall:
      out += e.has_receiver ? "(method " + std::string(e.name()) : "(call " + std::string(e.name());
      DumpArgs(e, 0, out);
      out += ")";
      return;
    case ExprKind::kUnary:
    case ExprKind::kBinary:
      out += "(" + std::string(e.name());
      DumpArgs(e, 0, out);
      out += ")";
      return;
    case ExprKind::kCond:
      out += "(?";
      DumpArgs(e, 0, out);
      out += ")";
      return;
    case ExprKind::kList:
      out += "(list";
      DumpArgs(e, 0, out);
      out += ")";
      return;
    case ExprKind::kMap:
      out += "(map";
      DumpArgs(e, 0, out);
      out += ")";
      return;
    case ExprKind::kInterp:
      out += "(interp";
      DumpArgs(e, 0, out);
      out += ")";
      return;
  }
}


void DumpOpt(const char* label, const ExprPtr& e, std::string& out) {
  if (!e) return;
  out += std::string(" ") + label + " ";
  Dump(*e, out);
}

void DumpStmt(const Stmt& s, const std::string& indent, std::string& out) {
  out += indent + StmtKindName(s.kind);
  if (!s.name.empty()) out += " " + std::string(s.name);
  if (s.kind == StmtKind::kFor) out += " " + std::string(s.loop().loop_var);
  if (s.call) {
    out += " = (call " + s.call->callee;
    for (size_t i = 0; i < s.call->args.size(); ++i) {
      out += " ";
      if (!s.call->arg_names[i].empty()) out += std::string(s.call->arg_names[i]) + ": ";
      Dump(*s.call->args[i], out);
    }
    out += ")";
  }
  DumpOpt("value", s.value, out);
  DumpOpt("ask", s.waits().ask, out);
  DumpOpt("show", s.waits().show, out);
  DumpOpt("timeout", s.waits().timeout, out);
  if (!s.waits().on_timeout.empty()) out += " on_timeout " + std::string(s.waits().on_timeout);
  if (s.waits().returns) out += " returns " + DumpType(*s.waits().returns);
  DumpOpt("approvers", s.waits().approvers, out);
  DumpOpt("for", s.waits().wait_for, out);
  DumpOpt("until", s.waits().wait_until, out);
  if (s.kind == StmtKind::kSignal) out += " event " + s.waits().event;
  if (s.loop().max_parallel) out += " max " + std::to_string(*s.loop().max_parallel);
  for (const auto& m : s.modifiers) {
    out += std::string(" [") + ModifierName(m.kind);
    if (m.kind == ModifierKind::kRetry) {
      out += " " + std::to_string(m.retry->attempts);
      if (m.retry->backoff) out += " backoff " + FormatDuration(*m.retry->backoff);
      if (m.retry->factor != 1.0) out += " x " + Value::Double(m.retry->factor).ToJson();
      if (m.retry->max_delay) out += " max " + FormatDuration(*m.retry->max_delay);
      if (m.retry->jitter) out += " jitter";
      for (const auto& k : m.retry->on) out += " on " + k;
    }
    if (m.value) {
      out += " ";
      Dump(*m.value, out);
    }
    if (m.ttl) out += " " + FormatDuration(*m.ttl);
    if (m.call) out += " " + m.call->callee;
    if (m.kind == ModifierKind::kEscalate) out += " " + std::to_string(m.count);
    out += "]";
  }
  DumpOpt("when", s.when, out);
  for (const auto& a : s.after) out += " after " + std::string(a.name);
  out += "\n";
  for (const auto& b : s.loop().body) DumpStmt(*b, indent + "  ", out);
}

}  // namespace

std::string DumpType(const TypeRef& t) {
  std::string out = t.name;
  if (!t.params.empty()) {
    out += "<";
    for (size_t i = 0; i < t.params.size(); ++i) {
      out += (i ? ", " : "") + DumpType(*t.params[i]);
    }
    out += ">";
  }
  return out + (t.optional ? "?" : "");
}

std::string DumpField(const Field& f) {
  std::string out = std::string(f.is_key ? "key " : f.is_identity ? "identity " : "") + f.name + ": " +
                    (f.type ? DumpType(*f.type) : "?");
  if (const Expr* d = f.default_value) {
    // Literals as written: a default is usually one.
    const bool empty_list = d->kind == ExprKind::kList && d->args().empty();
    const bool empty_map = d->kind == ExprKind::kMap && d->args().empty();
    out += " = " + (d->kind == ExprKind::kLiteral ? d->literal().ToJson()
                    : empty_list                  ? std::string("[]")
                    : empty_map                   ? std::string("{}")
                                                  : DumpExpr(*d));
  }
  return out;
}

const char* StmtKindName(StmtKind k) {
  switch (k) {
    case StmtKind::kStep: return "step";
    case StmtKind::kEffect: return "effect";
    case StmtKind::kApproval: return "approval";
    case StmtKind::kWait: return "wait";
    case StmtKind::kSignal: return "signal";
    case StmtKind::kLet: return "let";
    case StmtKind::kFor: return "for";
    case StmtKind::kOutput: return "output";
    case StmtKind::kFail: return "fail";
  }
  return "?";
}

const char* ModifierName(ModifierKind k) {
  switch (k) {
    case ModifierKind::kRetry: return "retry";
    case ModifierKind::kTimeout: return "timeout";
    case ModifierKind::kCache: return "cache";
    case ModifierKind::kKey: return "key";
    case ModifierKind::kCompensate: return "compensate";
    case ModifierKind::kConfirm: return "confirm";
    case ModifierKind::kEscalate: return "escalate";
    case ModifierKind::kDescribe: return "describe";
  }
  return "?";
}

std::string DumpExpr(const Expr& e) {
  std::string out;
  Dump(e, out);
  return out;
}

std::string DumpModule(const Module& m) {
  std::string out;
  if (!m.version.empty()) out += "aos " + m.version + "\n";
  for (const auto& i : m.imports) out += "import " + i.path + "\n";
  for (const auto& t : m.types) {
    out += std::string(t.is_entity ? "entity " : "type ") + t.name + "\n";
    for (const auto& f : t.fields) {
      out += "  " + DumpField(f) + "\n";
    }
  }
  for (const auto& c : m.connectors) {
    out += "connector " + c.name + " = " + c.kind + "\n";
    for (const auto& s : c.settings) out += "  " + s.key + ": " + DumpExpr(*s.value) + "\n";
  }
  for (const auto& a : m.agents) {
    out += "agent " + a.name + "\n";
    for (const auto& s : a.settings) {
      out += "  " + s.key + ": " + (s.type ? DumpType(*s.type) : DumpExpr(*s.value)) + "\n";
    }
  }
  for (const auto& w : m.workflows) {
    out += "workflow " + w.name + "(";
    for (size_t i = 0; i < w.params.size(); ++i) {
      out += (i ? ", " : "") + w.params[i].name + ": " + DumpType(*w.params[i].type);
      if (w.params[i].default_value) out += " = " + DumpExpr(*w.params[i].default_value);
    }
    out += ")";
    if (w.return_type) out += " -> " + DumpType(*w.return_type);
    out += "\n";
    if (w.budget) {
      out += "  budget " + DumpExpr(*w.budget) + (w.budget_per.empty() ? "" : " per " + std::string(w.budget_per)) + "\n";
    }
    if (w.concurrency) out += "  concurrency " + std::to_string(*w.concurrency) + "\n";
    for (const auto& s : w.body) DumpStmt(*s, "  ", out);
  }
  return out;
}

}  // namespace aos
