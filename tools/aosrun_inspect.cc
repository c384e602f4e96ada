// The aosrun commands that only read: runs/status, inbox, log, state, cost,
// trace, verify. They work on a read-only view while another process holds
// the data directory.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <tuple>

#include "runtime/operations.h"
#include "runtime/copy_store.h"
#include "runtime/pg_store.h"
#include "runtime/trace.h"
#include "runtime/verify.h"
#include "tools/aosrun_cli.h"

namespace aosrun {

std::string Time(int64_t nanos) { return aos::FormatTimestamp(aos::Timestamp{nanos}); }

int CmdRuns(Context& c, const std::string& only) {
  if (int rc = LoadContext(c, false)) return rc;
  if (!only.empty()) {
    aos::RunLog log(*c.store, *c.clock);
    if (int rc = LoadRun(c, only, log)) return rc;
    const aos::RunOutcome o = aos::OutcomeOf(log.state());
    if (c.opt.json) {
      std::cout << OutcomeJson(only, o) << "\n";
    } else {
      std::cout << "run " << only << "  workflow " << log.state().workflow << "  "
                << aos::RunStatusName(o.status) << "  events " << log.state().next_seq << "\n";
      if (o.status == aos::RunStatus::kCompleted) std::cout << "output: " << o.output.ToJson() << "\n";
      if (!o.error.is_null()) std::cout << "error: " << o.error.ToJson() << "\n";
      if (o.waiting_on.kind() == aos::ValueKind::kList) {
        for (const auto& wv : o.waiting_on.as_list()) std::cout << "waiting on: " << wv.ToJson() << "\n";
      }
    }
    return kExitOk;  // status reports; it does not fail with the run
  }
  auto runs = aos::ListRuns(*c.store);
  std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.started_at > b.started_at; });
  for (const auto& r : runs) {
    if (c.opt.json) {
      std::cout << "{\"run_id\":" << Q(r.run_id) << ",\"workflow\":" << Q(r.workflow) << ",\"status\":"
                << Q(aos::RunStatusName(r.status)) << ",\"started\":" << Q(Time(r.started_at))
                << ",\"updated\":" << Q(Time(r.updated_at)) << ",\"events\":" << r.events << "}\n";
    } else {
      std::printf("%-14s %-20s %-10s %s  %llu events\n", r.run_id.c_str(), r.workflow.c_str(),
                  aos::RunStatusName(r.status), Time(r.started_at).c_str(),
                  static_cast<unsigned long long>(r.events));
    }
  }
  if (runs.empty() && !c.opt.json) std::cerr << "no runs in " << StoreName(c) << "\n";
  return kExitOk;
}

int CmdInbox(Context& c) {
  if (int rc = LoadContext(c, false)) return rc;
  std::vector<std::string> damaged;
  const auto items = aos::Inbox(*c.store, *c.clock, &damaged);
  // A run that failed to load may have approvals waiting: say so.
  for (const auto& d : damaged) std::cerr << "aosrun: " << d << "\n";
  for (const auto& i : items) {
    if (c.opt.json) {
      std::cout << aos::InboxItemJson(i) << "\n";
    } else {
      std::cout << i.run_id << "  " << i.workflow << "  " << i.name << ": " << i.ask << "\n";
      if (!i.explain.empty()) std::cout << "    why: " << i.explain << "\n";
      if (!i.show.is_null()) std::cout << "    " << i.show.ToJson() << "\n";
      std::cout << "    aosrun approve " << i.run_id << " " << i.name << Where(c) << "   |   aosrun reject " << i.run_id
                << " " << i.name << Where(c) << "\n";
    }
  }
  if (items.empty() && damaged.empty() && !c.opt.json) std::cerr << "no approvals are waiting\n";
  return damaged.empty() ? kExitOk : kExitIo;
}

