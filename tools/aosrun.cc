// aosrun: start, continue and inspect durable runs of .aos workflows. Flags,
// wiring, printing and exit codes only: the work is in runtime/ and stdlib/.
//
// Exit codes (sysexits, docs/cli.md): 0 completed, 1 the run failed,
// 64 usage (also: deciding an approval that is not waiting), 65 invalid
// workflow, 66 no such run, 73 the data directory is in use by another
// process, 74 storage or I/O error (a corrupt or foreign data directory),
// 75 the run is waiting (approval, timer, signal).
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "lang/checker.h"
#include "lang/diagnostic.h"
#include "lang/plan.h"
#include "lang/source.h"
#include "lang/trigger_check.h"
#include "runtime/codec.h"
#include "runtime/entity_schemas.h"
#include "runtime/config.h"
#include "runtime/operations.h"
#include "runtime/pg_store.h"
#include "runtime/run_log.h"
#include "runtime/runner.h"
#include "runtime/schema.h"
#include "runtime/trace.h"
#include "runtime/verify.h"
#include "stdlib/std_calls.h"
#include "tools/aosrun_args.h"
#include "tools/aosrun_cli.h"
#include "tools/aosrun_remote.h"
#include "runtime/driver.h"
#include "tools/aosrun_serve.h"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace aosrun {



int Usage(const std::string& problem) {
  std::cerr << "aosrun: " << problem << "\n\n" << aosrun::UsageText();
  return kExitUsage;
}



// The config, the data directory's path, the clock and the call handler.
int LoadSettings(Context& c) {
  if (c.clock) return kExitOk;  // already loaded
  std::string path = c.opt.config;
  if (path.empty() && access("aos.yaml", R_OK) == 0) path = "aos.yaml";
  if (!path.empty()) {
    std::string error;
    bool unreadable = false;
    auto cfg = aos::LoadConfig(path, &error, &unreadable);
    if (!cfg) {
      std::cerr << "aosrun: " << error << "\n";
      return unreadable ? kExitIo : kExitUsage;
    }
    c.config = *cfg;
    std::string text;
    if (aos::ReadFileText(path, &text)) c.config_hash = aos::Digest(text);
  }
  c.data_dir = !c.opt.data.empty() ? c.opt.data : c.config.data_dir;
  if (const char* e = std::getenv("AOS_DATA"); e && c.opt.data.empty() && *e) c.data_dir = e;
  c.store_url = !c.opt.store.empty() ? c.opt.store : c.config.store;
  if (const char* e = std::getenv("AOS_STORE"); e && c.opt.store.empty() && *e) c.store_url = e;
  if (!c.store_url.empty() && !aos::IsPgUrl(c.store_url)) {
    return Usage("--store takes a postgresql:// URL, not '" + aos::RedactedUrl(c.store_url) +
                 "' (a data directory is --data-dir DIR)");
  }
  int64_t offset = 0;
  if (const char* off = std::getenv("AOS_CLOCK_OFFSET"); off && *off) {
    auto d = aos::ParseDurationText(off);
    if (!d) {
      std::cerr << "aosrun: AOS_CLOCK_OFFSET='" << off << "' is not a duration (such as 72h)\n";
      return kExitUsage;
    }
    offset = d->nanos;
  }
  c.clock = std::make_unique<aos::SystemClock>(offset);
  c.calls = std::make_unique<aos::StdCalls>(c.config);
  return kExitOk;
}

// The process log: <data dir>/aosrun.log (rotated at 1 MB, three kept) at
// the config's log level, and stderr at debug with -v. Set up once the data
// directory is open, so that a log file never makes a new directory look
// foreign.
void SetupLog(const Context& c) {
  std::vector<spdlog::sink_ptr> sinks;
  try {
    auto file = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(c.data_dir + "/aosrun.log", 1 << 20, 3);
    file->set_level(spdlog::level::from_str(c.config.log_level));
    sinks.push_back(file);
  } catch (const spdlog::spdlog_ex&) {
    // A read-only data directory still runs; it just keeps no process log.
  }
  if (c.opt.verbose) {
    auto err = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    err->set_level(spdlog::level::debug);
    sinks.push_back(err);
  }
  if (sinks.empty()) return;
  auto logger = std::make_shared<spdlog::logger>("aos", sinks.begin(), sinks.end());
  logger->set_level(c.opt.verbose ? spdlog::level::debug : spdlog::level::from_str(c.config.log_level));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %P %^%l%$ %v");
  logger->flush_on(spdlog::level::warn);  // and at exit (main's spdlog::shutdown)
  spdlog::drop("aos");
  spdlog::register_logger(logger);
}

// Commands that only read: while another process holds the data directory
// they open a read-only view of it instead of exiting 73.
bool ReadsOnly(const std::string& command) {
  for (const char* c : {"status", "runs", "inbox", "log", "trace", "cost", "state", "schema", "history", "verify"}) {
    if (command == c) return true;
  }
  return false;
}

