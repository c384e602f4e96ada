#include "runtime/driver.h"

#include <chrono>
#include <cstdio>
#include <future>

#include <spdlog/spdlog.h>

#include <date/tz.h>

#include "lang/cron.h"
#include "lang/diagnostic.h"
#include "lang/eval.h"
#include "runtime/metrics.h"
#include "runtime/operations.h"
#include "runtime/transforms.h"
#include "runtime/run_log.h"

namespace aos {

// Holds a run's lock for a scope; the thread that holds it may take it again.
// On a store several workers share it holds the run's lease too: claimed
// after the lock (waiting up to `wait_ms` for another worker to give the run
// up, else RunBusy), given up with it. With `claim` false the caller claims
// once it knows whether the run exists (Claim, ClaimNew).
class Driver::RunGuard {
 public:
  RunGuard(Driver& d, const std::string& id, int64_t wait_ms = kLeaseWaitMs, bool claim = true) : d_(d), id_(id) {
    thread_local std::set<std::string>* held = nullptr;
    if (!held) held = new std::set<std::string>();  // per thread, for the thread's life
    held_ = held;
    if (held_->count(id_)) return;
    {
      std::unique_lock<std::mutex> lock(d_.runs_mu_);
      d_.runs_cv_.wait(lock, [&] { return !d_.busy_.count(id_); });
      d_.busy_.insert(id_);
      held_->insert(id_);
      owned_ = true;
    }
    if (claim) Claim(wait_ms);
  }
  // A run not in the store yet: its first batch claims it, in its own
  // transaction (Store::ClaimNewRun).
  void ClaimNew() {
    if (!owned_ || leased_ || !d_.store_.Shared()) return;
    leased_ = d_.store_.ClaimNewRun(id_);
  }
  void Claim(int64_t wait_ms = kLeaseWaitMs) {
    if (!owned_ || leased_ || !d_.store_.Shared()) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    try {
      while (!d_.store_.ClaimRun(id_)) {
        if (std::chrono::steady_clock::now() >= deadline) {
          throw RunBusy("run " + id_ + " is being run by another worker");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    } catch (...) {
      // The due poll may hold the lease for this job (ClaimDueRuns): give it
      // up while the run is still this thread's, or it is renewed with no
      // one running it. (A claim whose answer was lost is not held: its row
      // runs out.)
      try {
        d_.store_.ReleaseRun(id_);
      } catch (const std::exception&) {
      }
      Unlock();
      throw;
    }
    leased_ = true;
  }
  ~RunGuard() {
    if (leased_) {
      try {
        d_.store_.ReleaseRun(id_);
      } catch (const std::exception& e) {
        spdlog::warn("serve: run {}: cannot give its lease up: {}", id_, e.what());  // it runs out
      }
    }
    if (owned_) Unlock();
  }

 private:
  void Unlock() {
    std::lock_guard<std::mutex> lock(d_.runs_mu_);
    d_.busy_.erase(id_);
    held_->erase(id_);
    owned_ = false;
    d_.runs_cv_.notify_all();
  }

  Driver& d_;
  std::string id_;
  std::set<std::string>* held_ = nullptr;
  bool owned_ = false;
  bool leased_ = false;
};

Driver::Driver(Store& store, Clock& clock, CallHandler& calls, RunOptions base, int workers, bool foreground)
    : store_(store), clock_(clock), calls_(calls), base_(std::move(base)), foreground_(foreground) {
  if (!foreground) {
    base_.max_inline_wait_ms = 0;  // every wait goes to the due index
    base_.progress = nullptr;
  }
  if (store_.Shared()) leases_ = std::thread([this] { Leases(); });
  for (int i = 0; i < workers; ++i) {
    pool_.emplace_back([this] {
      for (;;) {
        std::function<void()> job;
        {
          std::unique_lock<std::mutex> lock(pool_mu_);
          pool_cv_.wait(lock, [this] { return pool_stop_ || !jobs_.empty(); });
          if (jobs_.empty()) return;  // stopping, and nothing left
          job = std::move(jobs_.front());
          jobs_.pop_front();
        }
        try {
          job();
        } catch (const std::exception& e) {
          // A damaged run or a failing disk must not take serve down: the
          // run stays as it is until a request or a restart moves it.
          spdlog::error("serve: a run's work failed: {}", e.what());
          std::fprintf(stderr, "serve: a run's work failed: %s\n", e.what());
        } catch (...) {
          std::fprintf(stderr, "serve: a run's work failed\n");
        }
      }
    });
  }
}

Driver::~Driver() {
  // The pool finishes its runs first, while their leases are still renewed.
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    pool_stop_ = true;
  }
  pool_cv_.notify_all();
  for (auto& t : pool_) t.join();
  if (leases_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(leases_mu_);
      leases_stop_ = true;
    }
    leases_cv_.notify_all();
    leases_.join();
  }
}

void Driver::Submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    jobs_.push_back(std::move(job));
  }
  pool_cv_.notify_one();
}

