// aoscheck: parse, resolve, type-check and lint .aos files; show a workflow's
// dry-run plan or its DAG; evaluate one expression. Flags, wiring, printing
// and exit codes only: the work is in lang/.
//
// Exit codes (sysexits): 0 clean (warnings allowed), 1 `eval` failed,
// 65 the input has errors, 64 usage, 74 a file could not be read.
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "lang/checker.h"
#include "lang/cron.h"

#include <date/tz.h>
#include "lang/diagnostic.h"
#include "lang/eval.h"
#include "lang/parser.h"
#include "lang/plan.h"
#include "lang/source.h"
#include "lang/spelling.h"
#include "lang/stdlib_doc.h"
#include "lang/trigger_check.h"
#include "runtime/config.h"
#include "runtime/entity_schemas.h"
#include "runtime/offline.h"
#include "runtime/open_store.h"
#include "runtime/pg_store.h"
#include "runtime/run_log.h"
#include "runtime/runner.h"
#include "tools/cli_parse.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitEvalFailed = 1;
constexpr int kExitUsage = 64;
constexpr int kExitInvalid = 65;
constexpr int kExitIo = 74;

const char kUsage[] =
    "usage: aoscheck [--json] [--config aos.yaml] [--together] FILE...\n"
    "                                                     check files\n"
    "       aoscheck --dot FILE [--workflow NAME]           the DAG as Graphviz DOT\n"
    "       aoscheck plan FILE [--workflow NAME] [--input k=v]... [--input-json J] [--config aos.yaml]\n"
    "                                                     dry run: what a run would do\n"
    "       aoscheck eval 'EXPR' [--input k=v]...           evaluate one expression\n"
    "       aoscheck test FILE --mock M.yaml                run it offline against mocks\n"
    "       aoscheck cron 'EXPR' [--timezone TZ]            a schedule's next fire times\n"
    "       aoscheck builtins [--json]                      every built-in call and function\n"
    "\n"
    "Exit status: 0 clean (warnings allowed), 65 errors found, 64 bad usage,\n"
    "74 a file could not be read, 1 eval failed.\n";

const char kCheckHelp[] =
    "aoscheck FILE... - check .aos files\n"
    "\n"
    "Parses, resolves names, type-checks expressions and lints each FILE. Every\n"
    "problem is printed as file:line:col: error[CODE]: message, the source line,\n"
    "a caret under the span, and hints. Codes are listed in docs/diagnostics.md.\n"
    "\n"
    "Options:\n"
    "  --json            print the diagnostics as one JSON array\n"
    "  --config FILE     aos.yaml: also check that model names exist\n"
    "  --dot             print the DAG of the file's workflow as Graphviz DOT\n"
    "  --workflow NAME   with --dot: the workflow to draw when a file has several\n"
    "  --against RUN     whether run RUN could resume on this FILE (aosrun resume\n"
    "                    RUN --upgrade FILE): lists completed statements it changes\n"
    "  --against DATA    a data directory: whether FILE declares its entities as\n"
    "                    stored and keeps each transform version's body (E181)\n"
    "  --data-dir DIR    with --against: the data directory (default $AOS_DATA or .aos)\n"
    "  --together        the FILEs are served together (aosrun serve FILE...): also\n"
    "                    refuse a workflow, trigger or webhook path two of them declare\n"
    "  -q, --quiet       print nothing for clean files\n"
    "  -h, --help        this help\n";

const char kPlanHelp[] =
    "aoscheck plan FILE [options] - what a run of the workflow would do\n"
    "\n"
    "Checks FILE, then prints the workflow's statements in execution order with\n"
    "their parallel groups: each effect with its idempotency key (evaluated\n"
    "when the inputs allow, else as written), approvals, waits, model calls\n"
    "with an estimated cost range (a loop's body once per item when the inputs\n"
    "tell its items), whether that can pass the workflow's budget, and a\n"
    "summary line. Nothing is run.\n"
    "\n"
    "Options:\n"
    "  --input k=v       a workflow input (repeatable); typed by the parameter\n"
    "  --input-json J    the inputs as one JSON object\n"
    "  --workflow NAME   the workflow, when the file has several\n"
    "  --config FILE     aos.yaml: model names and prices for the cost estimate\n"
    "  --json            the plan as JSON\n"
    "  -h, --help        this help\n";