int OpenStore(Context& c, bool create) {
  if (!c.store_url.empty()) {
    try {
      c.store = aos::OpenStore(c.store_url, create);
    } catch (const aos::StoreError& e) {
      std::cerr << "aosrun: " << e.what() << "\n";
      return kExitIo;
    }
    if (c.opt.command != "serve") c.renewal = std::make_unique<aos::LeaseRenewal>(*c.store);
    // The data directory keeps this machine's files: the process log, and
    // serve's address and token.
    std::error_code ec;
    std::filesystem::create_directories(c.data_dir, ec);
    SetupLog(c);
    return kExitOk;
  }
  try {
    c.store = aos::OpenStore(c.data_dir, create);
    SetupLog(c);
  } catch (const aos::StoreBusy& e) {
    if (ReadsOnly(c.opt.command)) {
      try {
        c.store = aos::OpenStoreToRead(c.data_dir);
        if (c.opt.verbose) std::cerr << "aosrun: another process holds " << c.data_dir << ": reading a view of it\n";
        return kExitOk;  // no process log: the holder writes it
      } catch (const aos::StoreError& e2) {
        std::cerr << "aosrun: " << e2.what() << "\n";
        return kExitIo;
      }
    }
    std::cerr << "aosrun: " << e.what() << "\n";
    return kExitBusy;
  } catch (const aos::StoreError& e) {
    std::cerr << "aosrun: " << e.what() << "\n";
    return kExitIo;
  }
  return kExitOk;
}

int LoadContext(Context& c, bool create) {
  if (int rc = LoadSettings(c)) return rc;
  return OpenStore(c, create);
}

std::string Q(const std::string& s) { return aos::JsonQuote(s); }

using aos::OutcomeJson;

int ExitFor(aos::RunStatus s) {
  switch (s) {
    case aos::RunStatus::kCompleted: return kExitOk;
    case aos::RunStatus::kWaiting: return kExitWaiting;
    case aos::RunStatus::kRunning: return kExitWaiting;
    case aos::RunStatus::kFailed:
    case aos::RunStatus::kCancelled: return kExitFailed;
  }
  return kExitFailed;
}

std::string Str(const Value* v) { return v ? v->ToDisplayString() : ""; }

// The options a printed follow-up command needs to find this run again:
// the data directory and config, when they were given rather than found.
std::string Where(const Context& c) {
  std::string out;
  auto quote = [](const std::string& v) {
    return v.find_first_of(" '\"$\\") == std::string::npos ? v : "'" + v + "'";
  };
  if (!c.opt.data.empty()) out += " --data-dir " + quote(c.opt.data);
  if (!c.opt.store.empty()) out += " --store " + quote(aos::RedactedUrl(c.opt.store));
  if (!c.opt.config.empty()) out += " --config " + quote(c.opt.config);
  return out;
}

int Report(const Context& c, const std::string& run_id, const aos::RunOutcome& o) {
  if (c.opt.json) {
    std::cout << OutcomeJson(run_id, o) << "\n";
    return ExitFor(o.status);
  }
  switch (o.status) {
    case aos::RunStatus::kCompleted:
      std::cerr << "run " << run_id << " completed\n";
      std::cout << o.output.ToJson() << "\n";
      break;
    case aos::RunStatus::kFailed:
      std::cerr << "run " << run_id << " failed";
      if (o.error.Find("step")) std::cerr << " at " << Str(o.error.Find("step"));
      std::cerr << ": " << Str(o.error.Find("kind")) << ": " << Str(o.error.Find("message")) << "\n";
      break;
    case aos::RunStatus::kCancelled:
      std::cerr << "run " << run_id << " cancelled\n";
      break;
    case aos::RunStatus::kWaiting:
    case aos::RunStatus::kRunning:
      std::cerr << "run " << run_id << " is waiting\n";
      if (o.waiting_on.kind() == aos::ValueKind::kList) {
        for (const auto& w : o.waiting_on.as_list()) {
          const std::string kind = Str(w.Find("kind"));
          const std::string name = Str(w.Find("name"));
          if (kind == "approval") {
            std::cerr << "  approval " << name << ": " << Str(w.Find("ask")) << "\n"
                      << "    approve: aosrun approve " << run_id << " " << name << Where(c) << "\n"
                      << "    reject:  aosrun reject " << run_id << " " << name << Where(c) << "\n";
          } else if (kind == "signal") {
            std::cerr << "  signal " << Str(w.Find("signal")) << "\n"
                      << "    deliver: aosrun signal " << run_id << " " << Str(w.Find("signal")) << Where(c)
                      << " --payload '{...}'\n";
          } else {
            std::cerr << "  " << kind << " " << name << " until " << Str(w.Find("due")) << "\n"
                      << "    then:    aosrun resume " << run_id << Where(c) << "\n";
          }
        }
      }
      break;
  }
  return ExitFor(o.status);
}


// Checks a workflow's text; prints diagnostics. 0 or an exit code.
int LoadWorkflow(const Context& c, const std::string& path, std::string text, const std::string& workflow,
                 Loaded* out) {
  // A run can only call the models its config names: with no config (or
  // no models in it) every model name is refused here, before anything runs.
  const aos::CheckOptions copts = aos::CheckOptionsFor(&c.config);
  aos::Diagnostics diags;
  out->program = aos::LoadProgram(path, std::move(text), copts, diags);
  if (diags.has_errors()) {
    diags.Sort();
    for (const auto& d : diags.all()) {
      if (d.severity == aos::Severity::kError) std::cerr << aos::RenderText(d);
    }
    return kExitInvalid;
  }
  std::string error;
  out->dag = out->program->FindWorkflow(workflow, &error);
  if (!out->dag) {
    std::cerr << "aosrun: " << error << "\n";
    return kExitUsage;
  }
  return kExitOk;
}