bool Driver::WithRun(const std::string& run_id, const std::function<void()>& work) {
  if (!accepting()) return false;
  RunGuard guard(*this, run_id);
  work();
  return true;
}

bool Driver::accepting() {
  std::lock_guard<std::mutex> lock(mu_);
  return !stopping_;
}

void Driver::AddProgram(std::shared_ptr<Program> program, const std::string& text) {
  std::unique_lock<std::mutex> programs(programs_mu_);
  for (const auto& dag : program->workflows) {
    Loaded l{program, dag.get()};
    by_name_[dag->workflow->name] = l;
    // Never replaced: runs and requests hold pointers into these programs.
    by_text_.try_emplace(Digest(text) + "|" + std::to_string(text.size()) + "|" + dag->workflow->name, l);
  }
  for (const TriggerDecl* t : program->triggers) {
    if (t->webhook && t->webhook->kind == ExprKind::kLiteral && t->webhook->literal().kind() == ValueKind::kString) {
      hooks_[t->webhook->literal().as_string()] = {program, t};
    } else if (t->schedule || t->every) {
      Timed timed;
      timed.program = program;
      timed.trigger = t;
      if (t->schedule) {
        std::string error;
        timed.cron = ParseCron(t->schedule->literal().as_string(), &error);
        timed.zone = FindTimeZone(t->timezone ? t->timezone->literal().ToDisplayString() : "UTC", &error);
      }
      timed_[t->name] = std::move(timed);
      std::lock_guard<std::mutex> lock(mu_);
      fire_at_.erase(t->name);  // planned again (a reload may change it)
    }
  }
  programs.unlock();
  if (recovered_) PlanTriggers(false);
}

void Driver::ReplacePrograms(const std::vector<std::pair<std::shared_ptr<Program>, std::string>>& programs) {
  {
    std::lock_guard<std::mutex> programs_lock(programs_mu_);
    by_name_.clear();
    hooks_.clear();
    timed_.clear();
    std::lock_guard<std::mutex> lock(mu_);
    fire_at_.clear();
  }
  for (const auto& [program, text] : programs) AddProgram(program, text);
}

std::string Driver::TriggerRunId(const std::string& trigger, const std::string& key) {
  const std::string id = trigger + "." + key;
  return ValidRunId(id) ? id : (trigger.substr(0, 40) + "." + Digest(key));
}

std::string Driver::FireRunId(const std::string& trigger, int64_t at) {
  // 2026-11-30T08:00:00Z -> 20261130T080000Z: run id characters only.
  std::string compact;
  for (char c : FormatTimestamp(Timestamp{at}).substr(0, 19)) {
    if (c != '-' && c != ':') compact += c;
  }
  return TriggerRunId(trigger, compact + "Z");
}

std::optional<std::string> Driver::Secret(const std::string& name) {
  return LookupSecret(base_.config, name);
}

const TriggerDecl* Driver::Webhook(const std::string& path, std::shared_ptr<Program>* program) {
  std::lock_guard<std::mutex> lock(programs_mu_);
  auto it = hooks_.find(path);
  if (it == hooks_.end()) return nullptr;
  *program = it->second.first;  // keeps the trigger alive through a reload
  return it->second.second;
}

namespace {

// A trigger's expressions: its binding (fired_at or request), and secret().
class TriggerEnv : public TransformEnv {
 public:
  TriggerEnv(Driver& d, const Program& program) : TransformEnv(program), d_(d) {}
  std::optional<Value> Secret(std::string_view name) override {
    if (auto v = d_.Secret(std::string(name))) return Value::String(*v);
    return std::nullopt;
  }

