#include "runtime/run_log.h"

#include "runtime/metrics.h"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>

#include "runtime/codec.h"

namespace aos {

std::string EncodeRunIndex(const RunIndexEntry& e) {
  return EncodeValue(Value::MapOfUnique({
      {S("workflow"), S(e.workflow)},
      {S("status"), Value::Int(static_cast<int>(e.status))},
      {S("started_at"), Value::Int(e.started_at)},
      {S("updated_at"), Value::Int(e.updated_at)},
      {S("events"), Value::Int(static_cast<int64_t>(e.events))},
      {S("waiting_on"), e.waiting_on},
      {S("error"), e.error},
  }));
}

bool DecodeRunIndex(std::string_view run_id, std::string_view bytes, RunIndexEntry* out) {
  Value v;
  if (!DecodeValue(bytes, &v) || v.kind() != ValueKind::kMap) return false;
  auto i = [&](const char* k) {
    const Value* x = v.Find(k);
    return x && x->kind() == ValueKind::kInt ? x->as_int() : 0;
  };
  const Value* wf = v.Find("workflow");
  if (!wf || wf->kind() != ValueKind::kString) return false;
  out->run_id = std::string(run_id);
  out->workflow = wf->as_string();
  const int64_t st = i("status");
  if (st < 0 || st > static_cast<int>(RunStatus::kCancelled)) return false;
  out->status = static_cast<RunStatus>(st);
  out->started_at = i("started_at");
  out->updated_at = i("updated_at");
  out->events = static_cast<uint64_t>(i("events"));
  out->waiting_on = v.Find("waiting_on") ? *v.Find("waiting_on") : Value();
  out->error = v.Find("error") ? *v.Find("error") : Value();
  return true;
}

std::vector<RunIndexEntry> ListRuns(Store& store) {
  // A scan can pass over a damaged file without a word: check first.
  if (auto damage = store.CheckFiles(Column::kRuns); !damage.empty()) {
    throw StoreError("the run index is damaged, so runs would be missing from this listing: " + damage[0] +
                     " (aosrun verify names the runs it cannot read)");
  }
  return ListRunsUnchecked(store);
}

std::vector<RunIndexEntry> ListRunsUnchecked(Store& store) {
  std::vector<RunIndexEntry> runs;
  store.Scan(Column::kRuns, "", "", [&](std::string_view k, std::string_view v) {
    RunIndexEntry e;
    if (DecodeRunIndex(k, v, &e)) {
      runs.push_back(std::move(e));
    } else {
      e.run_id = std::string(k);
      e.workflow = "?";
      e.error = Value::String("damaged run index record");
      e.status = RunStatus::kFailed;
      runs.push_back(std::move(e));
    }
    return true;
  });
  return runs;
}

int64_t EarliestDue(const Value& waiting_on) {
  int64_t due = 0;
  if (waiting_on.kind() != ValueKind::kList) return 0;
  for (const auto& w : waiting_on.as_list()) {
    const Value* d = w.Find("due");
    if (d && d->kind() == ValueKind::kTimestamp && (!due || d->as_time().nanos < due)) due = d->as_time().nanos;
  }
  return due;
}

std::string DueKey(const RunState& s) {
  int64_t due = 0;
  if (s.status == RunStatus::kRunning) {
    due = 1;
  } else if (s.status == RunStatus::kWaiting) {
    due = s.woken ? 1 : EarliestDue(s.waiting_on);  // woken: it has work now, as a running run
  }
  if (due <= 0 || s.run_id.empty()) return "";
  std::string key;
  PutBigEndian64(key, static_cast<uint64_t>(due));
  return key + s.run_id;
}

void SplitDueKey(std::string_view key, int64_t* due, std::string* run_id) {
  *due = key.size() >= 8 ? static_cast<int64_t>(GetBigEndian64(key)) : 0;
  *run_id = key.size() > 8 ? std::string(key.substr(8)) : "";
}

bool ValidRunId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string NewRunId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char kAlphabet[] = "0123456789abcdefghijkmnpqrstuvwxyz";
  std::string id = "r-";
  uint64_t x = rng();
  for (int i = 0; i < 10; ++i) {
    id.push_back(kAlphabet[x % 34]);
    x /= 34;
  }
  return id;
}