struct Progress {
  bool on = false;
  std::chrono::steady_clock::time_point last;
  void operator()(size_t done, size_t total, const std::string& name) {
    auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::milliseconds(100)) return;
    last = now;
    std::fprintf(stderr, "\r\033[K[%zu/%zu] %s", done, total, name.c_str());
  }
};

aos::RunOptions MakeRunOptions(const Context& c, Progress* p) {
  aos::RunOptions ro;
  ro.concurrency = c.config.concurrency;
  ro.durability = c.opt.strict ? aos::Durability::kStrict : aos::Durability::kDefault;
  ro.config = &c.config;
  if (p && isatty(2) && !c.opt.json) {
    p->on = true;
    ro.progress = [p](size_t d, size_t t, const std::string& n) { (*p)(d, t, n); };
  }
  return ro;
}

// Continues the loaded run in `log` with its stored workflow text (`have`,
// when given, is that text already checked).
int Continue(Context& c, aos::RunLog& log, Loaded* have = nullptr) {
  Loaded mine;
  Loaded& w = have ? *have : mine;
  const aos::RunState& s = log.state();
  if (s.Finished()) return Report(c, s.run_id, aos::OutcomeOf(s));
  if (!have) {
    int rc = LoadWorkflow(c, s.file.empty() ? "<stored>" : s.file, s.source, s.workflow, &w);
    if (rc) {
      std::cerr << "aosrun: the workflow text stored with run " << s.run_id << " no longer checks\n";
      return rc;
    }
  }
  Progress p;
  aos::Driver driver(*c.store, *c.clock, *c.calls, MakeRunOptions(c, &p), /*workers=*/0, /*foreground=*/true);
  aos::RunOutcome o = driver.Run(log, w.program, *w.dag);
  if (p.on) std::fprintf(stderr, "\r\033[K");
  return Report(c, s.run_id, o);
}

bool ParseInputs(const Options& o, const aos::Dag& dag, Value* out, std::string* error) {
  aos::ValueMap m;
  if (!o.input_json.empty()) {
    std::string text;
    if (!aosrun::ReadJsonArg("--input-json", o.input_json, &text, error)) return false;
    auto v = aos::ParseJson(text, error);
    if (!v || v->kind() != aos::ValueKind::kMap) {
      *error = "--input-json must be a JSON object" + (error->empty() ? "" : ": " + *error);
      return false;
    }
    m = v->as_map();
  }
  for (const auto& [k, text] : o.inputs) {
    const aos::Field* param = nullptr;
    for (const auto& f : dag.workflow->params) {
      if (f.name == k) param = &f;
    }
    if (!param) {
      *error = "workflow " + dag.workflow->name + " has no parameter '" + k + "'";
      return false;
    }
    std::string why;
    auto v = aos::TypedInput(text, param->type.get(), &why);
    if (!v) {
      *error = "--input " + k + ": " + why;
      return false;
    }
    m.emplace_back(Value::String(k), *v);
  }
  *out = Value::Map(std::move(m));
  return true;
}

// Writes one whole line with one write(2): a killed batch never leaves a
// torn line behind.
void WriteLine(const std::string& line) {
  std::cout.flush();
  const std::string l = line + "\n";
  size_t off = 0;
  while (off < l.size()) {
    const ssize_t n = ::write(1, l.data() + off, l.size() - off);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    off += static_cast<size_t>(n);
  }
}