 private:
  Driver& d_;
};

}  // namespace

RunOutcome Driver::Fire(const Program& program, const TriggerDecl& t, const std::string& bound_name,
                        const Value& binding, const std::string& run_id, int* http, std::string* error,
                        std::string* fired_run) {
  TriggerEnv env(*this, program);
  env.Set(bound_name, binding);
  auto eval = [&](const Expr& e, Value* out) {
    EvalResult r = Evaluate(e, env);
    if (!r.ok()) {
      *error = "trigger " + t.name + ": " + r.error().message;
      return false;
    }
    *out = r.value();
    return true;
  };
  RunOutcome o;
  if (t.start) {
    ValueMap inputs;
    for (size_t i = 0; i < t.start->args.size(); ++i) {
      Value v;
      if (!eval(*t.start->args[i], &v)) return *http = 400, o;
      inputs.emplace_back(Value::String(std::string(t.start->arg_names[i])), v);
    }
    Started st = Start(t.start->callee, Value::Map(std::move(inputs)), run_id);
    *http = st.status;
    *error = st.error;
    *fired_run = st.run_id;
    return st.outcome;
  }
  Value name, to, data;
  if (!eval(*t.signal, &name) || !eval(*t.signal_to, &to) || (t.signal_with && !eval(*t.signal_with, &data))) {
    return *http = 400, o;
  }
  *fired_run = to.ToDisplayString();
  if (!ValidRunId(*fired_run)) {
    *http = 404;
    *error = "no run " + *fired_run;
    return o;
  }
  RunGuard guard(*this, *fired_run);
  RunLog log(store_, clock_);
  bool ours = false;
  if (!ValidRunId(*fired_run) || !store_.Get(Column::kRuns, *fired_run) || !log.Load(*fired_run, error)) {
    *http = 404;
    if (error->empty()) *error = "no run " + *fired_run;
    return o;
  }
  // A webhook signals runs of its own file's workflows only.
  for (const auto& d : program.workflows) ours = ours || d->workflow->name == log.state().workflow;
  if (!ours) {
    *http = 404;
    *error = "no run " + *fired_run + " of this trigger's workflows";
    return o;
  }
  // `run_id` is the delivery's identity (TRIGGER.<key>): a sender's retry
  // of a delivery already recorded gets the run as it is, not a second signal.
  if (Delivered(store_, run_id)) {
    *http = 200;
    return OutcomeOf(log.state());
  }
  const Dag* dag = log.state().Finished() ? nullptr : DagOf(log.state(), nullptr);
  const OpResult r = DeliverSignal(log, dag, name.ToDisplayString(), data, run_id);
  if (r.status != OpStatus::kDone) {
    *http = 409;
    *error = r.message;
    return o;
  }
  if (log.state().status != RunStatus::kWaiting) {
    *http = 202;
    return OutcomeOf(log.state());
  }
  *http = 200;
  const Loaded* w = ForText(log.state().file, log.state().source, log.state().workflow);
  return w ? RunIt(log, *w) : OutcomeOf(log.state());
}

int64_t Driver::NextOf(const Timed& t, int64_t after) const {
  const TriggerDecl& d = *t.trigger;
  if (d.every && d.every->literal().kind() == ValueKind::kDuration) return after + d.every->literal().as_duration().nanos;
  if (!t.cron || !t.zone) return 0;
  return NextFire(*t.cron, t.zone, after).value_or(0);
}