int CmdLog(Context& c) {
  if (c.opt.positional.size() != 1) return Usage("log takes one RUN");
  if (int rc = LoadContext(c, false)) return rc;
  const std::string run = c.opt.positional[0];
  if (!aos::ValidRunId(run) || !c.store->Get(aos::Column::kRuns, run)) {
    std::cerr << "aosrun: no run " << run << " in this data directory (aosrun runs lists them)\n";
    return kExitNoRun;
  }
  int rc = kExitOk;
  aos::ScanRunEvents(*c.store, run, [&](uint64_t seq, const aos::Event* e, const std::string& error) {
    if (!e) {
      std::cerr << "aosrun: run " << run << " event " << seq << ": " << error << "\n";
      rc = kExitIo;
      return true;
    }
    if (c.opt.json) {
      std::cout << aos::EventToJson(*e, seq) << "\n";
    } else {
      std::string data = e->data.is_null() ? "" : aos::EventDisplayData(*e).ToJson();
      if (e->type == aos::EventType::kRunStarted) {
        data = "workflow " + Str(e->data.Find("workflow")) + " inputs " +
               (e->data.Find("inputs") ? e->data.Find("inputs")->ToJson() : "{}");
      }
      if (data.size() > 160) data = data.substr(0, 157) + "...";
      std::printf("%5llu  %s  %-22s %-14s %s\n", static_cast<unsigned long long>(seq), Time(e->at_nanos).c_str(),
                  aos::EventTypeName(e->type), e->step.c_str(), data.c_str());
    }
    return true;
  });
  return rc;
}