// --batch: one run per input line, each under its line's deterministic id.
// A line whose run exists (the batch was killed and is run again) is not
// started again: a finished run is reported, an unfinished one continued.
// Ends are group-committed; each run's line is printed, whole, once its end
// is durable, at least every 100 ms.
int RunBatch(Context& c, Loaded& w, const std::string& path, const std::string& text,
             const std::vector<Value>& inputs, const std::vector<std::string>& ids) {
  aos::RunLog log(*c.store, *c.clock);
  int worst = kExitOk;
  size_t completed = 0, failed = 0, waiting = 0, existing = 0;
  const auto t0 = std::chrono::steady_clock::now();
  auto last_sync = t0;
  constexpr size_t kGroup = 256;
  std::vector<std::string> pending_lines;
  auto commit = [&] {
    c.store->Sync();
    for (const auto& l : pending_lines) WriteLine(l);
    pending_lines.clear();
    last_sync = std::chrono::steady_clock::now();
  };
  aos::RunOptions ro = MakeRunOptions(c, nullptr);
  ro.sync_at_end = false;  // the batch syncs a group of ends at once
  log.release_with_end = c.store->Shared();  // each run's lease goes with its last batch
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string& id = ids[i];
    std::string error;
    aos::RunOutcome o;
    // A store several workers share: each run under its lease, given up
    // after it (a serve worker must not take a run the batch is running).
    aos::HeldLease lease(*c.store, id);
    // A run in the store is claimed before it is read; a new one with its
    // first batch (Store::ClaimNewRun).
    const bool exists = c.store->Get(aos::Column::kRuns, id).has_value();
    if (c.store->Shared()) {
      lease.set_held(exists ? c.store->ClaimRun(id) : c.store->ClaimNewRun(id));
      if (!lease.held()) {
        std::cerr << "aosrun: run " << id << " is being run by another worker: skipped\n";
        worst = std::max(worst, kExitBusy);
        continue;
      }
    }
    if (exists) {
      ++existing;
      if (!log.Load(id, &error)) {
        std::cerr << "aosrun: " << error << "\n";
        worst = std::max(worst, kExitIo);
        continue;
      }
      Loaded stored;
      Loaded* use = &w;
      if (log.state().source != text) {
        if (int rc = LoadWorkflow(c, log.state().file, log.state().source, log.state().workflow, &stored)) {
          worst = std::max(worst, rc);
          continue;
        }
        use = &stored;
      }
      o = log.state().Finished() ? aos::OutcomeOf(log.state())
                                 : aos::Runner(log, *use->program, *use->dag, *c.calls, *c.clock, ro).Run();
    } else {
      log.Begin(id);
      if (!aos::StartRun(log, *w.program, *w.dag, path, text, inputs[i], c.opt.replay_effects, &error,
                         c.config_hash)) {
        std::cerr << "aosrun: " << error << "\n";
        worst = std::max(worst, kExitUsage);
        continue;
      }
      try {
        o = aos::Runner(log, *w.program, *w.dag, *c.calls, *c.clock, ro).Run();
      } catch (const aos::LeaseLost& e) {
        // Another worker started this run first (its first batch won the
        // claim), or took it over (this process could not renew its lease
        // in time): it goes on there; the batch goes on with the next line.
        std::cerr << "aosrun: run " << id << " is being run by another worker: skipped (" << e.what() << ")\n";
        worst = std::max(worst, kExitBusy);
        continue;
      }
    }
    pending_lines.push_back(c.opt.json ? OutcomeJson(id, o) : id + " " + aos::RunStatusName(o.status));
    if (pending_lines.size() >= kGroup ||
        std::chrono::steady_clock::now() - last_sync >= std::chrono::milliseconds(100)) {
      commit();
    }
    completed += o.status == aos::RunStatus::kCompleted;
    failed += o.status == aos::RunStatus::kFailed;
    waiting += o.status == aos::RunStatus::kWaiting;
    worst = std::max(worst, ExitFor(o.status));  // 75 waiting outranks 1 failed
  }
  commit();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cerr << "batch: " << inputs.size() << " runs: " << completed << " completed, " << failed << " failed, "
            << waiting << " waiting in " << secs << " s" << (existing ? " (" + std::to_string(existing) +
            " already in the data directory)" : "") << "\n";
  return worst;
}

