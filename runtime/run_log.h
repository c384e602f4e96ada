// RunLog: a run's events in the Store — loading (snapshot, then the events
// after it, each checked), appending in batches with the run index and
// snapshots kept beside them, and the run index that `aosrun runs`, `status`
// and `inbox` read.
//
// Every append goes through RunLog::Append, which encodes the event, adds it
// to the pending batch and applies it to the RunState: live running and
// replay share RunState::Apply. Flush(sync) writes the batch atomically.
#ifndef AOS_RUNTIME_RUN_LOG_H_
#define AOS_RUNTIME_RUN_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/clock.h"
#include "runtime/event.h"
#include "runtime/events.h"
#include "runtime/run_state.h"
#include "runtime/store.h"

namespace spdlog {
class logger;
}

namespace aos {

// How a run is found in `aosrun runs`: one record per run in Column::kRuns.
struct RunIndexEntry {
  std::string run_id;
  std::string workflow;
  RunStatus status = RunStatus::kRunning;
  int64_t started_at = 0;
  int64_t updated_at = 0;
  uint64_t events = 0;
  Value waiting_on;  // list of {kind, name, ask, due}
  Value error;
};

std::string EncodeRunIndex(const RunIndexEntry& e);
bool DecodeRunIndex(std::string_view run_id, std::string_view bytes, RunIndexEntry* out);
// Every run in the index. Throws StoreError when the index's files are
// damaged (a listing would silently leave runs out).
std::vector<RunIndexEntry> ListRuns(Store& store);
// The readable records only, for `verify`, which reports the damage itself.
std::vector<RunIndexEntry> ListRunsUnchecked(Store& store);

// A run's record in Column::kDue: big-endian due time ‖ run id, for a run
// waiting with a due time (its earliest) or running (time 1: continue it at
// once after a restart); "" for any other. Written with the run's events.
std::string DueKey(const RunState& s);
// The earliest due time among a waiting run's waits (`waiting_on` entries
// with a `due` timestamp), unix nanoseconds; 0 when none has one.
int64_t EarliestDue(const Value& waiting_on);
// The due time and run id of a kDue key.
void SplitDueKey(std::string_view key, int64_t* due, std::string* run_id);

// Run ids: 1-64 characters of [A-Za-z0-9._-].
bool ValidRunId(std::string_view id);
std::string NewRunId();

class RunLog {
 public:
  // Events are also written to the process log (the spdlog logger "aos", as
  // registered when the RunLog is made; none: no process log).
  RunLog(Store& store, Clock& clock);

  // Loads run `run_id` into state(). false with *error when the run does not
  // exist ("no run ...") or its log is damaged (the seq and why).
  bool Load(const std::string& run_id, std::string* error);
  // Starts a new, empty state for `run_id` (the caller appends RunStarted).
  void Begin(const std::string& run_id);

  RunState& state() { return state_; }
  Store& store() { return store_; }
  const RunState& state() const { return state_; }

  // Encodes, batches and applies one event; returns its seq.
  uint64_t Append(EventType type, std::string step, Value data);
  // The same, for a typed event (events.h): log.Append(key, events::TimerFired{}).
  template <class E>
  uint64_t Append(std::string step, const E& e) {
    return Append(E::kType, std::move(step), events::Data(e));
  }
  // Extra writes that must land atomically with the pending events (the
  // idempotency record of an effect, an entity's new state).
  WriteBatch& batch() { return batch_; }
  // Writes the pending batch (with the run index entry, and a snapshot every
  // snapshot_every events, or every quarter of the log when more); with
  // `sync`, durable on return.
  void Flush(bool sync);
  size_t pending() const { return static_cast<size_t>(batch_.events); }
  // The seq the last Load replayed events from: after its snapshot, or 0
  // when there was none or it was damaged.
  uint64_t loaded_from() const { return loaded_from_; }

  uint64_t snapshot_every = 10'000;
  // Set by a caller that gives the run's lease up once the run waits or
  // ends (the Driver): the batch with that event gives it up in its own
  // transaction (WriteBatch::release_run). Nothing may append after it.
  bool release_with_end = false;
  uint64_t flushes = 0;

 private:
  Store& store_;
  Clock& clock_;
  RunState state_;
  WriteBatch batch_;
  uint64_t last_snapshot_ = 0;
  uint64_t loaded_from_ = 0;
  std::string due_key_;  // the run's record in Column::kDue as last written, or ""
  std::shared_ptr<spdlog::logger> logger_;
};

// Reads a run's events from seq `from` on, in order; `visit` gets each event
// or, for a damaged record, a malformed key or a gap, a null event and why.
// Returns the seq after the last one.
uint64_t ScanRunEvents(Store& store, const std::string& run_id,
                       const std::function<bool(uint64_t seq, const Event* e,
                                                const std::string& error)>& visit,
                       uint64_t from = 0);

}  // namespace aos

#endif  // AOS_RUNTIME_RUN_LOG_H_