const char kCronHelp[] =
    "aoscheck cron 'EXPR' [--timezone TZ] [--after TIME] [--count N] - when a\n"
    "schedule fires\n"
    "\n"
    "Prints the next N (default 5) fire times of a 5-field cron expression\n"
    "(minute hour day-of-month month day-of-week; names such as MON and JAN;\n"
    "ranges, steps and lists) read in the IANA time zone TZ (default UTC), after\n"
    "TIME (RFC 3339; default now), as RFC 3339 UTC times. A local time skipped by\n"
    "a clock change does not fire; one that happens twice fires once.\n"
    "\n"
    "Options:\n"
    "  --timezone TZ     such as Europe/Berlin\n"
    "  --after TIME      start after this time\n"
    "  --count N         how many fire times (1-1000)\n"
    "  --json            a JSON list\n";

const char kBuiltinsHelp[] =
    "aoscheck builtins [--json] - the reference of built-in calls and functions\n"
    "\n"
    "Prints every call a statement can make (http.*, connectors, llm.*, agents,\n"
    "email.send, kv.*, kb.*, entities: its arguments with their types, what it\n"
    "returns, whether it changes state) and every expression function, as\n"
    "Markdown tables: the tables the checker and the runtime read, and the\n"
    "generated section of docs/stdlib.md.\n"
    "\n"
    "Options:\n"
    "  --json            the same as JSON: {calls: [...], functions: [...]}\n"
    "  -h, --help        this help\n";

const char kEvalHelp[] =
    "aoscheck eval 'EXPR' [--input k=v]... - evaluate one expression\n"
    "\n"
    "Prints the value as JSON (doubles keep a decimal point: 1.0; ints are\n"
    "exact), or the error and exit status 1. Inputs bind names: --input n=3\n"
    "binds n to the int 3, --input s=abc to the string \"abc\" (values that parse\n"
    "as JSON are taken as JSON). now() and uuid() are not available here.\n"
    "\n"
    "Options:\n"
    "  --input k=v       bind a name (repeatable)\n"
    "  -h, --help        this help\n";


int Usage(const std::string& problem) {
  std::cerr << "aoscheck: " << problem << "\n" << kUsage;
  return kExitUsage;
}

struct Options {
  bool json = false;
  bool dot = false;
  bool quiet = false;
  bool together = false;
  std::string config;
  std::string workflow;
  std::string against;  // --against RUN
  std::string mock;     // test --mock M.yaml
  std::string data;     // --data DIR
  std::string timezone, after;  // cron --timezone TZ --after TIME
  int count = 5;                // cron --count N
  std::vector<std::pair<std::string, std::string>> inputs;
  std::vector<std::string> positional;
};

using aos_cli::DidYouMean;
using aos_cli::ParseWith;
using aos_cli::SplitPositionals;

