// Driver: the runtime side of `aosrun serve`, and of `aosrun FILE` (one run
// in the foreground) and `aoscheck test` (one run over an in-memory store and
// a virtual clock). It owns the runs of one data directory: it starts and continues them, applies operator actions to them
// (through runtime/operations), and wakes each waiting run at its due time
// (a timer, a retry, an approval's timeout, an undo to try again) from one
// in-memory index of due times, sleeping until the earliest or until work
// arrives — no polling. Many runs go at once: the API's threads and a pool
// of workers (for due runs and timed triggers) each take the run they work
// on with a per-run lock, so a run is never touched by two things at once
// while a slow call in one run holds up no other.
//
// Ninja's split: the Runner decides and does what one run does next; the
// Driver decides which run goes next.
#ifndef AOS_RUNTIME_DRIVER_H_
#define AOS_RUNTIME_DRIVER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>
#include <string>

#include "lang/checker.h"
#include "lang/cron.h"
#include "runtime/calls.h"
#include "runtime/clock.h"
#include "runtime/operations.h"
#include "runtime/runner.h"
#include "runtime/store.h"

namespace aos {

// A run another worker executes (a store several workers share), and did
// not give up within the wait.
class RunBusy : public StoreError {
 public:
  using StoreError::StoreError;
};

class Driver {
 public:
  // `base` is applied to every run (config, concurrency). `workers` run due
  // runs and timed triggers (0: none, for a caller that never runs Loop).
  // Serve's waits are never slept inline: they go to the due index; with
  // `foreground` (`aosrun FILE`: one run, a person watching) the run sleeps
  // through short waits as base.max_inline_wait_ms says, and reports
  // progress through base.progress.
  Driver(Store& store, Clock& clock, CallHandler& calls, RunOptions base, int workers = 8,
         bool foreground = false);
  ~Driver();

  // Makes the workflows of a checked program startable by name. Runs keep
  // the text they started with; a program is also loaded from a run's
  // stored text when it is not one of these.
  void AddProgram(std::shared_ptr<Program> program, const std::string& text);
  // What a reload does: forgets the startable workflows, webhooks and timed
  // triggers (runs keep their programs), then adds `programs` (program and
  // text): what the files no longer declare stops being served.
  void ReplacePrograms(const std::vector<std::pair<std::shared_ptr<Program>, std::string>>& programs);

  // Continues every run that was running (the process stopped or was
  // killed) and indexes every waiting run's due time. Driver thread only.
  void Recover();
  // Executes posted work and due runs until Stop(). The driver thread.
  void Loop();
  // Makes Loop return once the work in hand is done. Any thread.
  void Stop();
  // Runs `work` on the driver thread and waits for it. Any thread but the
  // driver's. false when the driver is stopping (the work did not run).
  bool Call(const std::function<void()>& work);
  // Runs `work` on the calling thread holding run `run_id`'s lock (taken
  // again by the same thread, it is not waited for). false when stopping.
  bool WithRun(const std::string& run_id, const std::function<void()>& work);
  // Whether requests are still taken (false once Stop was called).
  bool accepting();

  // --- work for the driver thread (inside Call) -------------------------
  struct Started {
    int status = 0;      // 201 started, 200 an existing run continued, 4xx refused
    std::string error;   // why, when refused
    std::string run_id;
    RunOutcome outcome;
  };
  // How a start is recorded (RunStarted's fields) and announced.
  struct StartOptions {
    bool replay_effects = false;
    std::string config_hash;
    // Called once RunStarted is written (to the OS), before the run goes:
    // `aosrun FILE` prints the id, which `aosrun resume ID` then finds.
    std::function<void(const std::string& run_id)> started;
  };
  // Starts workflow `name` with `inputs` under `run_id` (a new id when
  // empty); an existing id is continued (as aosrun FILE --run-id does).
  Started Start(const std::string& name, const Value& inputs, const std::string& run_id,
                const StartOptions& options);
  Started Start(const std::string& name, const Value& inputs, const std::string& run_id);
  // Continues the run loaded in `log` with `program`'s workflow `dag` (the
  // run's stored text, already checked: `aosrun resume`, a decision).
  RunOutcome Run(RunLog& log, std::shared_ptr<Program> program, const Dag& dag);
  // Continues a run (after a decision or a signal, or when due). false with
  // *error when it cannot be loaded. On a shared store it first claims the
  // run's lease, waiting up to `wait_ms` for another worker to give it up
  // (then RunBusy).
  bool Continue(const std::string& run_id, RunOutcome* out, std::string* error, int64_t wait_ms = kLeaseWaitMs);
  // How long an operation waits for another worker to give a run up.
  static constexpr int64_t kLeaseWaitMs = 8000;
  // Cancels a run, compensating its effects.
  bool Cancel(const std::string& run_id, RunOutcome* out, std::string* error);
  // Moves a run to `text` (the file `file`) and continues it
  // (operations' UpgradeRun: *blockers are the completed statements that
  // changed; refused unless `force`). kInvalid when the text does not check
  // or lacks the run's workflow.
  OpResult Upgrade(const std::string& run_id, const std::string& file, const std::string& text, bool force,
                   std::vector<std::string>* blockers, RunOutcome* out);
  // Makes a run due now: a worker continues it (a decision recorded
  // without waiting for the run, `aosrun approve --no-continue`). Any thread.
  void Wake(const std::string& run_id);
  // The workflow of a loaded run, for operations that check against it.
  const Dag* DagOf(const RunState& s, const Program** program);

