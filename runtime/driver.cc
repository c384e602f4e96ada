#include "runtime/driver.h"

#include <chrono>
#include <future>

#include "lang/diagnostic.h"
#include "runtime/run_log.h"

namespace aos {

Driver::Driver(Store& store, Clock& clock, CallHandler& calls, RunOptions base)
    : store_(store), clock_(clock), calls_(calls), base_(std::move(base)) {
  base_.max_inline_wait_ms = 0;  // every wait goes to the due index
  base_.progress = nullptr;
}

void Driver::AddProgram(std::shared_ptr<Program> program, const std::string& path, const std::string& text) {
  for (const auto& dag : program->workflows) {
    Loaded l{program, dag.get()};
    by_name_[dag->workflow->name] = l;
    by_text_[Digest(text) + "|" + dag->workflow->name] = l;
  }
  (void)path;
}

const Driver::Loaded* Driver::ForText(const std::string& path, const std::string& text, const std::string& workflow) {
  const std::string key = Digest(text) + "|" + workflow;
  if (auto it = by_text_.find(key); it != by_text_.end()) return &it->second;
  CheckOptions opts;
  if (base_.config) {
    opts.known_models.emplace();
    for (const auto& [name, m] : base_.config->models) opts.known_models->insert(name);
  }
  Diagnostics diags;
  std::shared_ptr<Program> program = LoadProgram(path.empty() ? "<stored>" : path, text, opts, diags);
  if (diags.has_errors()) return nullptr;
  std::string error;
  const Dag* dag = program->FindWorkflow(workflow, &error);
  if (!dag) return nullptr;
  return &(by_text_[key] = Loaded{program, dag});
}

const Dag* Driver::DagOf(const RunState& s, const Program** program) {
  const Loaded* l = ForText(s.file, s.source, s.workflow);
  if (!l) return nullptr;
  if (program) *program = l->program.get();
  return l->dag;
}

RunOutcome Driver::RunIt(RunLog& log, const Loaded& w) {
  RunOutcome o = Runner(log, *w.program, *w.dag, calls_, clock_, base_).Run();
  Index(log.state().run_id, o);
  return o;
}

void Driver::Index(const std::string& run_id, const RunOutcome& o) {
  int64_t due = 0;
  if (o.status == RunStatus::kWaiting && o.waiting_on.kind() == ValueKind::kList) {
    for (const auto& w : o.waiting_on.as_list()) {
      const Value* d = w.Find("due");
      if (d && d->kind() == ValueKind::kTimestamp && (!due || d->as_time().nanos < due)) due = d->as_time().nanos;
    }
  }
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
  for (const auto& r : ListRuns(store_)) {
    if (r.status == RunStatus::kRunning) {
      RunOutcome o;
      std::string error;
      Continue(r.run_id, &o, &error);  // a damaged run stays as it is
    } else if (r.status == RunStatus::kWaiting) {
      RunOutcome o;
      o.status = r.status;
      o.waiting_on = r.waiting_on;
      Index(r.run_id, o);
    }
  }
}

Driver::Started Driver::Start(const std::string& name, const Value& inputs, const std::string& run_id) {
  Started s;
  const std::string id = run_id.empty() ? NewRunId() : run_id;
  if (!ValidRunId(id)) {
    s.status = 400;
    s.error = "'" + id + "' is not a run id (1-64 of A-Z a-z 0-9 . _ -)";
    return s;
  }
  s.run_id = id;
  auto w = by_name_.find(name);
  if (w == by_name_.end()) {
    s.status = 404;
    s.error = "no workflow '" + name + "' is served";
    return s;
  }
  RunLog log(store_, clock_);
  if (store_.Get(Column::kRuns, id)) {
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
  if (!PrepareInputs(*w->second.program, *w->second.dag, inputs, &typed, &s.error)) {
    s.status = 400;
    return s;
  }
  if (std::string missing = MissingEnv(*w->second.program, *w->second.dag); !missing.empty()) {
    s.status = 400;
    s.error = missing;
    return s;
  }
  log.Begin(id);
  const std::string& text = w->second.dag->source->text();
  if (!StartRun(log, *w->second.program, *w->second.dag, w->second.dag->source->path(), text, typed, false, &s.error)) {
    s.status = 400;
    return s;
  }
  log.Flush(false);
  s.status = 201;
  s.outcome = RunIt(log, w->second);
  return s;
}

bool Driver::Continue(const std::string& run_id, RunOutcome* out, std::string* error) {
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
  *out = Runner(log, *w->program, *w->dag, calls_, clock_, base_).Cancel();
  Index(run_id, *out);
  return true;
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
      work();
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
    if (!due_.empty() && due_.begin()->first <= now) {
      const std::string run = due_.begin()->second;
      due_.erase(due_.begin());
      due_of_.erase(run);
      lock.unlock();
      RunOutcome o;
      std::string error;
      Continue(run, &o, &error);
      lock.lock();
      continue;
    }
    if (due_.empty()) {
      cv_.wait(lock);
    } else {
      cv_.wait_for(lock, std::chrono::nanoseconds(due_.begin()->first - now));
    }
  }
}

}  // namespace aos
