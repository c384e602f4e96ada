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
#include <memory>
#include <string>
#include <vector>

#include "lang/checker.h"
#include "lang/dag.h"
#include "runtime/calls.h"
#include "runtime/clock.h"
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
  // Called after each statement finishes: (finished, total known, instance).
  std::function<void(size_t, size_t, const std::string&)> progress;
};

struct RunOutcome {
  RunStatus status = RunStatus::kRunning;
  Value output;
  Value error;       // {kind, message, step}
  Value waiting_on;  // [{kind, name, ask, due}]
};

// Builds the RunStarted event of a new run on `log` (after log.Begin): types
// and completes the inputs from the parameters' defaults and records the
// env() values the program reads. false with *error for a missing or
// mistyped input.
bool StartRun(RunLog& log, const Program& program, const Dag& dag, const std::string& file,
              const std::string& source, const Value& inputs, bool replay_effects,
              std::string* error);

// A stable digest of text (FNV-1a 64, hex), for source and payload hashes.
std::string Digest(std::string_view text);

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

}  // namespace aos

#endif  // AOS_RUNTIME_RUNNER_H_
