// Runner: executes one run of a checked workflow on its RunLog. It computes
// the ready set from the DAG and the RunState (no I/O), evaluates arguments
// with the expression evaluator, runs calls that leave the process on worker
// threads (at most `concurrency` at once, and `for ... max N` items), runs
// entity and kv calls inline, and records every outcome as events.
//
// Run() returns when the run completes, fails, or waits (an approval, a timer
// or signal not due within max_inline_wait, a long retry delay). Resuming is
// building a Runner on a loaded RunLog and calling Run() again: the same code
// runs whether the state came from live appends or from replay.
//
// Durability (runtime.md §3): the log is synced before every effect attempt
// (its EffectIntent), when the run starts waiting and when it ends; other
// events are group-committed, unsynced, in between. Durability::kStrict
// syncs every batch.
#ifndef AOS_RUNTIME_RUNNER_H_
#define AOS_RUNTIME_RUNNER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lang/checker.h"
#include "lang/dag.h"
#include "runtime/calls.h"
#include "runtime/clock.h"
#include "runtime/codec.h"  // Digest
#include "runtime/config.h"
#include "runtime/run_log.h"

namespace aos {

enum class Durability { kDefault, kStrict };

struct RunOptions {
  int concurrency = 8;
  Durability durability = Durability::kDefault;
  // A timer or retry due within this is slept through; later ones make the
  // run wait (exit 75) until `aosrun resume`.
  int64_t max_inline_wait_ms = 60'000;
  const Config* config = nullptr;  // models for agents and llm.chat
  // false: the run's last batch (RunCompleted, RunFailed, RunWaiting) is
  // written unsynced and the caller syncs later — `aosrun --batch` group-
  // commits the ends of many runs in one sync. Effect intents stay synced.
  bool sync_at_end = true;
  // Offline runs (aoscheck test): secret("NAME") that is not set reads as
  // the placeholder "<secret NAME>" instead of failing.
  bool placeholder_secrets = false;
  // Called after each statement finishes: (finished, total known, instance).
  std::function<void(size_t, size_t, const std::string&)> progress;
};

struct RunOutcome {
  RunStatus status = RunStatus::kRunning;
  Value output;
  Value error;       // {kind, message, step}
  Value waiting_on;  // [{kind, name, ask, due}]
};

// "" when every env("NAME") the workflow can reach (its statements, and the
// connectors and agents they call) is set; else what is missing and where.
// An env() under default() or coalesce() may be unset. `aosrun` checks this
// before a run starts; `aoscheck test` (mocked calls) does not.
std::string MissingEnv(const Program& program, const Dag& dag);

// Types `given` (a map of input values, from --input-json or a --batch
// line) by the workflow's parameters, and completes it with their defaults.
// false with *error for a missing, unknown or mistyped input. Nothing is
// written: callers check inputs before they touch the data directory.
bool PrepareInputs(const Program& program, const Dag& dag, const Value& given, Value* inputs, std::string* error);

// Appends the RunStarted event of a new run on `log` (after log.Begin), with
// the inputs (PrepareInputs is applied again) and the env() values the
// program reads. false with *error for bad inputs.
// `config_hash` identifies the configuration the run started with (a digest
// of aos.yaml's text; "" for the defaults).
bool StartRun(RunLog& log, const Program& program, const Dag& dag, const std::string& file,
              const std::string& source, const Value& inputs, bool replay_effects,
              std::string* error, const std::string& config_hash = "");

class Runner {
 public:
  Runner(RunLog& log, const Program& program, const Dag& dag, CallHandler& calls, Clock& clock,
         RunOptions options);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  RunOutcome Run();
  // Cancels a run that has not ended: compensates completed effects (as a
  // failure with `on failure compensate` would) and records RunCancelled.
  RunOutcome Cancel();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

RunOutcome OutcomeOf(const RunState& s);

// Upgrades (runtime.md §4): each statement's definition digest, by DAG node
// name — its source text with whitespace runs collapsed (a `for` by its
// header only, so that changing its body is judged statement by statement).
std::map<std::string, std::string> DefinitionDigests(const Dag& dag);

// What blocks resuming `state` (started on `current`) with `next`: each
// statement that has completed (or been skipped) in the run and whose
// definition changed or disappeared, as "name: what". Empty: the upgrade
// is safe; new statements and changed pending ones are fine.
std::vector<std::string> UpgradeBlockers(const Dag& current, const Dag& next, const RunState& state);

}  // namespace aos

#endif  // AOS_RUNTIME_RUNNER_H_