// Parses the command's options with CLI11: each command takes its own (an
// unknown one is refused with a "did you mean"), `--` ends the options so
// that `aoscheck eval -- '-1 + 3'` works. false with *problem on a usage
// error; sets *help when --help was asked for.
bool ParseFlags(int argc, char** argv, int first, const std::string& cmd, Options* o, bool* help,
                std::string* problem) {
  CLI::App app{"aoscheck", "aoscheck"};
  app.set_help_flag();
  app.add_flag("-h,--help", *help);
  app.add_flag("--json", o->json);
  std::vector<std::string> raw_inputs;
  if (cmd == "check") {
    app.add_flag("--dot", o->dot);
    app.add_flag("-q,--quiet", o->quiet);
    app.add_flag("--together", o->together);
    app.add_option("--against", o->against)->expected(1);
    // One meaning, as in aosrun: the data directory (for --against).
    app.add_option("--data-dir,--data", o->data)->expected(1);
  }
  if (cmd == "check" || cmd == "plan" || cmd == "test") {
    app.add_option("--config", o->config)->expected(1);
    app.add_option("--workflow", o->workflow)->expected(1);
  }
  std::string input_json;
  if (cmd == "plan" || cmd == "eval") {
    app.add_option("--input", raw_inputs)->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  }
  if (cmd == "plan") app.add_option("--input-json", input_json)->expected(1);
  if (cmd == "test") app.add_option("--mock", o->mock)->expected(1);
  if (cmd == "cron") {
    app.add_option("--timezone", o->timezone)->expected(1);
    app.add_option("--after", o->after)->expected(1);
    app.add_option("--count", o->count)->expected(1)->check(CLI::Range(1, 1000));
  }
  std::vector<std::string> args(argv + first, argv + argc), after;
  SplitPositionals(&args, &after);
  std::string bad;
  if (!ParseWith(app, args, &o->positional, &bad, problem)) {
    if (!bad.empty()) {
      *problem = "unknown option " + bad + (cmd == "check" ? "" : " for " + cmd) + DidYouMean(app, bad);
    }
    return false;
  }
  o->positional.insert(o->positional.end(), after.begin(), after.end());
  for (const auto& kv : raw_inputs) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      *problem = "--input takes name=value, got '" + kv + "'";
      return false;
    }
    o->inputs.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  if (!input_json.empty()) {
    // The inputs as one JSON object (as aosrun --input-json): each value as
    // --input would give it (a string as its text, anything else as JSON).
    std::string error;
    auto v = aos::ParseJson(input_json, &error);
    if (!v || v->kind() != aos::ValueKind::kMap) {
      *problem = "--input-json must be a JSON object" + (error.empty() ? "" : ": " + error);
      return false;
    }
    for (const auto& [k, val] : v->as_map()) {
      o->inputs.emplace_back(k.ToDisplayString(),
                             val.kind() == aos::ValueKind::kString ? val.as_string() : val.ToJson());
    }
  }
  return true;
}

void PrintDiagnostics(const aos::Diagnostics& diags, bool json) {
  if (json) {
    std::cout << aos::RenderJson(diags.all()) << "\n";
    return;
  }
  for (const auto& d : diags.all()) std::cerr << aos::RenderText(d);
}

// --against DATA (a data directory, or a postgresql:// store): whether
// FILE agrees with what the store keeps, the schemas of its entities and the
// bodies of its transform versions (E181), as a run start would check.
int CheckAgainstData(const Options& o, const aos::Program& program) {
  std::unique_ptr<aos::Store> store;
  try {
    store = aos::OpenStoreToRead(o.against);
  } catch (const aos::StoreError& e) {
    std::cerr << "aoscheck: " << e.what() << "\n";
    return kExitIo;
  }
  aos::Diagnostics diags;
  aos::TransformConflicts(*store, program, diags);
  PrintDiagnostics(diags, o.json);
  const std::string schemas = aos::SchemaConflicts(*store, program);
  if (!schemas.empty()) std::cerr << "aoscheck: " << schemas << "\n";
  if (diags.has_errors() || !schemas.empty()) return kExitInvalid;
  if (!o.json) std::cout << o.positional[0] << " agrees with " << aos::RedactedUrl(o.against) << "\n";
  return kExitOk;
}