// When each timed trigger fires next. On recovery, a fire that was due
// (recorded as pending) but not recorded as done fires again, under the same
// run id (it continues the run if it got that far), whatever the missed
// policy: it was not missed, it was interrupted. Then a trigger with `missed
// run_once` whose fire time passed while serve was down fires once now, for
// the latest missed time since it last fired (or since it was first served);
// `skip` just goes on.
void Driver::PlanTriggers(bool recovering) {
  const int64_t now = clock_.NowNanos();
  std::map<std::string, Timed> timed;
  {
    std::lock_guard<std::mutex> lock(programs_mu_);
    timed = timed_;
  }
  for (const auto& [name, t] : timed) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (fire_at_.count(name)) continue;
    }
    auto read = [&](const std::string& what) -> int64_t {
      auto raw = store_.Get(Column::kMeta, what + name);
      return raw ? std::strtoll(raw->c_str(), nullptr, 10) : 0;
    };
    int64_t last = read("trigger-last:");
    const int64_t pending = read("trigger-pending:");
    if (!last) {
      // Never fired: missed times count from when it was first served.
      last = read("trigger-since:");
      if (!last) {
        WriteBatch b;
        b.Put(Column::kMeta, "trigger-since:" + name, std::to_string(now));
        store_.Write(b, false);
      }
    }
    if (recovering && pending && pending > last) {
      Submit([this, name = name, pending] { FireTimed(name, pending); });
      last = pending;
    }
    if (recovering && last && t.trigger->missed != "skip") {
      int64_t missed = 0;
      for (int64_t at = NextOf(t, last), n = 0; at && at <= now && n < 100000; at = NextOf(t, at), ++n) missed = at;
      if (missed) Submit([this, name = name, missed] { FireTimed(name, missed); });
    }
    int64_t next = NextOf(t, t.trigger->every && last ? std::max(last, now - (now - last) % std::max<int64_t>(
                                                                       1, t.trigger->every->literal().as_duration().nanos))
                                                      : now);
    while (next && next <= now) next = NextOf(t, next);
    std::lock_guard<std::mutex> lock(mu_);
    if (next) fire_at_[name] = next;
    cv_.notify_all();
  }
}