int CmdStart(Context& c) {
  if (c.opt.positional.size() != 1) return Usage("give exactly one FILE to run");
  const std::string path = c.opt.positional[0];
  std::string text;
  if (!aos::ReadFileText(path, &text)) {
    std::cerr << "aosrun: cannot read " << path << ": " << std::strerror(errno) << "\n";
    return kExitIo;
  }
  if (int rc = LoadSettings(c)) return rc;
  // Continuing an existing run (--run-id of a run in an existing data
  // directory): open the store on the other core while the file is checked.
  // Its log is loaded there too: a restart after a crash replays while the
  // other core parses.
  std::future<int> opening;
  std::unique_ptr<aos::RunLog> preloaded;
  std::string preload_error;
  // While serve holds the data directory, the start goes through its API.
  const bool via_serve = aosrun::FindServe(c.data_dir, c.config).has_value();
  if (!via_serve && !c.opt.run_id.empty() && c.opt.batch.empty() && aos::ValidRunId(c.opt.run_id) &&
      c.store_url.empty() && aos::DataDirExists(c.data_dir)) {
    opening = std::async(std::launch::async, [&c, &preloaded, &preload_error] {
      if (int rc = OpenStore(c, false)) return rc;
      if (!c.store->Get(aos::Column::kRuns, c.opt.run_id)) return kExitOk;
      preloaded = std::make_unique<aos::RunLog>(*c.store, *c.clock);
      if (!preloaded->Load(c.opt.run_id, &preload_error)) return kExitIo;
      return kExitOk;
    });
  }
  // An existing run continues with the text stored at its start: FILE and
  // the inputs matter only to a new run.
  // ... but only a run of the same workflow: another workflow's run under
  // this id is refused, never continued in its place.
  auto continue_existing = [&](aos::RunLog& log, Loaded* have) -> int {
    const aos::RunState& s = log.state();
    const bool same_workflow =
        have ? s.workflow == have->dag->workflow->name
             : std::filesystem::path(s.file).filename() == std::filesystem::path(path).filename();
    if (!same_workflow) {
      return Usage("--run-id " + c.opt.run_id + " is a run of workflow " + s.workflow + " (" + s.file +
                   "), not of " + (have ? have->dag->workflow->name : path) + "; choose another run id");
    }
    if (!c.opt.json) std::cerr << "run " << c.opt.run_id << " exists: continuing it\n";
    const bool same = have && s.source == text;
    if (have && !same && !c.opt.json) {
      std::cerr << "  (with the workflow text it started with; " << path
                << " has changed: aosrun resume " << c.opt.run_id << " --upgrade " << path << " moves it)\n";
    }
    return Continue(c, log, same ? have : nullptr);
  };
  Loaded w;
  if (int rc = LoadWorkflow(c, path, text, c.opt.workflow, &w)) {
    if (opening.valid() && opening.get() == kExitOk && preloaded) return continue_existing(*preloaded, nullptr);
    return rc;
  }
  if (!c.opt.run_id.empty() && !aos::ValidRunId(c.opt.run_id)) {
    return Usage("--run-id: '" + c.opt.run_id + "' is not a run id (1-64 of A-Z a-z 0-9 . _ -)");
  }
  if (opening.valid()) {
    const int rc = opening.get();
    if (rc) {
      if (!preload_error.empty()) std::cerr << "aosrun: " << preload_error << "\n";
      return rc;
    }
    if (preloaded) return continue_existing(*preloaded, &w);
  }
  std::vector<Value> inputs;
  std::vector<std::string> batch_ids;  // one per input, for --batch
  if (!c.opt.batch.empty()) {
    std::ifstream in(c.opt.batch);
    if (!in) {
      std::cerr << "aosrun: cannot read " << c.opt.batch << "\n";
      return kExitIo;
    }
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::string error;
      auto v = aos::ParseJson(line, &error);
      if (!v || v->kind() != aos::ValueKind::kMap) {
        std::cerr << "aosrun: " << c.opt.batch << ":" << n << ": not a JSON object of inputs"
                  << (error.empty() ? "" : ": " + error) << "\n";
        return kExitUsage;
      }
      inputs.push_back(*v);
      // Deterministic: the line's number and text (and the workflow), so a
      // batch run again after a kill finds the runs it already made.
      batch_ids.push_back("b" + std::to_string(n) + "-" + aos::Digest(w.dag->workflow->name + "\n" + line).substr(0, 12));
    }
  } else {
    Value v;
    std::string error;
    if (!ParseInputs(c.opt, *w.dag, &v, &error)) return Usage(error);
    inputs.push_back(v);
  }
  // Every input, and the environment the workflow reads, is checked before
  // the data directory is touched.
  if (std::string missing = aos::MissingEnv(*w.program, *w.dag); !missing.empty()) return Usage(missing);
  for (size_t i = 0; i < inputs.size(); ++i) {
    Value typed;
    std::string error;
    if (!aos::PrepareInputs(*w.program, *w.dag, inputs[i], &typed, &error)) {
      if (c.opt.batch.empty()) return Usage(error);
      std::cerr << "aosrun: " << c.opt.batch << ": run " << i + 1 << ": " << error
                << " (no run of the batch was started)\n";
      return kExitUsage;
    }
    inputs[i] = typed;
  }
  if (via_serve && !c.opt.batch.empty()) {
    if (const int rc = BatchViaServe(c, *w.dag, inputs, batch_ids); rc >= 0) return rc;
  }
  if (via_serve && c.opt.batch.empty()) {
    // The workflow must be one serve was started with (404 otherwise).
    const std::string body = "{\"workflow\":" + Q(w.dag->workflow->name) + ",\"input\":" + inputs[0].ToJson() +
                             (c.opt.run_id.empty() ? "" : ",\"run_id\":" + Q(c.opt.run_id)) + "}";
    const int rc = ViaServe(c, "POST", "/api/runs", body);
    if (rc >= 0) return rc;
  }
  if (!c.store) {
    if (int rc = OpenStore(c, true)) return rc;
  }
  // Migrations the file declares for its stored entities run first; then a
  // file that declares an entity otherwise than its stored records is
  // refused before any run starts (StartRun checks it too, for serve).
  if (int rc = RunMigrations(c, *w.program, std::cerr)) return rc;
  if (std::string conflicts = aos::StoredConflicts(*c.store, *w.program); !conflicts.empty()) {
    std::cerr << "aosrun: " << conflicts << "\n";
    return kExitInvalid;
  }
  if (!c.opt.batch.empty()) return RunBatch(c, w, path, text, inputs, batch_ids);
  aos::RunLog log(*c.store, *c.clock);
  const std::string id = c.opt.run_id.empty() ? aos::NewRunId() : c.opt.run_id;
  std::string error;
  if (!c.opt.run_id.empty() && c.store->Get(aos::Column::kRuns, id)) {
    if (!log.Load(id, &error)) {
      std::cerr << "aosrun: " << error << "\n";
      return kExitIo;
    }
    return continue_existing(log, &w);
  }
  // The run goes on the same Driver as serve's, in the foreground (short
  // waits slept through, progress shown). RunStarted is written (to the OS)
  // before the id is shown, so `aosrun resume ID` finds the run even if this
  // process is killed right after.
  Progress p;
  aos::Driver driver(*c.store, *c.clock, *c.calls, MakeRunOptions(c, &p), /*workers=*/0, /*foreground=*/true);
  driver.AddProgram(w.program, text);
  aos::Driver::StartOptions so;
  so.replay_effects = c.opt.replay_effects;
  so.config_hash = c.config_hash;
  so.started = [&](const std::string& started) {
    if (!c.opt.json) std::cerr << "run " << started << " started (workflow " << w.dag->workflow->name << ")\n";
  };
  const aos::Driver::Started st = driver.Start(w.dag->workflow->name, inputs[0], id, so);
  if (p.on) std::fprintf(stderr, "\r\033[K");
  if (st.status >= 500) {
    std::cerr << "aosrun: " << st.error << "\n";
    return kExitIo;
  }
  if (st.status >= 400) return Usage(st.error);
  return Report(c, id, st.outcome);
}