// --against RUN: whether the run could resume on this version of its
// workflow (aosrun resume RUN --upgrade FILE), without touching the run.
int CheckAgainst(const Options& o, aos::Diagnostics& all,
                 std::vector<std::unique_ptr<aos::Program>>& programs, int status) {
  PrintDiagnostics(all, o.json);
  if (all.has_errors() || programs.size() != 1 || status != kExitOk) {
    if (programs.size() != 1 && !all.has_errors()) return Usage("--against takes one FILE");
    return std::max(status, kExitInvalid);
  }
  if (aos::IsPgUrl(o.against) || std::filesystem::is_directory(o.against)) {
    return CheckAgainstData(o, *programs.front());
  }
  // The run's store: --data DIR|URL, $AOS_STORE, $AOS_DATA, or .aos.
  std::string dir = o.data;
  for (const char* name : {"AOS_STORE", "AOS_DATA"}) {
    const char* env = std::getenv(name);
    if (dir.empty() && env && *env) dir = env;
  }
  if (dir.empty()) dir = ".aos";
  std::unique_ptr<aos::Store> store;
  try {
    store = aos::OpenStore(dir, false);
  } catch (const aos::StoreBusy& e) {
    std::cerr << "aoscheck: " << e.what() << "\n";
    return 73;
  } catch (const aos::StoreError& e) {
    std::cerr << "aoscheck: " << e.what() << "\n";
    return kExitIo;
  }
  aos::SystemClock clock;
  aos::RunLog log(*store, clock);
  std::string error;
  if (!aos::ValidRunId(o.against) || !log.Load(o.against, &error)) {
    std::cerr << "aoscheck: " << (error.empty() ? "'" + o.against + "' is not a run id" : error) << "\n";
    return error.empty() || error.rfind("no run", 0) == 0 ? 66 : kExitIo;
  }
  const aos::RunState& s = log.state();
  if (s.Finished()) {
    std::cout << "run " << s.run_id << " has ended (" << aos::RunStatusName(s.status)
              << "): there is nothing to upgrade\n";
    return kExitUsage;
  }
  aos::Diagnostics old_diags;
  auto old_program = aos::LoadProgram(s.file, s.source, aos::CheckOptions{}, old_diags);
  const aos::Dag* old_dag = old_program->FindWorkflow(s.workflow, &error);
  const aos::Dag* new_dag = programs.front()->FindWorkflow(s.workflow, &error);
  if (!new_dag) {
    std::cerr << "aoscheck: " << o.positional[0] << " has no workflow " << s.workflow << " (run "
              << s.run_id << " runs it)\n";
    return kExitInvalid;
  }
  if (!old_dag) {
    std::cerr << "aoscheck: the text stored with run " << s.run_id << " no longer checks\n";
    return kExitInvalid;
  }
  const auto blockers = aos::UpgradeBlockers(*old_dag, *new_dag, s);
  if (blockers.empty()) {
    std::cout << "run " << s.run_id << " can resume on " << o.positional[0]
              << ": no completed statement changed\n";
    return kExitOk;
  }
  std::cout << "run " << s.run_id << " cannot resume on " << o.positional[0] << " without --force:\n";
  for (const auto& b : blockers) std::cout << "  " << b << "\n";
  return kExitInvalid;
}

// Loads and checks FILE; the program is usable when no error was reported.
std::unique_ptr<aos::Program> Load(const std::string& path, const Options& o,
                                   aos::Diagnostics& diags, int* status) {
  aos::CheckOptions copts;
  if (!o.config.empty()) {
    std::string error;
    bool unreadable = false;
    auto config = aos::LoadConfig(o.config, &error, &unreadable);
    if (!config) {
      std::cerr << "aoscheck: " << error << "\n";
      *status = unreadable ? kExitIo : kExitInvalid;
      return nullptr;
    }
    copts = aos::CheckOptionsFor(&*config);
  }
  std::string text;
  if (!aos::ReadFileText(path, &text)) {
    std::cerr << "aoscheck: cannot read " << path << ": " << std::strerror(errno) << "\n";
    *status = kExitIo;
    return nullptr;
  }
  return aos::LoadProgram(path, std::move(text), copts, diags);
}

