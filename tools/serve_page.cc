#include "tools/serve_page.h"

#include <set>

namespace aosrun::page {
namespace {

const char kStyle[] =
    "body{font-family:system-ui,sans-serif;margin:0;background:#f6f6f4;color:#1b1b1b}"
    "header{background:#1f3a5f;color:#fff;padding:.7rem 1rem;display:flex;gap:1rem;align-items:center}"
    "header a{color:#fff;text-decoration:none;font-weight:600}main{max-width:46rem;margin:0 auto;padding:1rem}"
    ".card{background:#fff;border:1px solid #ddd;border-radius:.5rem;padding:1rem;margin:0 0 1rem}"
    "h1{font-size:1.3rem}h2{font-size:1.1rem;margin:.2rem 0 .5rem}table{border-collapse:collapse;width:100%}"
    "td,th{border-bottom:1px solid #eee;padding:.3rem .4rem;text-align:left;vertical-align:top;font-size:.95rem}"
    "th{color:#555;font-weight:600}.muted{color:#666;font-size:.9rem}.explain{border-left:3px solid #8aa;padding-left:.6rem;color:#333}.overdue{color:#a4161a;font-weight:600}"
    "textarea,input[type=text],input[type=password],select{width:100%;box-sizing:border-box;font-size:1rem;"
    "padding:.5rem;margin:.3rem 0}button{font-size:1rem;padding:.6rem 1.1rem;border-radius:.4rem;border:0;"
    "margin:.3rem .4rem .3rem 0;cursor:pointer}.approve{background:#2b7a3d;color:#fff}"
    ".reject{background:#a4161a;color:#fff}.plain{background:#e4e4e0}.flash{background:#fff6d5;"
    "border:1px solid #e8d58a;padding:.6rem;border-radius:.4rem;margin-bottom:1rem}"
    ".ok,.completed{color:#2b7a3d}.failed,.cancelled{color:#a4161a}.waiting,.running{color:#9a6700}";

std::string Shell(const std::string& title, const std::string& body, bool nav = true, int refresh = 0) {
  return "<!doctype html><html lang=en><head><meta charset=utf-8>" +
         (refresh ? "<meta http-equiv=refresh content=\"" + std::to_string(refresh) + "\">" : std::string()) +
         "<meta name=viewport content=\"width=device-width, initial-scale=1\"><title>" +
         Escape(title) + " · AOS</title><style>" + kStyle + "</style></head><body><header><span>AOS</span>" +
         (nav ? "<a href=\"/\">Inbox</a><a href=\"/runs\">Runs</a>" : "") + "</header><main>" + body +
         "</main></body></html>";
}

std::string Ago(int64_t nanos) {
  const int64_t s = nanos / 1'000'000'000;
  if (s < 90) return std::to_string(s) + " s";
  if (s < 90 * 60) return std::to_string(s / 60) + " min";
  if (s < 48 * 3600) return std::to_string(s / 3600) + " h";
  return std::to_string(s / 86400) + " days";
}

bool IsRecordList(const aos::Value& v) {
  if (v.kind() != aos::ValueKind::kList || v.as_list().empty()) return false;
  for (const auto& x : v.as_list()) {
    if (x.kind() != aos::ValueKind::kMap) return false;
  }
  return true;
}

}  // namespace

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Readable(const aos::Value& v, int depth) {
  if (depth > 6) return Escape(v.ToJson());
  if (v.kind() == aos::ValueKind::kMap) {
    std::string out = "<table>";
    for (const auto& [k, x] : v.as_map()) {
      out += "<tr><th>" + Escape(k.ToDisplayString()) + "</th><td>" + Readable(x, depth + 1) + "</td></tr>";
    }
    return out + "</table>";
  }
  if (IsRecordList(v)) {
    std::vector<std::string> cols;
    std::set<std::string> seen;
    for (const auto& row : v.as_list()) {
      for (const auto& [k, x] : row.as_map()) {
        if (seen.insert(k.ToDisplayString()).second) cols.push_back(k.ToDisplayString());
      }
    }
    std::string out = "<table><tr>";
    for (const auto& c : cols) out += "<th>" + Escape(c) + "</th>";
    out += "</tr>";
    for (const auto& row : v.as_list()) {
      out += "<tr>";
      for (const auto& c : cols) {
        const aos::Value* x = row.Find(c);
        out += "<td>" + (x ? Readable(*x, depth + 1) : "") + "</td>";
      }
      out += "</tr>";
    }
    return out + "</table>";
  }
  if (v.kind() == aos::ValueKind::kList) {
    std::string out;
    for (const auto& x : v.as_list()) out += (out.empty() ? "" : ", ") + Readable(x, depth + 1);
    return out.empty() ? "<span class=muted>(none)</span>" : out;
  }
  if (v.kind() == aos::ValueKind::kMoney) {
    return Escape(aos::FormatMoneyAmount(v.as_money()) + " " + v.as_money().currency.str());
  }
  if (v.is_null()) return "<span class=muted>—</span>";
  return Escape(v.ToDisplayString());
}

std::string Message(const std::string& title, const std::string& text) {
  return Shell(title, "<div class=card><h1>" + Escape(title) + "</h1><p>" + Escape(text) +
                          "</p><p><a href=\"/\">Inbox</a> · <a href=\"/runs\">Runs</a></p></div>");
}

std::string Login(const std::string& problem, const std::string& csrf) {
  return Shell("Log in",
               "<div class=card><h1>Log in</h1>" +
                   (problem.empty() ? "" : "<div class=flash>" + Escape(problem) + "</div>") +
                   "<form method=post action=\"/login\"><input type=hidden name=csrf value=\"" + Escape(csrf) +
                   "\"><label>Serve token<input type=password name=token "
                   "id=token autocomplete=current-password></label><button class=approve type=submit id=login>"
                   "Log in</button></form><p class=muted>The token is in DATA/serve.token, or "
                   "$AOS_SERVE_TOKEN.</p></div>",
               false);
}

std::string Inbox(const std::vector<aos::InboxItem>& items, const std::vector<std::vector<ReturnField>>& fields,
                  const std::string& csrf, int64_t now, const std::string& flash) {
  std::string body = flash.empty() ? "" : "<div class=flash id=flash>" + Escape(flash) + "</div>";
  body += "<h1>Inbox</h1>";
  if (items.empty()) body += "<p class=muted id=empty>No approval is waiting.</p>";
  for (size_t n = 0; n < items.size(); ++n) {
    const aos::InboxItem& i = items[n];
    body += "<div class=\"card approval\" data-run=\"" + Escape(i.run_id) + "\"><h2>" + Escape(i.ask) + "</h2>";
    body += "<p class=muted>run <a href=\"/runs/" + Escape(i.run_id) + "\">" + Escape(i.run_id) + "</a> · " +
            Escape(i.workflow) + " · " + Escape(i.name);
    if (i.requested.kind() == aos::ValueKind::kTimestamp) {
      body += " · <span class=waited>waiting for " + Ago(now - i.requested.as_time().nanos) + "</span>";
    }
    if (i.due.kind() == aos::ValueKind::kTimestamp) {
      const int64_t due = i.due.as_time().nanos;
      body += due < now ? " · <span class=overdue>overdue by " + Ago(now - due) + "</span>"
                        : " · due in " + Ago(due - now);
    }
    body += "</p>";
    if (!i.explain.empty()) body += "<p class=explain>" + Escape(i.explain) + "</p>";
    if (!i.show.is_null()) body += Readable(i.show);
    const bool named = i.approvers.kind() == aos::ValueKind::kList && !i.approvers.as_list().empty();
    if (named) body += "<p class=muted>May decide: " + Readable(i.approvers) + "</p>";
    body += "<form method=post action=\"/decide\"><input type=hidden name=csrf value=\"" + Escape(csrf) +
            "\"><input type=hidden name=run value=\"" + Escape(i.run_id) + "\"><input type=hidden name=name value=\"" +
            Escape(i.name) + "\"><input type=hidden name=hash value=\"" + Escape(i.payload_hash) + "\">";
    if (n < fields.size()) {
      for (const auto& f : fields[n]) {
        body += "<label>" + Escape(f.name) + " <span class=muted>(" + Escape(f.type) +
                ")</span><input type=text name=\"field_" + Escape(f.name) + "\" id=\"field_" + Escape(f.name) +
                "\"></label>";
      }
    }
    // Who decides: one of the approvers when the workflow names them, else
    // whoever the operator says (recorded as the decision's `by`).
    if (named) {
      body += "<label>Decide as<select name=as class=as>";
      for (const auto& a : i.approvers.as_list()) {
        body += "<option>" + Escape(a.ToDisplayString()) + "</option>";
      }
      body += "</select></label>";
    } else {
      body += "<input type=text name=as class=as placeholder=\"Your name (optional)\">";
    }
    body += "<textarea name=comment rows=2 placeholder=\"Comment (optional)\"></textarea>"
            "<button class=approve name=decision value=approve type=submit>Approve</button>"
            "<button class=reject name=decision value=reject type=submit>Reject</button></form></div>";
  }
  // An empty inbox refreshes itself; one with forms does not (a refresh
  // would lose what is being typed).
  return Shell("Inbox", body, true, items.empty() ? 15 : 0);
}

std::string Runs(const std::vector<aos::RunIndexEntry>& runs, const std::string& status, const std::string& workflow) {
  std::string body = "<h1>Runs</h1><form method=get action=\"/runs\" class=card><select name=status>";
  for (const char* s : {"", "running", "waiting", "completed", "failed", "cancelled"}) {
    body += std::string("<option value=\"") + s + "\"" + (status == s ? " selected" : "") + ">" +
            (*s ? s : "any status") + "</option>";
  }
  body += "</select><input type=text name=workflow placeholder=\"workflow\" value=\"" + Escape(workflow) +
          "\"><button class=plain type=submit>Filter</button></form><div class=card><table><tr><th>run</th>"
          "<th>workflow</th><th>status</th><th>started</th></tr>";
  for (const auto& r : runs) {
    const std::string st = aos::RunStatusName(r.status);
    body += "<tr><td><a href=\"/runs/" + Escape(r.run_id) + "\">" + Escape(r.run_id) + "</a></td><td>" +
            Escape(r.workflow) + "</td><td class=\"" + st + "\">" + st + "</td><td>" +
            Escape(aos::FormatTimestamp(aos::Timestamp{r.started_at}).substr(0, 19)) + "</td></tr>";
  }
  return Shell("Runs", body + "</table></div>");
}

std::string Run(const aos::RunOutcome& o, const aos::Trace& t, const std::string& csrf) {
  const std::string st = aos::RunStatusName(o.status);
  std::string body = "<h1>Run " + Escape(t.run_id) + "</h1><div class=card><p>" + Escape(t.workflow) +
                     " · <span class=\"" + st + "\" id=status>" + st + "</span></p>";
  if (o.status == aos::RunStatus::kCompleted) body += "<h2>Output</h2>" + Readable(o.output);
  if (!o.error.is_null()) body += "<h2>Error</h2>" + Readable(o.error);
  if (o.waiting_on.kind() == aos::ValueKind::kList && !o.waiting_on.as_list().empty()) {
    body += "<h2>Waiting on</h2>" + Readable(o.waiting_on);
  }
  const bool ended = o.status == aos::RunStatus::kCompleted || o.status == aos::RunStatus::kFailed ||
                     o.status == aos::RunStatus::kCancelled;
  if (!ended) {
    body += "<form method=post action=\"/runs/" + Escape(t.run_id) + "/cancel\"><input type=hidden name=csrf value=\"" +
            Escape(csrf) + "\"><button class=reject type=submit>Cancel the run</button></form>";
  }
  body += "</div><div class=card><h2>Timeline</h2><table><tr><th>statement</th><th>kind</th><th>status</th>"
          "<th>took</th><th>notes</th></tr>";
  for (const auto& s : t.spans) {
    std::string notes = s.callee;
    auto add = [&](const std::string& x) {
      if (!x.empty()) notes += (notes.empty() ? "" : "; ") + x;
    };
    if (s.attempts > 1) add(std::to_string(s.attempts) + " attempts");
    if (!s.key.empty()) add("key " + s.key);
    if (!s.model.empty()) add(s.model + " " + std::to_string(s.tokens_in) + "→" + std::to_string(s.tokens_out) + " tokens, " + s.cost);
    add(s.decision);
    add(s.describe);
    if (!s.error.empty() && s.status != "ok") add(s.error);
    const std::string took = s.end ? aos::FormatDuration(aos::Duration{(s.end - s.start) / 1'000'000 * 1'000'000}) : "…";
    body += "<tr><td>" + Escape(s.name) + "</td><td>" + Escape(s.kind) + "</td><td class=\"" + Escape(s.status) +
            "\">" + Escape(s.status) + "</td><td>" + Escape(took) + "</td><td>" + Escape(notes) + "</td></tr>";
  }
  return Shell("Run " + t.run_id, body + "</table></div>", true, ended ? 0 : 5);
}

}  // namespace aosrun::page
