// What the aosrun commands share (tools/aosrun.cc: starting and changing
// runs, serve; tools/aosrun_inspect.cc: the commands that only read): the
// exit statuses, the CLI's context (config, data directory, store, clock,
// calls), loading a run or a workflow, and the few formatting helpers.
// Internal to the aosrun tool.
#ifndef AOS_TOOLS_AOSRUN_CLI_H_
#define AOS_TOOLS_AOSRUN_CLI_H_

#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lang/checker.h"
#include "runtime/config.h"
#include "runtime/operations.h"
#include "runtime/open_store.h"
#include "runtime/run_log.h"
#include "runtime/runner.h"
#include "stdlib/std_calls.h"
#include "tools/aosrun_args.h"

namespace aosrun {

using aos::Value;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 64;
constexpr int kExitInvalid = 65;
constexpr int kExitNoRun = 66;
constexpr int kExitBusy = 73;
constexpr int kExitIo = 74;
constexpr int kExitWaiting = 75;

// The CLI's world: config, data directory, store, clock, call handler.
struct Context {
  Options opt;
  aos::Config config;
  std::string config_hash;  // digest of aos.yaml's text, "" for the defaults
  std::string data_dir;   // the data directory: the store, or with store_url the local files (log, serve)
  std::string store_url;  // a postgresql:// URL (--store, $AOS_STORE, the config's store:), or ""
  std::unique_ptr<aos::Store> store;
  std::unique_ptr<aos::LeaseRenewal> renewal;  // a shared store: this command's leases, renewed (not serve's)
  std::unique_ptr<aos::Clock> clock;
  std::unique_ptr<aos::StdCalls> calls;
  std::vector<std::string> leased;  // runs this command claimed (a shared store), given up at its end
  char** argv = nullptr;            // the command line, as main received it
};

struct Loaded {
  std::shared_ptr<aos::Program> program;
  const aos::Dag* dag = nullptr;
};

// Prints the problem and the usage; 64.
int Usage(const std::string& problem);
// The config, the data directory's path, the clock and the call handler;
// then the store (created when `create`). 0 or an exit status (printed).
int LoadSettings(Context& c);
int LoadContext(Context& c, bool create);
// Loads run `run_id` into `log`: 0, 66 (no such run) or 74 (printed).
int LoadRun(Context& c, const std::string& run_id, aos::RunLog& log);
// Checks a workflow's text; prints diagnostics. 0 or an exit code.
int LoadWorkflow(const Context& c, const std::string& path, std::string text, const std::string& workflow,
                 Loaded* out);
// The options a printed follow-up command needs to find this run again.
std::string Where(const Context& c);
std::string Q(const std::string& s);  // JSON-quoted
std::string Str(const Value* v);      // display text, "" for none
using aos::OutcomeJson;

// What starting and changing commands share (tools/aosrun.cc).
struct Progress;
aos::RunOptions MakeRunOptions(const Context& c, Progress* p);
int OpenStore(Context& c, bool create);
int ExitFor(aos::RunStatus s);
// Prints a run's outcome as the command reports it; its exit status.
int Report(const Context& c, const std::string& run_id, const aos::RunOutcome& o);
// Writes one whole line to stdout with one write(2).
void WriteLine(const std::string& line);

// The CLI's side of serve (tools/aosrun_served.cc): asking it while it holds
// the data directory, and the serve and reload commands.
struct ServeAnswer {
  int rc = kExitOk;  // set when the answer is not an outcome (printed already)
  int status = 0;    // the HTTP status
  bool outcome = false;
  std::string run_id;
  aos::RunOutcome o;
};
// nullopt: no serve holds the directory.
std::optional<ServeAnswer> AskServe(Context& c, const std::string& method, const std::string& path,
                                    const std::string& body);
// AskServe, reporting the outcome as the command would. -1: no serve runs.
int ViaServe(Context& c, const std::string& method, const std::string& path, const std::string& body);
// --batch through serve; -1: no serve.
int BatchViaServe(Context& c, const aos::Dag& dag, const std::vector<Value>& inputs,
                  const std::vector<std::string>& ids);
// The workflow files of `serve` (FILE or DIR arguments), checked;
// diagnostics go to `report`. 0 or an exit code.
int LoadServed(Context& c, std::vector<std::pair<std::shared_ptr<aos::Program>, std::string>>* out,
               std::ostream& report);
// The signals serve takes on a thread of its own: SIGTERM, SIGINT, SIGHUP.
sigset_t ServeSignals();
// `aosrun serve`: tools/serve_command.cc in aosrun-serve, which holds the
// HTTP server; tools/serve_exec.cc in aosrun, which becomes aosrun-serve.
int CmdServe(Context& c);
int CmdReload(Context& c);

// The commands that only read (tools/aosrun_inspect.cc).
int CmdRuns(Context& c, const std::string& only);
int CmdInbox(Context& c);
int CmdLog(Context& c);
int CmdState(Context& c);
int CmdCost(Context& c);
int CmdTrace(Context& c);
int CmdVerify(Context& c);
int CmdMigrateStore(Context& c);
int CmdCopy(Context& c);
// The store's name in messages: the data directory, or the URL without its password.
std::string StoreName(const Context& c);
int CmdSchema(Context& c);
int CmdMigrate(Context& c);
int CmdHistory(Context& c);
// Runs the migrations `program` needs (runtime/migrate.h), reporting
// progress; kExitInvalid when one stops.
int RunMigrations(Context& c, const aos::Program& program, std::ostream& report, const std::string& only = "");

}  // namespace aosrun

#endif  // AOS_TOOLS_AOSRUN_CLI_H_