namespace {

// Who fires a start trigger's time on a store several workers share.
enum class FireOwner { kHere, kElsewhere, kUnknown };

// kHere: this worker claimed the run's lease; kElsewhere: the run is in the
// index (another worker started it); kUnknown: neither within `wait_ms`.
// A worker that claimed the fire and died before its run's first batch
// loses the lease within its time, and then this one claims it.
FireOwner ClaimFire(Store& store, const std::string& run_id, int64_t wait_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    if (store.Get(Column::kRuns, run_id)) return FireOwner::kElsewhere;
    if (store.ClaimRun(run_id)) return FireOwner::kHere;
    if (std::chrono::steady_clock::now() >= deadline) return FireOwner::kUnknown;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

void Driver::FireTimed(const std::string& name, int64_t at) {
  Timed timed;
  {
    std::lock_guard<std::mutex> lock(programs_mu_);
    auto found = timed_.find(name);
    if (found == timed_.end()) return;
    timed = found->second;
  }
  const Timed* it_timed = &timed;
  const std::string stamp = FormatTimestamp(Timestamp{at});
  const std::string run_id = FireRunId(name, at);
  int http = 0;
  std::string error, run;
  // Several workers on one store each fire every time; the run id makes it
  // one run. A start trigger's fire claims the run's lease before anything
  // runs (ClaimFire), so the workers that lose it run none of its steps;
  // they record the fire once the run is in the index. The lease is given
  // up at the end whatever happens. (A signal trigger's delivery id is its
  // guard: Delivered.)
  bool started_elsewhere = false;
  HeldLease fire_lease(store_, run_id);
  if (store_.Shared() && it_timed->trigger->start) {
    const FireOwner owner = ClaimFire(store_, run_id, kLeaseWaitMs);
    if (owner == FireOwner::kUnknown) {
      // Held, and no run yet, past a lease's time: left pending (a worker's
      // restart fires it again under the same run id).
      spdlog::warn("serve: trigger {} at {}: another worker holds the fire and has not started its run", name, stamp);
      return;
    }
    fire_lease.set_held(owner == FireOwner::kHere);
    started_elsewhere = owner == FireOwner::kElsewhere;
  }
  if (!started_elsewhere) {
    try {
      Fire(*it_timed->program, *it_timed->trigger, "fired_at", Value::Time(Timestamp{at}), run_id, &http, &error,
           &run);
    } catch (const RunBusy&) {
      http = 0;  // another worker runs it
    } catch (const LeaseLost&) {
      http = 0;  // another worker started it first
    }
  }
  if (http >= 400) {
    spdlog::error("serve: trigger {} at {} did not start its run: {}", name, stamp, error);
    std::fprintf(stderr, "serve: trigger %s at %s did not start its run: %s\n", name.c_str(), stamp.c_str(),
                 error.c_str());
  }
  // The fire is recorded once the run is: a crash in between fires the same
  // time again on restart (it is still pending), under the same run id,
  // which continues that run.
  WriteBatch b;
  b.Put(Column::kMeta, "trigger-last:" + name, std::to_string(at));
  b.Delete(Column::kMeta, "trigger-pending:" + name);
  store_.Write(b, true);
}

const Driver::Loaded* Driver::ForText(const std::string& path, const std::string& text, const std::string& workflow) {
  const std::string key = Digest(text) + "|" + std::to_string(text.size()) + "|" + workflow;
  // Entries are never erased or replaced, and map nodes stay put: the
  // pointer outlives the lock, and so does the program it points into.
  std::lock_guard<std::mutex> lock(programs_mu_);
  if (auto it = by_text_.find(key); it != by_text_.end()) {
    // The digest is 64-bit: the text itself decides.
    return it->second.dag->source->text() == text ? &it->second : nullptr;
  }
  Diagnostics diags;
  std::shared_ptr<Program> program =
      LoadProgram(path.empty() ? "<stored>" : path, text, CheckOptionsFor(base_.config), diags);
  if (diags.has_errors()) return nullptr;
  std::string error;
  const Dag* dag = program->FindWorkflow(workflow, &error);
  if (!dag) return nullptr;
  return &by_text_.try_emplace(key, Loaded{program, dag}).first->second;
}

const Dag* Driver::DagOf(const RunState& s, const Program** program) {
  const Loaded* l = ForText(s.file, s.source, s.workflow);
  if (!l) return nullptr;
  if (program) *program = l->program.get();
  return l->dag;
}

RunOutcome Driver::RunIt(RunLog& log, const Loaded& w) {
  RunOptions opt = base_;
  // Many runs at once (serve): their ends are synced together (GroupSync).
  // One run in the foreground syncs its own end, in the same write.
  if (!foreground_) opt.sync_at_end = false;
  // The caller's RunGuard gives the lease up after this; the run's last
  // batch can do it in its own transaction instead.
  log.release_with_end = store_.Shared();
  RunOutcome o = Runner(log, *w.program, *w.dag, calls_, clock_, opt).Run();
  log.release_with_end = false;
  if (!foreground_) GroupSync();
  Index(log.state().run_id, o);
  return o;
}

void Driver::GroupSync() {
  std::unique_lock<std::mutex> lock(sync_mu_);
  const uint64_t mine = ++sync_asked_;
  while (sync_done_ < mine) {
    if (!syncing_) {
      syncing_ = true;
      const uint64_t upto = sync_asked_;
      lock.unlock();
      try {
        store_.Sync();
      } catch (...) {
        lock.lock();
        syncing_ = false;
        sync_cv_.notify_all();
        throw;
      }
      lock.lock();
      syncing_ = false;
      sync_done_ = std::max(sync_done_, upto);
      sync_cv_.notify_all();
    } else {
      sync_cv_.wait(lock);
    }
  }
}

void Driver::Index(const std::string& run_id, const RunOutcome& o) {
  SetDue(run_id, o.status == RunStatus::kWaiting ? EarliestDue(o.waiting_on) : 0);
}

void Driver::Wake(const std::string& run_id) { SetDue(run_id, clock_.NowNanos()); }

void Driver::SetDue(const std::string& run_id, int64_t due) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = due_of_.find(run_id); it != due_of_.end()) {
    for (auto [b, e] = due_.equal_range(it->second); b != e; ++b) {
      if (b->second == run_id) {
        due_.erase(b);
        break;
      }
    }
    due_of_.erase(it);
  }
  if (due) {
    due_.emplace(due, run_id);
    due_of_[run_id] = due;
    cv_.notify_all();
  }
}