int LoadRun(Context& c, const std::string& run_id, aos::RunLog& log) {
  if (!aos::ValidRunId(run_id)) {
    std::cerr << "aosrun: '" << run_id << "' is not a run id (aosrun runs lists them)\n";
    return kExitNoRun;
  }
  // On a store several workers share, a command that changes a run holds
  // its lease from before it reads the run (ReleaseLeases gives it up).
  if (c.store->Shared() && !ReadsOnly(c.opt.command)) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(aos::Driver::kLeaseWaitMs);
    while (!c.store->ClaimRun(run_id)) {
      if (std::chrono::steady_clock::now() >= deadline) {
        std::cerr << "aosrun: run " << run_id << " is being run by another worker; try again\n";
        return kExitBusy;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    c.leased.push_back(run_id);
  }
  std::string error;
  if (!log.Load(run_id, &error)) {
    std::cerr << "aosrun: " << error << (error.rfind("no run", 0) == 0 ? " (aosrun runs lists them)" : "")
              << "\n";
    return error.rfind("no run", 0) == 0 ? kExitNoRun : kExitIo;
  }
  return kExitOk;
}

int CmdResume(Context& c) {
  if (c.opt.positional.size() != 1) return Usage("resume takes one RUN");
  if (c.opt.force && c.opt.upgrade.empty()) return Usage("--force goes with --upgrade FILE");
  std::string text;
  if (!c.opt.upgrade.empty() && !aos::ReadFileText(c.opt.upgrade, &text)) {
    std::cerr << "aosrun: cannot read " << c.opt.upgrade << ": " << std::strerror(errno) << "\n";
    return kExitIo;
  }
  if (int rc = LoadSettings(c)) return rc;
  if (aos::ValidRunId(c.opt.positional[0]) && aosrun::FindServe(c.data_dir, c.config)) {
    const std::string run = c.opt.positional[0];
    if (c.opt.upgrade.empty()) return ViaServe(c, "POST", "/api/runs/" + run + "/resume", "{}");
    // The new text is checked here first: its diagnostics print as without serve.
    Loaded check;
    if (int rc = LoadWorkflow(c, c.opt.upgrade, text, c.opt.workflow, &check)) return rc;
    const auto a = AskServe(c, "POST", "/api/runs/" + run + "/upgrade",
                            "{\"file\":" + Q(c.opt.upgrade) + ",\"source\":" + Q(text) +
                                ",\"force\":" + (c.opt.force ? "true" : "false") + "}");
    if (a && a->outcome) {
      if (!c.opt.json) std::cerr << "run " << run << " upgraded to " << c.opt.upgrade << "\n";
      return Report(c, a->run_id, a->o);
    }
    if (a) return a->rc;
  }
  if (int rc = LoadContext(c, false)) return rc;
  aos::RunLog log(*c.store, *c.clock);
  if (int rc = LoadRun(c, c.opt.positional[0], log)) return rc;
  if (c.opt.upgrade.empty()) return Continue(c, log);

  // --upgrade: check the new version, compare it with the stored one.
  const aos::RunState& s = log.state();
  if (s.Finished()) {
    std::cerr << "aosrun: run " << s.run_id << " has ended (" << aos::RunStatusName(s.status)
              << "); there is nothing to upgrade\n";
    return kExitUsage;
  }
  Loaded old_w, new_w;
  if (int rc = LoadWorkflow(c, s.file, s.source, s.workflow, &old_w)) return rc;
  if (int rc = LoadWorkflow(c, c.opt.upgrade, text, s.workflow, &new_w)) return rc;
  std::vector<std::string> blockers;
  const aos::OpResult r =
      aos::UpgradeRun(log, *new_w.program, *old_w.dag, *new_w.dag, c.opt.upgrade, text, c.opt.force, &blockers);
  if (!r.ok()) {
    if (r.status != aos::OpStatus::kConflict) {
      std::cerr << "aosrun: " << r.message << "\n";
      return r.status == aos::OpStatus::kInvalid ? kExitInvalid : kExitUsage;
    }
    std::cerr << "aosrun: run " << s.run_id << " cannot move to " << c.opt.upgrade << ":\n";
    for (const auto& b : blockers) std::cerr << "  " << b << "\n";
    std::cerr << "  (completed steps keep their recorded results; --force upgrades anyway)\n";
    return kExitInvalid;
  }
  if (!c.opt.json) {
    std::cerr << "run " << s.run_id << " upgraded to " << c.opt.upgrade
              << (blockers.empty() ? "" : " (forced)") << "\n";
  }
  return Continue(c, log, &new_w);
}


// approve's and signal's --payload J (or @FILE, or -): JSON, or a usage error.
int ParseDataJson(const Context& c, Value* data) {
  if (c.opt.payload.empty()) return kExitOk;
  std::string text, error;
  if (!aosrun::ReadJsonArg("--payload", c.opt.payload, &text, &error)) return Usage(error);
  auto v = aos::ParseJson(text, &error);
  if (!v) return Usage("--payload is not JSON: " + error);
  *data = *v;
  return kExitOk;
}

int CmdDecide(Context& c, bool approve) {
  if (c.opt.positional.size() != 2) return Usage(std::string(approve ? "approve" : "reject") + " takes RUN NAME");
  Value data;
  if (int rc = ParseDataJson(c, &data)) return rc;
  if (int rc = LoadSettings(c)) return rc;
  if (aos::ValidRunId(c.opt.positional[0])) {
    std::string who = !c.opt.as.empty() ? c.opt.as : (std::getenv("USER") ? std::getenv("USER") : "operator");
    const std::string body = "{\"decision\":" + Q(approve ? "approve" : "reject") + ",\"comment\":" + Q(c.opt.comment) +
                             ",\"data\":" + data.ToJson() + ",\"as\":" + Q(who) +
                             ",\"expect_hash\":" + Q(c.opt.expect_hash) +
                             (c.opt.no_continue ? ",\"continue\":false}" : "}");
    const auto a = AskServe(c, "POST", "/api/runs/" + c.opt.positional[0] + "/approvals/" + c.opt.positional[1], body);
    if (a && a->outcome) {
      // Recorded (the same line as without serve); then the run's outcome,
      // or with --no-continue, serve continues the run itself.
      if (!c.opt.json) {
        std::cerr << (approve ? "approved " : "rejected ") << c.opt.positional[1] << " of run " << a->run_id
                  << (c.opt.no_continue ? " (serve continues it)\n" : "\n");
      }
      return c.opt.no_continue ? kExitOk : Report(c, a->run_id, a->o);
    }
    if (a) return a->rc;
  }
  if (int rc = LoadContext(c, false)) return rc;
  aos::RunLog log(*c.store, *c.clock);
  const std::string run = c.opt.positional[0], name = c.opt.positional[1];
  if (int rc = LoadRun(c, run, log)) return rc;
  aos::Decision d;
  d.approve = approve;
  d.by = !c.opt.as.empty() ? c.opt.as : (std::getenv("USER") ? std::getenv("USER") : "operator");
  d.comment = c.opt.comment;
  d.data = data;
  d.expect_hash = c.opt.expect_hash;
  d.at_nanos = c.clock->NowNanos();
  // The run's workflow, to check the data against `returns T` (only needed,
  // and only loaded, when there is data).
  Loaded w;
  const bool typed = approve && !data.is_null() && !log.state().Finished() &&
                     LoadWorkflow(c, log.state().file, log.state().source, log.state().workflow, &w) == kExitOk;
  const aos::OpResult r = aos::Decide(log, typed ? w.program.get() : nullptr, typed ? w.dag : nullptr, name, d);
  if (r.status != aos::OpStatus::kDone) {
    std::cerr << "aosrun: " << r.message << "\n";
    return kExitUsage;
  }
  if (!c.opt.json) std::cerr << (approve ? "approved " : "rejected ") << name << " of run " << run << "\n";
  if (c.opt.no_continue) return kExitOk;
  return Continue(c, log);
}

int CmdSignal(Context& c) {
  if (c.opt.positional.size() != 2) return Usage("signal takes RUN NAME");
  Value data;
  if (int rc = ParseDataJson(c, &data)) return rc;
  if (int rc = LoadSettings(c)) return rc;
  if (aos::ValidRunId(c.opt.positional[0])) {
    const auto a = AskServe(c, "POST", "/api/runs/" + c.opt.positional[0] + "/signals/" + c.opt.positional[1],
                            "{\"data\":" + data.ToJson() + (c.opt.no_continue ? ",\"continue\":false}" : "}"));
    if (a && a->outcome) {
      if (!c.opt.json) {
        std::cerr << "signal " << c.opt.positional[1] << " delivered to run " << a->run_id
                  << (c.opt.no_continue ? " (serve continues it)\n" : "\n");
      }
      // As without serve: a run that was not waiting is not continued (0).
      if (c.opt.no_continue || a->status == 202) return kExitOk;
      return Report(c, a->run_id, a->o);
    }
    if (a) return a->rc;
  }
  if (int rc = LoadContext(c, false)) return rc;
  aos::RunLog log(*c.store, *c.clock);
  const std::string run = c.opt.positional[0];
  if (int rc = LoadRun(c, run, log)) return rc;
  const aos::RunState& s = log.state();
  Loaded w;
  if (!s.Finished()) {
    if (int rc = LoadWorkflow(c, s.file.empty() ? "<stored>" : s.file, s.source, s.workflow, &w)) return rc;
  }
  const aos::OpResult r = aos::DeliverSignal(log, w.dag, c.opt.positional[1], data);
  if (r.status != aos::OpStatus::kDone) {
    std::cerr << "aosrun: " << r.message << "\n";
    return kExitUsage;
  }
  if (!c.opt.json) std::cerr << "signal " << c.opt.positional[1] << " delivered to run " << run << "\n";
  if (c.opt.no_continue || log.state().status != aos::RunStatus::kWaiting) return kExitOk;
  return Continue(c, log, &w);
}

int CmdRetry(Context& c) {
  if (c.opt.positional.size() != 1) return Usage("retry takes one RUN");
  if (int rc = LoadSettings(c)) return rc;
  if (aos::ValidRunId(c.opt.positional[0])) {
    const int rc = ViaServe(c, "POST", "/api/runs/" + c.opt.positional[0] + "/retry", "{\"from\":" + Q(c.opt.from) + "}");
    if (rc >= 0) return rc;
  }
  if (int rc = LoadContext(c, false)) return rc;
  aos::RunLog log(*c.store, *c.clock);
  if (int rc = LoadRun(c, c.opt.positional[0], log)) return rc;
  const aos::RunState& s = log.state();
  Loaded w;
  if (s.status == aos::RunStatus::kFailed) {
    if (int rc = LoadWorkflow(c, s.file.empty() ? "<stored>" : s.file, s.source, s.workflow, &w)) return rc;
  }
  const aos::OpResult r = aos::RetryRun(log, c.opt.from);
  if (r.status != aos::OpStatus::kDone) {
    std::cerr << "aosrun: " << r.message << "\n";
    return kExitUsage;
  }
  if (!c.opt.json) std::cerr << "retrying run " << s.run_id << "\n";
  return Continue(c, log, &w);
}

int CmdCancel(Context& c) {
  if (c.opt.positional.size() != 1) return Usage("cancel takes one RUN");
  if (int rc = LoadSettings(c)) return rc;
  if (aos::ValidRunId(c.opt.positional[0])) {
    const int rc = ViaServe(c, "POST", "/api/runs/" + c.opt.positional[0] + "/cancel", "");
    if (rc >= 0) return rc == kExitFailed ? kExitOk : rc;  // cancelled: the run's status is "cancelled"
  }
  if (int rc = LoadContext(c, false)) return rc;
  aos::RunLog log(*c.store, *c.clock);
  if (int rc = LoadRun(c, c.opt.positional[0], log)) return rc;
  const aos::RunState& s = log.state();
  Loaded w;
  if (!s.Finished()) {
    if (int rc = LoadWorkflow(c, s.file, s.source, s.workflow, &w)) return rc;
  }
  aos::RunOutcome o;
  const aos::OpResult r = s.Finished() ? aos::OpResult{aos::OpStatus::kEnded, "run " + s.run_id +
                                                           " has already ended (" + aos::RunStatusName(s.status) + ")"}
                                       : aos::CancelRun(log, *w.program, *w.dag, *c.calls, *c.clock,
                                                        MakeRunOptions(c, nullptr), &o);
  if (!r.ok()) {
    std::cerr << "aosrun: " << r.message << "\n";
    return kExitUsage;
  }
  Report(c, s.run_id, o);
  return o.status == aos::RunStatus::kCancelled ? kExitOk : kExitFailed;
}

}  // namespace aosrun

