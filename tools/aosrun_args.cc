// aosrun's command line: the commands, their options and help, parsed with
// CLI11. One meaning per flag: --data-dir (or --data, or $AOS_DATA) is the
// data directory for every command; the JSON of a decision or a signal is
// --payload. Unknown commands and options get a "did you mean"; `--` ends
// the options; --input-json and --payload read @FILE or - (stdin).
#include "tools/aosrun_args.h"

#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <sys/stat.h>

#include "lang/spelling.h"
#include "tools/cli_parse.h"

namespace aosrun {
namespace {

const char kUsage[] =
    "usage: aosrun FILE [--input k=v]... [--input-json J] [--run-id ID] [options]\n"
    "                                         start a run (or continue run ID)\n"
    "       aosrun FILE --batch inputs.jsonl  one run per input line\n"
    "       aosrun resume RUN                 continue a waiting or interrupted run\n"
    "       aosrun approve RUN NAME [--comment C] [--payload J] [--as WHO]\n"
    "       aosrun reject RUN NAME [--comment C] [--as WHO]\n"
    "       aosrun signal RUN NAME [--payload J]\n"
    "       aosrun status [RUN] | runs | inbox | log RUN\n"
    "       aosrun state ENTITY [KEY] [--at TIME] | history ENTITY KEY\n"
    "       aosrun schema [ENTITY] | migrate ENTITY FILE   kept entity declarations\n"
    "       aosrun cancel RUN                 cancel, compensating completed effects\n"
    "       aosrun retry RUN [--from STEP]    continue a failed run from where it failed\n"
    "       aosrun cost [RUN] [--since DATE] [--by workflow|model|day|run]\n"
    "       aosrun trace RUN [--otlp FILE]    the run as a timeline, or OTLP/JSON\n"
    "       aosrun verify                     check the data directory\n"
    "       aosrun serve [FILE|DIR]... [--listen HOST:PORT]   run the workforce (the API)\n"
    "       aosrun reload                        serve reads its files again\n"
    "\n"
    "Common options: --data-dir DIR (or --data DIR; default: $AOS_DATA, the\n"
    "  config's data_dir, or .aos), --config aos.yaml (default: ./aos.yaml if\n"
    "  present), --json, -h/--help, -v (the process log, also kept in\n"
    "  DATA/aosrun.log, on stderr too), --store postgresql://USER@HOST/DB (the\n"
    "  PostgreSQL store instead of the data directory's; also $AOS_STORE or the\n"
    "  config's store:). `--` ends the options.\n"
    "Exit status: 0 completed, 1 failed, 64 usage, 65 invalid workflow, 66 no such\n"
    "run, 73 data directory in use, 74 storage error, 75 waiting.\n";

const std::map<std::string, std::string> kHelp = {
    {"start",
     "aosrun FILE [options] - start a run of the workflow in FILE\n\n"
     "Prints the run id, progress on a terminal, and the run's output as JSON.\n"
     "A run that reaches an approval, a timer or a signal stops with status 75\n"
     "and prints the command that continues it.\n\n"
     "Options:\n"
     "  --input k=v         a parameter, read as its declared type (repeatable)\n"
     "  --input-json J      all parameters as one JSON object (@FILE reads it from\n"
     "                      FILE, - from standard input)\n"
     "  --run-id ID         name the run; an existing ID continues that run\n"
     "  --workflow NAME     the workflow, when FILE has several\n"
     "  --batch FILE        one run per line of FILE (JSON objects of inputs)\n"
     "  --durability MODE   default (sync at effects, waits and run end) or strict\n"
     "                      (sync every event)\n"
     "  --replay-effects    do not reuse effect results recorded by earlier runs\n"
     "  --data-dir DIR      the data directory (also --data DIR)\n"
     "  --config FILE       aos.yaml\n"
     "  --json              print one JSON object: run_id, status, output, error,\n"
     "                      waiting_on\n"},
    {"resume",
     "aosrun resume RUN [--upgrade FILE [--force]] - continue a run that waits or\n"
     "was interrupted\n\n"
     "Replays the run's log (completed steps are never called again) and goes on.\n"
     "The workflow text stored at start is used, not the file on disk, unless\n"
     "--upgrade FILE gives a new version: statements that already completed must\n"
     "be unchanged in it (they are listed otherwise, exit 65); new statements and\n"
     "changed pending ones are fine. --force upgrades anyway; completed steps keep\n"
     "their recorded results. `aoscheck FILE --against RUN` shows the verdict.\n"},
    {"approve",
     "aosrun approve RUN NAME [--comment C] [--payload J] [--as WHO]\n\n"
     "Records an approval decision for the waiting approval NAME of RUN, then\n"
     "continues the run. --payload J is JSON given to the workflow as NAME.data\n"
     "(@FILE reads it from FILE, - from standard input).\n"
     "--no-continue only records the decision. --expect-hash H refuses unless the\n"
     "request still shows the payload with hash H (inbox --json prints it), so a\n"
     "decision is never applied to a payload the approver did not see.\n"},
    {"reject",
     "aosrun reject RUN NAME [--comment C] [--as WHO]\n\n"
     "Records a rejection for the waiting approval NAME of RUN, then continues\n"
     "the run (statements depending on NAME fail unless they run `when NAME.approved`).\n"},
    {"signal",
     "aosrun signal RUN NAME [--payload J]\n\n"
     "Delivers the signal NAME to RUN. A signal delivered before the run reaches\n"
     "its `signal` statement is kept. Continues the run when it was waiting.\n"
     "--payload J is the signal's JSON data (@FILE, or - for standard input).\n"
     "A name no `signal` statement of the run takes is refused (64).\n"},
    {"status", "aosrun status [RUN] - a run's status, or every run's\n"},
    {"runs", "aosrun runs - every run in the data directory, newest first\n"},
    {"inbox", "aosrun inbox - every approval waiting for a decision, across runs\n"},
    {"log", "aosrun log RUN - the run's events, one per line (--json: JSON lines)\n"},
    {"state",
     "aosrun state ENTITY [KEY] [--at TIME] - the current records of an entity\n"
     "type, one JSON object per line; with KEY, that record (a merged key leads\n"
     "to its survivor); with --at TIME (RFC 3339), the record as it was then\n"},
    {"history",
     "aosrun history ENTITY KEY - every change of one record, oldest first:\n"
     "time, kind (changed, deleted, merged, migrated), run and step, the\n"
     "transform@version that made it, the fields that changed (old -> new) and\n"
     "the decisions recorded in the run (who, when, comment). --json: one\n"
     "object per change.\n"},
    {"migrate",
     "aosrun migrate ENTITY FILE - migrate ENTITY's stored records with FILE's\n"
     "`migration ENTITY vN -> vM` (N: the version the data directory keeps)\n\n"
     "Durable and resumable: records go in batches, each written with the\n"
     "migration's position, so a killed migration continues where it stopped\n"
     "and no record is migrated twice. A record that cannot be migrated stops\n"
     "it (65), named; run it again after fixing the migration. Until it is\n"
     "done no run declaring ENTITY starts. aosrun FILE and serve run the\n"
     "migrations their files need before they start.\n"},
    {"schema",
     "aosrun schema [ENTITY] - the entity declarations the data directory keeps\n\n"
     "The first run that writes an entity keeps its declaration; a file that\n"
     "declares it otherwise is refused (65) while records of it are stored.\n"
     "--json prints {ENTITY: {version, text}}.\n"},
    {"cancel", "aosrun cancel RUN - cancel a run, compensating its completed effects\n"},
    {"cost",
     "aosrun cost [RUN] [--since DATE] [--by workflow|model|day|run] - model\n"
     "spending recorded in the data directory, by run, workflow and model (calls,\n"
     "tokens in and out, cost at the config's prices; embeddings and paid-for\n"
     "failed calls included). --since counts calls from DATE (2026-11-01, UTC)\n"
     "or an RFC 3339 time; --by prints one line per workflow, model, day or run.\n"
     "--json prints one object per run and model (with --by, per group).\n"},
    {"serve",
     "aosrun serve [FILE|DIR]... [--listen HOST:PORT] - run the workforce: a\n"
     "long-running process that owns the data directory\n\n"
     "Serves every FILE and every DIR's *.aos files (without arguments, the\n"
     "config's workflows: list). Checks them all (65 on errors, E175 when two\n"
     "declare the same workflow, trigger or webhook path), continues the runs that were running,\n"
     "wakes each waiting run at its due time (timers, retries, approval timeouts),\n"
     "and answers the JSON API (docs/serve.md) on HOST:PORT (default\n"
     "127.0.0.1:7070; port 0 picks a free one, written to DATA/serve.json).\n"
     "Every /api call but /api/health needs the serve token: $AOS_SERVE_TOKEN,\n"
     "or the one made at first start in DATA/serve.token. SIGHUP (or aosrun\n"
     "reload) reads the files again. SIGTERM or SIGINT stops it (exit 0);\n"
     "SIGKILL is safe.\n"},
    {"reload",
     "aosrun reload - the serve holding the data directory reads its workflow\n"
     "files again, as on SIGHUP: new runs use the new text, runs keep theirs.\n"
     "65 with the diagnostics when a file does not check (serve goes on with\n"
     "what it had); 64 when no serve holds the directory.\n"},
    {"retry",
     "aosrun retry RUN [--from STEP] - continue a failed run from its failed\n"
     "statements\n\n"
     "Each failed statement is attempted afresh (an effect with its recorded key),\n"
     "with its retry policy from the start; everything that completed, effects\n"
     "included, is kept. --from STEP retries only that failed statement instance.\n"
     "Refused (64) when the run did not fail, or compensated its effects.\n"},
    {"trace",
     "aosrun trace RUN [--otlp FILE] - the run as a timeline: each statement's\n"
     "start, duration, status, attempts, key, model usage and describe text.\n"
     "--otlp FILE writes OpenTelemetry OTLP/JSON (one span per statement under\n"
     "one for the run) that trace viewers load; --json prints that JSON.\n"},
    {"verify",
     "aosrun verify - check every record of the data directory (events decode,\n"
     "checksums match, sequences have no gaps, every run starts with RunStarted)\n"},
    {"copy",
     "aosrun copy --from DIR|URL --to DIR|URL - copy every record of one store\n"
     "into another, empty one: a data directory into PostgreSQL\n"
     "(postgresql://USER@HOST:PORT/DB) or back. Records are copied byte for byte\n"
     "(event CRCs kept), then the target is verified as `aosrun verify` does.\n"
     "The source must not be written meanwhile (stop serve first). Progress on\n"
     "stderr; --json prints {records, bytes, runs, events, problems}.\n"},
    {"migrate-store",
     "aosrun migrate-store --store postgresql://USER@HOST:PORT/DB - make the AOS\n"
     "tables of a PostgreSQL store, or bring them to this aosrun's schema version\n"
     "(a run's start makes them too). Prints the version; refuses a newer one.\n"},
};


const std::vector<std::string> kCommands = {"resume", "approve", "reject", "signal", "status", "runs",
                                            "inbox",  "log",     "state",  "schema", "migrate", "history", "cancel", "verify", "cost",
                                            "trace",  "retry",   "serve",  "reload", "migrate-store", "copy", "help"};

bool IsCommand(const std::string& w) {
  return std::find(kCommands.begin(), kCommands.end(), w) != kCommands.end();
}

// The options each command takes besides the common ones.
void AddOptions(CLI::App& app, const std::string& cmd, Options* o) {
  auto flag = [&](const char* names, bool* out) { app.add_flag(names, *out); };
  auto opt = [&](const char* names, std::string* out) { app.add_option(names, *out)->expected(1); };
  if (cmd == "start") {
    app.add_option("--input", o->raw_inputs)->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    opt("--input-json", &o->input_json);
    opt("--run-id", &o->run_id);
    opt("--workflow", &o->workflow);
    opt("--batch", &o->batch);
    opt("--durability", &o->durability);
    flag("--replay-effects", &o->replay_effects);
  }
  if (cmd == "resume") {
    opt("--upgrade", &o->upgrade);
    flag("--force", &o->force);
  }
  if (cmd == "approve" || cmd == "reject" || cmd == "signal") {
    opt("--payload", &o->payload);
    flag("--no-continue", &o->no_continue);
  }
  if (cmd == "approve" || cmd == "reject") {
    opt("--comment", &o->comment);
    opt("--as", &o->as);
    opt("--expect-hash", &o->expect_hash);
  }
  if (cmd == "trace") opt("--otlp", &o->otlp);
  if (cmd == "state") opt("--at", &o->at);
  if (cmd == "cost") {
    opt("--since", &o->since);
    opt("--by", &o->by);
  }
  if (cmd == "retry") opt("--from", &o->from);
  if (cmd == "serve") opt("--listen", &o->listen);
  if (cmd == "copy") {
    opt("--from", &o->copy_from);
    opt("--to", &o->copy_to);
  }
}

}  // namespace

const char* UsageText() { return kUsage; }

std::string HelpText(const std::string& command) {
  auto it = kHelp.find(command);
  return it == kHelp.end() ? std::string(kUsage) : it->second;
}

using aos_cli::SplitPositionals;

bool ParseArgs(int argc, char** argv, Options* o, std::string* problem) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && IsCommand(args[0])) {
    o->command = args[0];
    args.erase(args.begin());
  } else if (!args.empty() && !args[0].empty() && args[0][0] != '-' &&
             args[0].find_first_of("./") == std::string::npos) {
    // Not a command, and no path: a mistyped command more likely than a file.
    struct stat st;
    if (::stat(args[0].c_str(), &st) != 0) {
      if (auto m = aos::ClosestMatch(args[0], kCommands)) {
        *problem = "unknown command '" + args[0] + "'; did you mean '" + *m + "'?";
        return false;
      }
    }
  }
  CLI::App app{"aosrun", "aosrun"};
  app.set_help_flag();  // -h/--help are ours: the texts above
  app.add_flag("-h,--help", o->help);
  app.add_flag("--json", o->json);
  app.add_flag("-v,--verbose", o->verbose);
  // One meaning: the data directory, for every command (--data is kept as
  // a shorter spelling).
  app.add_option("--data-dir,--data", o->data)->expected(1);
  app.add_option("--config", o->config)->expected(1);
  app.add_option("--store", o->store)->expected(1);
  AddOptions(app, o->command, o);
  std::vector<std::string> after;
  SplitPositionals(&args, &after);
  std::string bad;
  if (!aos_cli::ParseWith(app, args, &o->positional, &bad, problem)) {
    if (!bad.empty()) {
      *problem = "unknown option " + bad + " for " + (o->command == "start" ? "a start" : o->command) +
                 aos_cli::DidYouMean(app, bad);
    }
    return false;
  }
  o->positional.insert(o->positional.end(), after.begin(), after.end());
  for (const auto& kv : o->raw_inputs) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      *problem = "--input takes NAME=VALUE, not '" + kv + "'";
      return false;
    }
    o->inputs.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  if (!o->durability.empty()) {
    if (o->durability != "strict" && o->durability != "default") {
      *problem = "--durability is 'default' or 'strict', not '" + o->durability + "'";
      return false;
    }
    o->strict = o->durability == "strict";
  }
  // --data used to carry approve's and signal's JSON: say where it went.
  if ((o->command == "approve" || o->command == "signal") && !o->data.empty() &&
      (o->data[0] == '{' || o->data[0] == '[' || o->data[0] == '"')) {
    *problem = "--data names the data directory; give the " + std::string(o->command == "approve" ? "decision's" : "signal's") +
               " JSON with --payload";
    return false;
  }
  return true;
}

bool ReadJsonArg(const std::string& flag, const std::string& arg, std::string* text, std::string* error) {
  if (arg == "-") {
    *text = std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return true;
  }
  if (!arg.empty() && arg[0] == '@') {
    std::ifstream in(arg.substr(1), std::ios::binary);
    if (!in) {
      *error = flag + " " + arg + ": cannot read " + arg.substr(1);
      return false;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    *text = ss.str();
    return true;
  }
  *text = arg;
  return true;
}

}  // namespace aosrun