void Driver::Recover() {
  PlanTriggers(true);
  // Start-up reads the due column, not every run: the runs that were
  // running and the due times of the waiting ones. A data directory written
  // before the column existed is read through its run index once, and the
  // column filled from it.
  std::vector<std::string> running;
  if (store_.Get(Column::kMeta, "due-index")) {
    store_.Scan(Column::kDue, "", "", [&](std::string_view k, std::string_view) {
      int64_t due = 0;
      std::string run;
      SplitDueKey(k, &due, &run);
      if (due == 1) {
        running.push_back(run);
      } else if (due > 1) {
        std::lock_guard<std::mutex> lock(mu_);
        due_.emplace(due, run);
        due_of_[run] = due;
      }
      return true;
    });
  } else {
    WriteBatch backfill;
    for (const auto& r : ListRuns(store_)) {
      RunState s;
      s.run_id = r.run_id;
      s.status = r.status;
      s.waiting_on = r.waiting_on;
      if (const std::string key = DueKey(s); !key.empty()) backfill.Put(Column::kDue, key, "");
      if (r.status == RunStatus::kRunning) {
        running.push_back(r.run_id);
      } else if (r.status == RunStatus::kWaiting) {
        RunOutcome o;
        o.status = r.status;
        o.waiting_on = r.waiting_on;
        Index(r.run_id, o);
      }
    }
    backfill.Put(Column::kMeta, "due-index", "1");
    store_.Write(backfill, true);
  }
  cv_.notify_all();
  for (const auto& run : running) {
    Submit([this, run] { ContinueIfFree(run); });
  }
  recovered_ = true;
}

Driver::Started Driver::Start(const std::string& name, const Value& inputs, const std::string& run_id) {
  return Start(name, inputs, run_id, StartOptions());
}

RunOutcome Driver::Run(RunLog& log, std::shared_ptr<Program> program, const Dag& dag) {
  RunGuard guard(*this, log.state().run_id);
  if (store_.Shared()) {
    // Loaded before the lease was ours: another worker may have gone on.
    std::string error;
    const std::string id = log.state().run_id;
    if (!log.Load(id, &error)) throw StoreError(error);
  }
  if (log.state().Finished()) return OutcomeOf(log.state());
  return RunIt(log, Loaded{std::move(program), &dag});
}

Driver::Started Driver::Start(const std::string& name, const Value& inputs, const std::string& run_id,
                              const StartOptions& options) {
  Started s;
  const std::string id = run_id.empty() ? NewRunId() : run_id;
  if (!ValidRunId(id)) {
    s.status = 400;
    s.error = "'" + id + "' is not a run id (1-64 of A-Z a-z 0-9 . _ -)";
    return s;
  }
  s.run_id = id;
  Loaded started;
  {
    std::lock_guard<std::mutex> lock(programs_mu_);
    auto found = by_name_.find(name);
    if (found == by_name_.end()) {
      s.status = 404;
      s.error = "no workflow '" + name + "' is served";
      return s;
    }
    started = found->second;
  }
  const Loaded* w_loaded = &started;
  RunGuard guard(*this, id, kLeaseWaitMs, /*claim=*/false);
  RunLog log(store_, clock_);
  if (store_.Get(Column::kRuns, id)) {
    guard.Claim();  // then read: what it holds now is the owner's last word
    if (!log.Load(id, &s.error)) {
      s.status = 500;
      return s;
    }
    if (log.state().workflow != name) {
      s.status = 409;
      s.error = "run " + id + " is a run of workflow " + log.state().workflow + ", not of " + name;
      return s;
    }
    s.status = 200;
    if (log.state().Finished()) {
      s.outcome = OutcomeOf(log.state());
      return s;
    }
    const Loaded* stored = ForText(log.state().file, log.state().source, log.state().workflow);
    if (!stored) {
      s.status = 500;
      s.error = "the workflow text stored with run " + id + " no longer checks";
      return s;
    }
    s.outcome = RunIt(log, *stored);
    return s;
  }
  Value typed;
  if (!PrepareInputs(*w_loaded->program, *w_loaded->dag, inputs, &typed, &s.error)) {
    s.status = 400;
    return s;
  }
  // Offline runs (aoscheck test) need no environment, as they need no secrets.
  if (std::string missing = base_.placeholder_secrets ? "" : MissingEnv(*w_loaded->program, *w_loaded->dag);
      !missing.empty()) {
    s.status = 400;
    s.error = missing;
    return s;
  }
  guard.ClaimNew();
  log.Begin(id);
  const std::string& text = w_loaded->dag->source->text();
  if (!StartRun(log, *w_loaded->program, *w_loaded->dag, w_loaded->dag->source->path(), text, typed,
                options.replay_effects, &s.error, options.config_hash)) {
    s.status = 400;
    return s;
  }
  if (options.started) {
    log.Flush(false);
    options.started(id);
  }
  // RunStarted goes with the run's first batch (written before any call
  // starts and at its end, then group-synced before the answer): one write
  // instead of two for a run that runs through. Nobody has the id before.
  s.status = 201;
  s.outcome = RunIt(log, *w_loaded);
  return s;
}