int RunCheck(const Options& o) {
  if (o.positional.empty()) return Usage("no files to check");
  aos::Diagnostics all;
  int status = kExitOk;
  std::vector<std::unique_ptr<aos::Program>> programs;
  for (const auto& path : o.positional) {
    int file_status = kExitOk;
    auto p = Load(path, o, all, &file_status);
    if (file_status != kExitOk) status = std::max(status, file_status);
    if (p) programs.push_back(std::move(p));
  }
  if (o.together && !all.has_errors() && programs.size() > 1) {
    std::vector<const aos::Program*> served;
    for (const auto& p : programs) served.push_back(p.get());
    aos::CheckServedTogether(served, all);
  }
  if (!o.against.empty()) return CheckAgainst(o, all, programs, status);
  if (o.dot) {
    if (all.has_errors() || programs.empty()) {
      PrintDiagnostics(all, o.json);
      return status == kExitOk ? kExitInvalid : status;
    }
    std::string error;
    const aos::Dag* w = programs.front()->FindWorkflow(o.workflow, &error);
    if (!w) return Usage(error);
    std::cout << aos::RenderDot(*w);
    return kExitOk;
  }
  PrintDiagnostics(all, o.json);
  if (!o.json && !o.quiet) {
    const size_t e = all.error_count(), w = all.warning_count();
    if (e == 0 && status == kExitOk) {
      std::cerr << "aoscheck: " << o.positional.size() << " file"
                << (o.positional.size() == 1 ? "" : "s") << " checked, no errors";
      if (w) std::cerr << ", " << w << " warning" << (w == 1 ? "" : "s");
      std::cerr << "\n";
    } else if (e) {
      std::cerr << "aoscheck: " << e << " error" << (e == 1 ? "" : "s");
      if (w) std::cerr << ", " << w << " warning" << (w == 1 ? "" : "s");
      std::cerr << "\n";
    }
  }
  // Like compilers do, leave the programs to the process exit: freeing a
  // 100,000-statement AST node by node costs a tenth of the whole check.
  for (auto& p : programs) (void)p.release();
  if (all.has_errors()) return std::max(status, kExitInvalid);
  return status;
}