  // --- triggers --------------------------------------------------------
  // The run id a trigger's firing gets: deterministic, so that a trigger
  // can never start the same work twice. A schedule's is NAME.<fire time as
  // 20261130T080000Z>; a webhook's NAME.<key> (a digest when the key is not
  // made of run id characters or is too long).
  static std::string TriggerRunId(const std::string& trigger, const std::string& key_or_time);
  // A schedule's: TriggerRunId(trigger, "20261130T080000Z") for fire time `at`.
  static std::string FireRunId(const std::string& trigger, int64_t at);
  // Fires trigger `t` of `program` with `binding` (fired_at or request)
  // bound: starts its workflow under `run_id`, or delivers its signal (then
  // `run_id` names the delivery: a delivery already recorded answers 200
  // with the run as it is, and is not signalled again). *http is 201/200
  // (a start, or an existing run), 200/202 (a signal), or 4xx with *error.
  RunOutcome Fire(const Program& program, const TriggerDecl& t, const std::string& bound_name, const Value& binding,
                  const std::string& run_id, int* http, std::string* error, std::string* fired_run);
  // The webhook trigger listening on `path`, and its program; null if none.
  const TriggerDecl* Webhook(const std::string& path, std::shared_ptr<Program>* program);
  // secret("NAME") as a trigger reads it: the environment, then the config's
  // secrets file.
  std::optional<std::string> Secret(const std::string& name);

  Store& store() { return store_; }
  Clock& clock() { return clock_; }
  // Runs waiting with a due time (for /metrics).
  size_t due_count();

 private:
  struct Loaded {
    std::shared_ptr<Program> program;
    const Dag* dag = nullptr;
  };
  const Loaded* ForText(const std::string& path, const std::string& text, const std::string& workflow);
  RunOutcome RunIt(RunLog& log, const Loaded& w);
  // Group commit: durable on return, one sync for every run that ended
  // meanwhile (runs end unsynced; effect intents still sync themselves).
  void GroupSync();
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  uint64_t sync_asked_ = 0, sync_done_ = 0;
  bool syncing_ = false;
  void Index(const std::string& run_id, const RunOutcome& o);
  void SetDue(const std::string& run_id, int64_t due);  // 0: not due
  // Schedules: the next fire time of every timed trigger, and firing them.
  struct Timed {
    std::shared_ptr<Program> program;
    const TriggerDecl* trigger = nullptr;
    // A schedule's cron and zone, read once when the program is added
    // (unset for `every`, or when the text does not read: never fires).
    std::optional<CronSpec> cron;
    const date::time_zone* zone = nullptr;
  };
  void PlanTriggers(bool recovering);
  void FireTimed(const std::string& name, int64_t at);
  int64_t NextOf(const Timed& t, int64_t after) const;

  Store& store_;
  Clock& clock_;
  CallHandler& calls_;
  RunOptions base_;
  bool foreground_ = false;
  std::map<std::string, Loaded> by_name_;  // startable workflows
  std::map<std::string, Loaded> by_text_;  // digest(text) + workflow -> program
  std::map<std::string, Timed> timed_;     // schedule and every triggers, by name
  std::map<std::string, std::pair<std::shared_ptr<Program>, const TriggerDecl*>> hooks_;  // path -> trigger

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> work_;
  std::multimap<int64_t, std::string> due_;   // due time -> run
  std::map<std::string, int64_t> due_of_;     // run -> its entry in due_
  std::map<std::string, int64_t> fire_at_;    // timed trigger -> its next fire time
  bool stopping_ = false;
  std::atomic<bool> recovered_{false};  // read by the leases thread

  // Per-run locks: the runs being worked on.
  class RunGuard;
  std::mutex runs_mu_;
  std::condition_variable runs_cv_;
  std::set<std::string> busy_;
  // What the loaded programs hold (by_name_, by_text_, timed_, hooks_).
  std::mutex programs_mu_;
  // The workers: due runs and timed triggers, off the driver thread.
  void Submit(std::function<void()> job);
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> pool_;
  bool pool_stop_ = false;

  // A store several workers share (Store::Shared): this worker renews its
  // leases, and claims from the due column runs due or left running by a
  // worker that stopped (their lease ran out), when the earliest due time
  // it knows of comes (other workers notify theirs) and every second; it
  // continues each in the pool.
  void Leases();
  void ContinueIfFree(const std::string& run_id);
  std::thread leases_;
  std::mutex leases_mu_;
  std::condition_variable leases_cv_;
  bool leases_stop_ = false;
};

}  // namespace aos

#endif  // AOS_RUNTIME_DRIVER_H_