void Driver::ContinueIfFree(const std::string& run_id) {
  RunOutcome o;
  std::string error;
  try {
    // A damaged run, or one whose text no longer checks, stays as it is.
    if (!Continue(run_id, &o, &error, 0)) spdlog::error("serve: run {}: {}", run_id, error);
  } catch (const RunBusy&) {
    // Another worker has it: its work, not ours.
  } catch (const LeaseLost& e) {
    spdlog::warn("serve: run {}: {}", run_id, e.what());  // taken over meanwhile: the new owner goes on
  }
}

void Driver::Leases() {
  // Renew often enough that a lease never runs out while this worker
  // lives. Claim due runs when the earliest due time known comes (another
  // worker's notification, or this worker's last look), and every second
  // for runs left running by a worker that stopped (their lease ran out).
  int64_t next_due = 0, last_look = 0;
  auto last_renewal = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(leases_mu_);
  while (!leases_stop_) {
    lock.unlock();
    int64_t notified = 0;
    try {
      notified = store_.WaitForDue(200);  // also the tick: Stop waits for at most this
    } catch (const std::exception& e) {
      spdlog::error("serve: leases: {}", e.what());
    }
    lock.lock();
    if (leases_stop_) break;
    lock.unlock();
    if (notified && (!next_due || notified < next_due)) next_due = notified;
    try {
      // Every second, however often notifications wake the loop.
      if (std::chrono::steady_clock::now() - last_renewal >= std::chrono::seconds(1)) {
        last_renewal = std::chrono::steady_clock::now();
        for (const auto& lost : store_.RenewLeases()) spdlog::warn("serve: run {}: its lease was taken over", lost);
      }
      const int64_t now = clock_.NowNanos();
      if (recovered_ && accepting() && (now - last_look >= 1'000'000'000 || (next_due && next_due <= now))) {
        last_look = now;
        // Claimed here, run in the pool: no more than it can start soon.
        int room = 0;
        {
          std::lock_guard<std::mutex> pool(pool_mu_);
          room = static_cast<int>(pool_.size()) * 2 - static_cast<int>(jobs_.size());
        }
        // Each claimed run is this worker's (no other claims it while the
        // lease lives): its job takes the run's guard (after any thread
        // here that has it), claims the lease again as its own and gives it
        // up at the end, whatever happens.
        for (const auto& run : store_.ClaimDueRuns(now, room, &next_due)) {
          Submit([this, run] { ContinueIfFree(run); });
        }
      }
    } catch (const std::exception& e) {
      spdlog::error("serve: leases: {}", e.what());
    }
    lock.lock();
  }
}

bool Driver::Continue(const std::string& run_id, RunOutcome* out, std::string* error, int64_t wait_ms) {
  RunGuard guard(*this, run_id, wait_ms);
  RunLog log(store_, clock_);
  if (!ValidRunId(run_id) || !log.Load(run_id, error)) return false;
  if (log.state().Finished()) {
    *out = OutcomeOf(log.state());
    Index(run_id, *out);
    return true;
  }
  const Loaded* w = ForText(log.state().file, log.state().source, log.state().workflow);
  if (!w) {
    *error = "the workflow text stored with run " + run_id + " no longer checks";
    return false;
  }
  *out = RunIt(log, *w);
  return true;
}

bool Driver::Cancel(const std::string& run_id, RunOutcome* out, std::string* error) {
  RunGuard guard(*this, run_id);
  RunLog log(store_, clock_);
  if (!ValidRunId(run_id) || !log.Load(run_id, error)) return false;
  if (log.state().Finished()) {
    *error = "run " + run_id + " has already ended (" + RunStatusName(log.state().status) + ")";
    return false;
  }
  const Loaded* w = ForText(log.state().file, log.state().source, log.state().workflow);
  if (!w) {
    *error = "the workflow text stored with run " + run_id + " no longer checks";
    return false;
  }
  const OpResult r = CancelRun(log, *w->program, *w->dag, calls_, clock_, base_, out);
  if (!r.ok()) {
    *error = r.message;
    return false;
  }
  Index(run_id, *out);
  return true;
}

OpResult Driver::Upgrade(const std::string& run_id, const std::string& file, const std::string& text, bool force,
                         std::vector<std::string>* blockers, RunOutcome* out) {
  RunGuard guard(*this, run_id);
  RunLog log(store_, clock_);
  std::string error;
  if (!ValidRunId(run_id) || !log.Load(run_id, &error)) return {OpStatus::kNotFound, error};
  const RunState& s = log.state();
  const Loaded* current = ForText(s.file, s.source, s.workflow);
  if (!s.Finished() && !current) {
    return {OpStatus::kConflict, "the workflow text stored with run " + run_id + " no longer checks"};
  }
  const Loaded* next = ForText(file, text, s.workflow);
  if (!next) {
    return {OpStatus::kInvalid, file + " does not check, or has no workflow " + s.workflow + " (aoscheck " + file + ")"};
  }
  const OpResult r = UpgradeRun(log, *next->program, s.Finished() ? *next->dag : *current->dag, *next->dag, file,
                                text, force, blockers);
  if (!r.ok()) return r;
  *out = RunIt(log, *next);
  return {};
}

size_t Driver::due_count() {
  std::lock_guard<std::mutex> lock(mu_);
  return due_.size();
}

bool Driver::Call(const std::function<void()>& work) {
  std::promise<void> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    work_.push_back([&] {
      try {
        work();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "serve: %s\n", e.what());
      }
      done.set_value();
    });
  }
  cv_.notify_all();
  done.get_future().wait();
  return true;
}