int Main(int argc, char** argv);
int Command(aosrun::Context& c);

int main(int argc, char** argv) {
  // A reader piped into `head` finishes (and removes its read-only view's
  // directory) instead of dying of SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  const int rc = Main(argc, argv);
  spdlog::shutdown();  // flushes the process log
  return rc;
}

int Main(int argc, char** argv) {
  using namespace aosrun;
  Context c;
  c.argv = argv;
  std::string problem;
  if (!aosrun::ParseArgs(argc, argv, &c.opt, &problem)) return Usage(problem);
  const std::string& cmd = c.opt.command;
  if (cmd == "help" || (argc < 2)) {
    std::cout << aosrun::UsageText();
    return argc < 2 ? kExitUsage : kExitOk;
  }
  if (c.opt.help) {
    if (cmd == "start" && c.opt.positional.empty()) std::cout << aosrun::UsageText() << "\n";
    std::cout << aosrun::HelpText(cmd);
    return kExitOk;
  }
  const int rc = Command(c);
  for (const auto& run : c.leased) {  // a shared store: the runs this command held go back
    try {
      c.store->ReleaseRun(run);
    } catch (const aos::StoreError&) {
      // It runs out by itself.
    }
  }
  return rc;
}

int Command(aosrun::Context& c) {
  using namespace aosrun;
  const std::string& cmd = c.opt.command;
  try {
    if (cmd == "start") return CmdStart(c);
    if (cmd == "resume") return CmdResume(c);
    if (cmd == "approve") return CmdDecide(c, true);
    if (cmd == "reject") return CmdDecide(c, false);
    if (cmd == "signal") return CmdSignal(c);
    if (cmd == "cancel") return CmdCancel(c);
    if (cmd == "retry") return CmdRetry(c);
    if (cmd == "serve") return CmdServe(c);
    if (cmd == "reload") return CmdReload(c);
    if (cmd == "runs") return CmdRuns(c, "");
    if (cmd == "status") return CmdRuns(c, c.opt.positional.empty() ? "" : c.opt.positional[0]);
    if (cmd == "inbox") return CmdInbox(c);
    if (cmd == "log") return CmdLog(c);
    if (cmd == "state") return CmdState(c);
    if (cmd == "schema") return CmdSchema(c);
    if (cmd == "migrate") return CmdMigrate(c);
    if (cmd == "history") return CmdHistory(c);
    if (cmd == "verify") return CmdVerify(c);
    if (cmd == "migrate-store") return CmdMigrateStore(c);
    if (cmd == "copy") return CmdCopy(c);
    if (cmd == "cost") return CmdCost(c);
    if (cmd == "trace") return CmdTrace(c);
  } catch (const aos::StoreError& e) {
    std::cerr << "aosrun: " << e.what() << "\n";
    return kExitIo;
  }
  return Usage("unknown command " + cmd);
}