uint64_t ScanRunEvents(Store& store, const std::string& run_id,
                       const std::function<bool(uint64_t, const Event*, const std::string&)>& visit,
                       uint64_t from) {
  const std::string prefix = EventPrefix(run_id);
  uint64_t n = from;
  store.Scan(Column::kEvents, prefix, EventKey(run_id, from), [&](std::string_view k, std::string_view v) {
    std::string error;
    Event e;
    if (k.size() != prefix.size() + 8) {
      return visit(n++, nullptr, "malformed key");
    }
    const uint64_t seq = GetBigEndian64(k.substr(prefix.size()));
    if (seq != n) {
      if (!visit(n, nullptr, "gap in the log: events " + std::to_string(n) + " to " +
                                 std::to_string(seq - 1) + " are missing")) {
        return false;
      }
    }
    n = seq + 1;
    if (!DecodeEvent(v, &e, &error)) return visit(seq, nullptr, "damaged: " + error);
    return visit(seq, &e, "");
  });
  return n;
}

RunLog::RunLog(Store& store, Clock& clock) : store_(store), clock_(clock), logger_(spdlog::get("aos")) {}

void RunLog::Begin(const std::string& run_id) {
  state_ = RunState();
  state_.run_id = run_id;
  batch_.clear();
  last_snapshot_ = 0;
  due_key_.clear();
}

bool RunLog::Load(const std::string& run_id, std::string* error) {
  Begin(run_id);
  const auto index = store_.Get(Column::kRuns, run_id);
  if (!index) {
    *error = "no run " + run_id + " in this data directory";
    return false;
  }
  uint64_t from = 0;
  if (auto snap = store_.Get(Column::kSnapshots, run_id); snap && snap->size() > 4) {
    // A snapshot is the encoded state and its CRC-32C (little endian).
    Value v;
    RunState s;
    const std::string_view body(snap->data(), snap->size() - 4);
    Reader crc(std::string_view(*snap).substr(snap->size() - 4));
    if (crc.Fixed32() == Crc32c(body) && DecodeValue(body, &v) && RunState::FromSnapshot(v, &s) &&
        s.run_id == run_id) {
      state_ = std::move(s);
      from = state_.next_seq;
      last_snapshot_ = from;
    }
    // A damaged snapshot is not fatal: the events are the truth.
  }
  // The events after the snapshot, each checked (ScanRunEvents), applied.
  loaded_from_ = from;
  bool ok = true;
  ScanRunEvents(
      store_, run_id,
      [&](uint64_t seq, const Event* e, const std::string& why) {
        if (!e) {
          *error = "run " + run_id + ": event " + std::to_string(seq) + ": " + why +
                   " (aosrun verify checks the whole data directory)";
          ok = false;
          return false;
        }
        state_.Apply(*e);
        return true;
      },
      from);
  if (!ok) return false;
  if (state_.next_seq == 0 || state_.workflow.empty()) {
    *error = "run " + run_id + " has no RunStarted event: its log is damaged";
    return false;
  }
  due_key_ = DueKey(state_);  // as the last flush wrote it (same batches)
  // The index is written in the same batches as the events: a log shorter
  // than it counts lost its tail (a scan passes over a damaged file).
  RunIndexEntry entry;
  if (DecodeRunIndex(run_id, *index, &entry) && state_.next_seq < entry.events) {
    *error = "run " + run_id + ": the log holds " + std::to_string(state_.next_seq) + " events, the run index counts " +
             std::to_string(entry.events) + ": its log is damaged (aosrun verify checks the whole data directory)";
    return false;
  }
  return true;
}