int RunPlan(const Options& o) {
  if (o.positional.size() != 1) return Usage("plan takes exactly one FILE");
  aos::Diagnostics diags;
  int status = kExitOk;
  auto p = Load(o.positional[0], o, diags, &status);
  if (status != kExitOk) return status;
  if (diags.has_errors() || !p) {
    PrintDiagnostics(diags, false);
    return kExitInvalid;
  }
  for (const auto& d : diags.all()) std::cerr << aos::RenderText(d);
  std::string error;
  const aos::Dag* w = p->FindWorkflow(o.workflow, &error);
  if (!w) return Usage(error);
  aos::PlanOptions popts;
  popts.inputs = o.inputs;
  if (!o.config.empty()) {
    bool unreadable = false;
    auto config = aos::LoadConfig(o.config, &error, &unreadable);
    if (!config) {
      std::cerr << "aoscheck: " << error << "\n";
      return unreadable ? kExitIo : kExitInvalid;
    }
    popts.models.emplace();
    for (const auto& [name, m] : config->models) {
      (*popts.models)[name] = aos::ModelPrice{m.input_per_mtok, m.output_per_mtok, m.currency};
    }
  }
  aos::PlanReport report = aos::BuildPlan(*p, *w, popts);
  if (!report.input_errors.empty()) {
    for (const auto& e : report.input_errors) std::cerr << "aoscheck: " << e << "\n";
    return kExitUsage;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  if (o.json) {
    // The plan's object with the triggers added.
    std::string plan = aos::RenderPlanJson(report);
    plan.insert(plan.rfind('}'), ",\"triggers\":" + aos::RenderTriggers(*p, *w, now, 5, true));
    std::cout << plan << "\n";
  } else {
    std::cout << aos::RenderPlanText(report) << aos::RenderTriggers(*p, *w, now, 5, false);
  }
  return kExitOk;
}

// aoscheck builtins [--json]: the reference of the built-ins (lang/stdlib_doc.h).
int RunBuiltins(const Options& o) {
  if (!o.positional.empty()) return Usage("builtins takes no arguments");
  std::cout << (o.json ? aos::StdlibJson().ToJson() + "\n" : aos::StdlibMarkdown());
  return kExitOk;
}

// aoscheck cron 'EXPR' [--timezone TZ] [--after TIME] [--count N]: the next
// fire times of a schedule, as RFC 3339 UTC times (one a line, or a JSON list).
int RunCron(const Options& o) {
  if (o.positional.size() != 1) return Usage("cron takes one quoted expression, such as '0 9 * * MON'");
  std::string error;
  auto spec = aos::ParseCron(o.positional[0], &error);
  if (!spec) {
    std::cerr << "aoscheck: " << error << "\n";
    return kExitInvalid;
  }
  const date::time_zone* tz = aos::FindTimeZone(o.timezone, &error);
  if (!tz) {
    std::cerr << "aoscheck: " << error << "\n";
    return kExitInvalid;
  }
  int64_t at = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
  if (!o.after.empty()) {
    std::string why;
    auto t = aos::ParseTimestampText(o.after, &why);
    if (!t) return Usage("--after: '" + o.after + "' is " + why);
    at = t->nanos;
  }
  std::string json = "[";
  for (int i = 0; i < o.count; ++i) {
    auto next = aos::NextFire(*spec, tz, at);
    if (!next) break;
    at = *next;
    const std::string t = aos::FormatTimestamp(aos::Timestamp{at});
    if (o.json) {
      json += (i ? "," : "") + aos::JsonQuote(t);
    } else {
      std::cout << t << "\n";
    }
  }
  if (o.json) std::cout << json << "]\n";
  return kExitOk;
}

int RunEval(const Options& o) {
  if (o.positional.size() != 1) return Usage("eval takes exactly one expression");
  aos::SourceFile src("<expr>", o.positional[0]);
  aos::Diagnostics diags;
  auto expr = aos::ParseExpression(src, diags);
  if (!expr) {
    PrintDiagnostics(diags, false);
    return kExitInvalid;
  }
  aos::MapEnv env;
  for (const auto& [k, v] : o.inputs) env.Set(k, aos::InputValue(v));
  aos::EvalResult r = aos::Evaluate(*expr, env);
  if (!r.ok()) {
    aos::Diagnostic d;
    d.code = "E160";
    d.message = r.error().message;
    d.source = &src;
    d.span = r.error().span;
    std::cerr << aos::RenderText(d);
    return kExitEvalFailed;
  }
  std::cout << r.value().ToJson() << "\n";
  return kExitOk;
}

const char kTestHelp[] =
    "aoscheck test FILE --mock M.yaml [--config aos.yaml] [--workflow NAME] [--json]\n"
    "\n"
    "Runs the workflow entirely offline: every call is answered from the mock\n"
    "file, time is a virtual clock that jumps to each timer, approvals and\n"
    "signals are scripted, and the run's log lives in memory (nothing is\n"
    "written). Prints the outcome, the calls made (with effect keys), and what\n"
    "was decided. The mock file's format is described in runtime/offline.h and\n"
    "docs/cli.md.\n"
    "\n"
    "Exit status: 0 the run completed, 1 it failed, 75 it waits for something\n"
    "the mock file does not script, 65 FILE has errors, 64 bad usage or mock.\n";

int RunTest(const Options& o) {
  if (o.positional.size() != 1) return Usage("test takes exactly one FILE");
  if (o.mock.empty()) return Usage("test needs --mock M.yaml");
  aos::Diagnostics diags;
  int status = kExitOk;
  auto program = Load(o.positional[0], o, diags, &status);
  if (status != kExitOk) return status;
  if (diags.has_errors()) {
    PrintDiagnostics(diags, o.json);
    return kExitInvalid;
  }
  std::string error;
  const aos::Dag* dag = program->FindWorkflow(o.workflow, &error);
  if (!dag) return Usage(error);
  auto mock = aos::LoadMock(o.mock, &error);
  if (!mock) {
    std::cerr << "aoscheck: " << error << "\n";
    return kExitUsage;
  }
  std::optional<aos::Config> config;
  if (!o.config.empty()) config = aos::LoadConfig(o.config, &error);
  std::string text;
  aos::ReadFileText(o.positional[0], &text);
  const aos::OfflineResult r =
      aos::RunOffline(std::move(program), *dag, text, *mock, config ? &*config : nullptr);
  const char* st = aos::RunStatusName(r.outcome.status);
  if (o.json) {
    std::string calls;
    for (const auto& c : r.calls) {
      calls += (calls.empty() ? "" : ",") + std::string("{\"instance\":") + aos::JsonQuote(c.instance) +
               ",\"call\":" + aos::JsonQuote(c.callee) + ",\"key\":" + aos::JsonQuote(c.key) +
               ",\"ok\":" + (c.ok ? "true" : "false") + "}";
    }
    std::string notes;
    for (const auto& n : r.notes) notes += (notes.empty() ? "" : ",") + aos::JsonQuote(n);
    std::cout << "{\"status\":\"" << st << "\",\"output\":" << r.outcome.output.ToJson()
              << ",\"error\":" << r.outcome.error.ToJson() << ",\"calls\":[" << calls << "],\"notes\":["
              << notes << "],\"events\":" << r.events << "}\n";
  } else {
    std::cout << "test " << dag->workflow->name << ": " << st << "\n";
    if (r.outcome.status == aos::RunStatus::kCompleted) std::cout << "  output: " << r.outcome.output.ToJson() << "\n";
    if (!r.outcome.error.is_null()) std::cout << "  error: " << r.outcome.error.ToJson() << "\n";
    std::cout << "  calls: " << r.calls.size() << "\n";
    for (const auto& c : r.calls) {
      std::cout << "    " << c.instance << "  " << c.callee << "  " << (c.ok ? "ok" : "failed")
                << (c.key.empty() ? "" : "  key " + c.key) << "\n";
    }
    for (const auto& n : r.notes) std::cout << "  " << n << "\n";
  }
  switch (r.outcome.status) {
    case aos::RunStatus::kCompleted: return kExitOk;
    case aos::RunStatus::kWaiting: return 75;
    default: return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage("no files given");
  std::string cmd = argv[1];
  int first = 1;
  const char* help_text = kCheckHelp;
  int (*run)(const Options&) = RunCheck;
  if (cmd == "plan") {
    first = 2;
    help_text = kPlanHelp;
    run = RunPlan;
  } else if (cmd == "eval") {
    first = 2;
    help_text = kEvalHelp;
    run = RunEval;
  } else if (cmd == "test") {
    first = 2;
    help_text = kTestHelp;
    run = RunTest;
  } else if (cmd == "cron") {
    first = 2;
    help_text = kCronHelp;
    run = RunCron;
  } else if (cmd == "builtins") {
    first = 2;
    help_text = kBuiltinsHelp;
    run = RunBuiltins;
  } else if (cmd == "help") {
    std::cout << kUsage;
    return kExitOk;
  } else if (!cmd.empty() && cmd[0] != '-' && cmd.find_first_of("./") == std::string::npos &&
             access(cmd.c_str(), F_OK) != 0) {
    // Not a command and not a file: most likely a mistyped command.
    if (auto m = aos::ClosestMatch(cmd, {"plan", "eval", "test", "cron", "builtins", "help"})) {
      return Usage("unknown command '" + cmd + "'; did you mean '" + *m + "'?");
    }
  }
  Options o;
  bool help = false;
  std::string problem;
  if (!ParseFlags(argc, argv, first, first == 1 ? "check" : cmd, &o, &help, &problem)) return Usage(problem);
  if (help) {
    std::cout << help_text;
    if (run == RunCheck) std::cout << "\n" << kUsage;
    return kExitOk;
  }
  return run(o);
}