void Driver::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

void Driver::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!work_.empty()) {
      auto w = std::move(work_.front());
      work_.pop_front();
      lock.unlock();
      w();
      lock.lock();
      continue;
    }
    if (stopping_) return;
    const int64_t now = clock_.NowNanos();
    // The timed trigger due first, if it is due.
    std::string fire;
    int64_t fire_time = 0;
    for (const auto& [name, at] : fire_at_) {
      if (!fire_time || at < fire_time) fire_time = at, fire = name;
    }
    if (fire_time && fire_time <= now) {
      fire_at_.erase(fire);
      lock.unlock();
      // Durable before the fire is handed on and the next one computed: a
      // kill from here on fires this time again at the next start.
      try {
        WriteBatch b;
        b.Put(Column::kMeta, "trigger-pending:" + fire, std::to_string(fire_time));
        store_.Write(b, true);
      } catch (const std::exception& e) {
        spdlog::error("serve: trigger {}: cannot record its fire: {}", fire, e.what());
      }
      Submit([this, fire, fire_time] { FireTimed(fire, fire_time); });
      int64_t next = 0;
      {
        std::lock_guard<std::mutex> programs(programs_mu_);
        const auto t = timed_.find(fire);
        next = t == timed_.end() ? 0 : NextOf(t->second, fire_time);
        // Fired once for what was due; the next is in the future (a stall
        // never queues one fire per missed interval).
        while (next && next <= clock_.NowNanos()) next = NextOf(t->second, next);
      }
      lock.lock();
      if (next) fire_at_[fire] = next;
      continue;
    }
    if (!due_.empty() && due_.begin()->first <= now) {
      const std::string run = due_.begin()->second;
      metrics::ObserveLateness(now - due_.begin()->first);
      due_.erase(due_.begin());
      due_of_.erase(run);
      lock.unlock();
      Submit([this, run] { ContinueIfFree(run); });
      lock.lock();
      continue;
    }
    int64_t wake = due_.empty() ? 0 : due_.begin()->first;
    if (fire_time && (!wake || fire_time < wake)) wake = fire_time;
    if (!wake) {
      cv_.wait(lock);
    } else {
      cv_.wait_for(lock, std::chrono::nanoseconds(wake - now));
    }
  }
}

}  // namespace aos