// Model spending from the StepCompleted usage of every run (or one), by
// run, workflow and model.
int CmdCost(Context& c) {
  if (c.opt.positional.size() > 1) return Usage("cost takes at most one RUN");
  if (!c.opt.by.empty() && c.opt.by != "workflow" && c.opt.by != "model" && c.opt.by != "day" && c.opt.by != "run") {
    return Usage("--by takes workflow, model, day or run");
  }
  int64_t since = 0;
  if (!c.opt.since.empty()) {
    // A date is its first moment (UTC); a time is itself.
    const std::string text = c.opt.since.size() == 10 ? c.opt.since + "T00:00:00Z" : c.opt.since;
    auto t = aos::ParseTimestampText(text);
    if (!t) return Usage("--since takes a date (2026-11-01) or an RFC 3339 time");
    since = t->nanos;
  }
  if (int rc = LoadContext(c, false)) return rc;
  std::vector<aos::RunIndexEntry> runs;
  if (c.opt.positional.empty()) {
    runs = aos::ListRuns(*c.store);
  } else {
    // The run index names the workflow; the events are read below anyway.
    const std::string& id = c.opt.positional[0];
    const auto raw = aos::ValidRunId(id) ? c.store->Get(aos::Column::kRuns, id) : std::nullopt;
    aos::RunIndexEntry e;
    if (!raw) {
      std::cerr << "aosrun: no run " << id << " in this data directory (aosrun runs lists them)\n";
      return kExitNoRun;
    }
    if (!aos::DecodeRunIndex(id, *raw, &e)) {
      std::cerr << "aosrun: run " << id << ": its index record is damaged (aosrun verify)\n";
      return kExitIo;
    }
    runs.push_back(e);
  }
  struct Row {
    int64_t calls = 0, in = 0, out = 0, nanos = 0;
    std::string currency;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Row> rows;  // run, workflow, model
  std::map<std::string, Row> by_workflow, by_model, by_day, grouped;
  Row total;
  for (const aos::CostRow& cr : aos::Costs(*c.store, runs, since)) {
    auto add = [&](Row& row) {
      row.calls += cr.calls;
      row.in += cr.tokens_in;
      row.out += cr.tokens_out;
      row.nanos += cr.cost.nanos;
      row.currency = cr.cost.currency;
    };
    add(rows[{cr.run_id, cr.workflow, cr.model}]);
    add(by_workflow[cr.workflow]);
    add(by_model[cr.model]);
    add(by_day[cr.day]);
    if (!c.opt.by.empty()) {
      add(grouped[c.opt.by == "workflow" ? cr.workflow : c.opt.by == "model" ? cr.model : c.opt.by == "day" ? cr.day
                                                                                                         : cr.run_id]);
    }
    add(total);
  }
  auto money = [](const Row& r) {
    const std::string cur = r.currency.empty() ? "usd" : r.currency;
    return aos::FormatMoneyAmount(aos::Money{r.nanos, cur}) + " " + cur;
  };
  auto money_json = [](const Row& r) {
    return Value::MoneyOf(aos::Money{r.nanos, r.currency.empty() ? "usd" : r.currency}).ToJson();
  };
  if (!c.opt.by.empty()) {
    // One line per workflow, model, day or run.
    for (const auto& [k, r] : grouped) {
      if (c.opt.json) {
        std::cout << "{" << Q(c.opt.by) << ":" << Q(k) << ",\"calls\":" << r.calls << ",\"tokens_in\":" << r.in
                  << ",\"tokens_out\":" << r.out << ",\"cost\":" << money_json(r) << "}\n";
      } else {
        std::printf("%-34s %6lld calls %10lld in %10lld out  %s\n", k.c_str(), static_cast<long long>(r.calls),
                    static_cast<long long>(r.in), static_cast<long long>(r.out), money(r).c_str());
      }
    }
    if (!c.opt.json) std::printf("total %28lld calls  %s\n", static_cast<long long>(total.calls), money(total).c_str());
    return kExitOk;
  }
  if (c.opt.json) {
    for (const auto& [k, r] : rows) {
      std::cout << "{\"run_id\":" << Q(std::get<0>(k)) << ",\"workflow\":" << Q(std::get<1>(k))
                << ",\"model\":" << Q(std::get<2>(k)) << ",\"calls\":" << r.calls << ",\"tokens_in\":" << r.in
                << ",\"tokens_out\":" << r.out << ",\"cost\":" << money_json(r) << "}\n";
    }
    return kExitOk;
  }
  if (rows.empty()) {
    std::cerr << "no model calls recorded" << (since ? " since " + c.opt.since : "") << "\n";
    return kExitOk;
  }
  std::printf("%-22s %-20s %-12s %6s %10s %10s  %s\n", "run", "workflow", "model", "calls", "tokens in",
              "tokens out", "cost");
  for (const auto& [k, r] : rows) {
    std::printf("%-22s %-20s %-12s %6lld %10lld %10lld  %s\n", std::get<0>(k).c_str(), std::get<1>(k).c_str(),
                std::get<2>(k).c_str(), static_cast<long long>(r.calls), static_cast<long long>(r.in),
                static_cast<long long>(r.out), money(r).c_str());
  }
  std::printf("\nby workflow\n");
  for (const auto& [k, r] : by_workflow) {
    std::printf("  %-34s %6lld calls  %s\n", k.c_str(), static_cast<long long>(r.calls), money(r).c_str());
  }
  std::printf("by model\n");
  for (const auto& [k, r] : by_model) {
    std::printf("  %-34s %6lld calls  %s\n", k.c_str(), static_cast<long long>(r.calls), money(r).c_str());
  }
  std::printf("total %35lld calls  %s\n", static_cast<long long>(total.calls), money(total).c_str());
  return kExitOk;
}

int CmdTrace(Context& c) {
  if (c.opt.positional.size() != 1) return Usage("trace takes one RUN");
  if (int rc = LoadContext(c, false)) return rc;
  aos::RunLog log(*c.store, *c.clock);
  if (int rc = LoadRun(c, c.opt.positional[0], log)) return rc;
  // The stored workflow gives kinds and descriptions; a run whose text no
  // longer checks is traced without them.
  Loaded w;
  aos::Diagnostics diags;
  w.program = aos::LoadProgram(log.state().file, log.state().source, aos::CheckOptions{}, diags);
  std::string error;
  const aos::Dag* dag = diags.has_errors() ? nullptr : w.program->FindWorkflow(log.state().workflow, &error);
  aos::Trace t;
  if (!aos::BuildTrace(*c.store, log.state().run_id, dag, &t, &error)) {
    std::cerr << "aosrun: " << error << "\n";
    return kExitIo;
  }
  if (!c.opt.otlp.empty()) {
    std::ofstream f(c.opt.otlp, std::ios::binary | std::ios::trunc);
    f << aos::RenderOtlpJson(t) << "\n";
    if (!f) {
      std::cerr << "aosrun: cannot write " << c.opt.otlp << "\n";
      return kExitIo;
    }
    if (!c.opt.json) std::cerr << "wrote " << t.spans.size() + 1 << " spans to " << c.opt.otlp << " (OTLP/JSON)\n";
    return kExitOk;
  }
  std::cout << (c.opt.json ? aos::RenderOtlpJson(t) + "\n" : aos::RenderTraceText(t));
  return kExitOk;
}

std::string StoreName(const Context& c) {
  return c.store_url.empty() ? c.data_dir : aos::RedactedUrl(c.store_url);
}

int CmdMigrateStore(Context& c) {
  if (int rc = LoadSettings(c)) return rc;
  if (c.store_url.empty()) {
    return Usage("migrate-store makes or upgrades the tables of a PostgreSQL store: --store postgresql://... "
                 "(a data directory's format is kept by aosrun itself)");
  }
  if (int rc = OpenStore(c, true)) return rc;
  const int version = dynamic_cast<aos::PgStore&>(*c.store).schema_version();
  if (c.opt.json) {
    std::cout << "{\"store\":" << Q(StoreName(c)) << ",\"schema\":" << version << "}\n";
  } else {
    std::cout << "postgresql store " << StoreName(c) << " has AOS schema v" << version << "\n";
  }
  return kExitOk;
}

int CmdCopy(Context& c) {
  if (c.opt.copy_from.empty() || c.opt.copy_to.empty()) return Usage("copy takes --from DIR|URL --to DIR|URL");
  if (c.opt.copy_from == c.opt.copy_to) return Usage("copy --from and --to name the same store");
  if (int rc = LoadSettings(c)) return rc;
  std::unique_ptr<aos::Store> from, to;
  try {
    from = aos::OpenStore(c.opt.copy_from, false);
    to = aos::OpenStore(c.opt.copy_to, true);
  } catch (const aos::StoreBusy& e) {
    std::cerr << "aosrun: " << e.what() << " (stop the process that holds it: a copy needs the source still)\n";
    return kExitBusy;
  } catch (const aos::StoreError& e) {
    std::cerr << "aosrun: " << e.what() << "\n";
    return kExitIo;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto last = t0;
  const aos::CopyReport r = aos::CopyStore(*from, *to, [&](size_t records) {
    const auto now = std::chrono::steady_clock::now();
    if (!c.opt.json && now - last > std::chrono::seconds(1)) {
      std::cerr << "copied " << records << " records\n";
      last = now;
    }
  });
  if (!r.refused.empty()) {
    std::cerr << "aosrun: " << aos::RedactedUrl(c.opt.copy_to) << ": " << r.refused << "\n";
    return kExitUsage;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (c.opt.json) {
    std::cout << "{\"records\":" << r.records << ",\"bytes\":" << r.bytes << ",\"runs\":" << r.verified.runs
              << ",\"events\":" << r.verified.events << ",\"problems\":" << r.verified.problems.size() << "}\n";
  } else {
    for (const auto& p : r.verified.problems) std::cout << p << "\n";
    std::cout << "copied " << r.records << " records (" << r.bytes << " bytes) from " << aos::RedactedUrl(c.opt.copy_from)
              << " to " << aos::RedactedUrl(c.opt.copy_to) << " in " << static_cast<int>(secs * 1000)
              << " ms; verified " << r.verified.runs << " runs, " << r.verified.events << " events: "
              << (r.verified.problems.empty() ? std::string("no problems")
                                              : std::to_string(r.verified.problems.size()) + " problems")
              << "\n";
  }
  return r.verified.problems.empty() ? kExitOk : kExitIo;
}

int CmdVerify(Context& c) {
  if (int rc = LoadContext(c, false)) return rc;
  const aos::VerifyReport r = aos::VerifyDataDir(*c.store);
  for (const auto& p : r.problems) std::cout << p << "\n";
  std::cout << "verified " << r.runs << " runs, " << r.events << " events in " << StoreName(c) << ": "
            << (r.problems.empty() ? std::string("no problems") : std::to_string(r.problems.size()) + " problems")
            << "\n";
  return r.problems.empty() ? kExitOk : kExitIo;
}

}  // namespace aosrun