namespace {

std::string Text(const Value& v) { return v.kind() == ValueKind::kString ? v.as_string() : v.ToJson(); }

// The process log (the spdlog logger named "aos", which aosrun sets up; no
// logger, no logging): what
// happened to a run, one line per event, never an event's values (results
// and payloads may hold what the program chose to keep) — only names, keys,
// kinds and messages, which the runtime keeps free of secrets.
void LogEvent(spdlog::logger* logger, const std::string& run, uint64_t seq, const Event& e) {
  if (!logger || !logger->should_log(spdlog::level::info)) return;
  if (!logger->should_log(spdlog::level::debug) &&
      (e.type == EventType::kStepCompleted || e.type == EventType::kAttemptStarted ||
       e.type == EventType::kStepScheduled || e.type == EventType::kNondeterministicValue ||
       e.type == EventType::kEntityChanged || e.type == EventType::kStepSkipped || e.type == EventType::kTimerFired)) {
    return;  // the routine ones only at debug
  }
  const char* type = EventTypeName(e.type);
  switch (e.type) {
    case EventType::kRunStarted:
      logger->info("run {} started: workflow {}", run, events::Read<events::RunStarted>(e).workflow);
      break;
    case EventType::kEffectIntent:
      logger->info("run {} #{} {} effect intent, key '{}'", run, seq, e.step, events::Read<events::EffectIntent>(e).key);
      break;
    case EventType::kAttemptFailed: {
      const auto ev = events::Read<events::AttemptFailed>(e);
      logger->warn("run {} #{} {} attempt {} failed: {}: {}{}", run, seq, e.step, ev.attempt, ev.kind, ev.message,
                   ev.retryable ? " (retrying in " + std::to_string(ev.delay_ms) + " ms)" : "");
      break;
    }
    case EventType::kStepFailed: {
      const auto ev = events::Read<events::StepFailed>(e);
      logger->error("run {} #{} {} failed: {}: {}", run, seq, e.step, ev.kind, ev.message);
      break;
    }
    case EventType::kApprovalRequested:
      logger->info("run {} #{} {} waits for a decision ({})", run, seq, e.step,
                   events::Read<events::ApprovalRequested>(e).purpose);
      break;
    case EventType::kApprovalDecided: {
      const auto ev = events::Read<events::ApprovalDecided>(e);
      logger->info("run {} #{} {} {} by {}", run, seq, e.step, ev.approved ? "approved" : "rejected", ev.by);
      break;
    }
    case EventType::kRunFailed:
      logger->error("run {} failed: {}", run, Text(events::Read<events::RunFailed>(e).error));
      break;
    case EventType::kRunWaiting:
    case EventType::kRunCompleted:
    case EventType::kRunCancelled:
    case EventType::kRunResumed:
    case EventType::kRunUpgraded:
    case EventType::kRunRetried:
      logger->info("run {} #{} {}", run, seq, type);
      break;
    case EventType::kEntitiesMerged: {
      const auto ev = events::Read<events::EntitiesMerged>(e);
      logger->info("run {} #{} {} merged {} '{}' into '{}'", run, seq, e.step, ev.type, ev.from, ev.into);
      break;
    }
    default:
      logger->log(spdlog::level::debug, "run {} #{} {} {}", run, seq, type, e.step);
  }
}

}  // namespace

uint64_t RunLog::Append(EventType type, std::string step, Value data) {
  Event e;
  e.type = type;
  e.at_nanos = clock_.NowNanos();
  e.step = std::move(step);
  e.data = std::move(data);
  const uint64_t seq = state_.next_seq;
  batch_.Put(Column::kEvents, EventKey(state_.run_id, seq), EncodeEvent(e));
  if (release_with_end && (type == EventType::kRunWaiting || type == EventType::kRunCompleted ||
                           type == EventType::kRunFailed || type == EventType::kRunCancelled)) {
    batch_.release_run = state_.run_id;
  }
  state_.Apply(e);
  LogEvent(logger_.get(), state_.run_id, seq, e);
  metrics::CountEvent(e.type, e.data);
  return seq;
}

void RunLog::Flush(bool sync) {
  if (batch_.empty()) return;
  RunIndexEntry idx;
  idx.run_id = state_.run_id;
  idx.workflow = state_.workflow;
  idx.status = state_.status;
  idx.started_at = state_.started_at;
  idx.updated_at = state_.updated_at;
  idx.events = state_.next_seq;
  idx.waiting_on = state_.waiting_on;
  idx.error = state_.error;
  batch_.Put(Column::kRuns, state_.run_id, EncodeRunIndex(idx));
  // A woken run's record is written again (a log from before `woken`
  // existed has none, though Load works it out as written).
  if (std::string due = DueKey(state_); due != due_key_ || state_.woken) {
    if (!due_key_.empty() && due != due_key_) batch_.Delete(Column::kDue, due_key_);
    if (!due.empty()) batch_.Put(Column::kDue, due, "");
    due_key_ = std::move(due);
  }
  // Every snapshot_every events, or a quarter of the log when that is more:
  // a snapshot encodes the whole state, so on a long run fixed spacing
  // would make the snapshots' cost grow with the square of its length,
  // while a resume replays at most a quarter of the log.
  if (snapshot_every && state_.next_seq - last_snapshot_ >= std::max(snapshot_every, state_.next_seq / 4)) {
    std::string snap = EncodeValue(state_.ToSnapshot());
    PutFixed32(snap, Crc32c(snap));
    batch_.Put(Column::kSnapshots, state_.run_id, std::move(snap));
    last_snapshot_ = state_.next_seq;
  }
  ++flushes;
  // Clear before writing: a simulated crash inside Write must not leave the
  // batch to be written again by a later flush.
  WriteBatch b = std::move(batch_);
  batch_.clear();
  store_.Write(b, sync);
  // The process log reaches the OS with the events it describes, so a
  // killed process leaves the lines of what it recorded.
  if (logger_) logger_->flush();
}

}  // namespace aos
