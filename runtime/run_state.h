// RunState: what is known about one run, and the only way it changes —
// Apply(event). The executor appends an event and applies it; replay applies
// the stored events in order; both go through Apply, so a resumed run is in
// exactly the state the crashed process had reached with its durable events.
//
// Statement instances are keyed by name: "signals", "outline", and inside a
// `for` the per-item instances "mail[0]", "mail[1]" (nested: "x[2][0]"). A
// `for` itself is the instance "for <var>" plus the same suffix.
//
// A snapshot is the state encoded as one Value (ToSnapshot/FromSnapshot), so
// that resuming a long run reads the snapshot and the events after it.
#ifndef AOS_RUNTIME_RUN_STATE_H_
#define AOS_RUNTIME_RUN_STATE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "lang/value.h"
#include "runtime/event.h"

namespace aos {

enum class RunStatus { kRunning, kWaiting, kCompleted, kFailed, kCancelled };
const char* RunStatusName(RunStatus s);

enum class InstStatus : uint8_t { kPending, kActive, kDone, kSkipped, kFailed };

struct Instance {
  InstStatus status = InstStatus::kPending;
  Value result;
  int attempts = 0;         // attempts started
  int failures = 0;         // attempts failed (not counting crash-interrupted ones)
  bool in_flight = false;   // an attempt started and has not ended
  int64_t retry_due = 0;    // when the next attempt may start (unix nanos)
  Value last_error;         // {kind, message}
  // effect
  std::string key;
  bool intent = false;
  std::string request_digest;  // of the intended request (not for undos)
  // approval (also the confirm gate of an effect and escalations)
  bool requested = false;
  Value request;            // {ask, payload, payload_hash, due, purpose}
  int64_t requested_at = 0; // when (unix nanos)
  bool decided = false;
  Value decision;           // {approved, by, at, comment, data}
  bool confirmed = false;   // an effect's confirm gate was approved
  // wait / signal deadlines
  bool timer = false;
  int64_t due = 0;
  // for
  bool expanded = false;
  Value items;
};

struct RunState {
  std::string run_id;
  std::string workflow;
  std::string file;         // the path given at start
  std::string source;       // the workflow's source text
  std::string source_hash;
  Value inputs;             // map
  Value env;                // map: env("NAME") values read at start
  bool replay_effects = false;
  RunStatus status = RunStatus::kRunning;
  uint64_t next_seq = 0;    // events applied so far
  int64_t started_at = 0;
  int64_t updated_at = 0;
  std::unordered_map<std::string, Instance> inst;
  std::map<std::string, std::vector<Value>> signals;  // name -> [{data, at}]
  std::map<std::string, size_t> signals_taken;        // name -> how many statements took one
  std::unordered_map<std::string, Value> nondet;      // "inst|fn@offset" -> value
  // An effect key -> the first instance whose intent used it (undos
  // excluded): a second effect with that key must make the same request.
  std::unordered_map<std::string, std::string> effect_key_owner;
  std::vector<std::string> completed_effects;         // instances, completion order
  std::vector<std::string> compensated;               // instances whose undo completed
  bool compensating = false;
  bool cancelling = false;  // the compensation is a cancel's
  Value output;
  Value error;              // {kind, message, step}
  Value first_failure;      // the first StepFailed, as {kind, message, step}
  int64_t spent_nanos = 0;  // model spending so far (StepCompleted usage), in the budget's currency
  int64_t budget_raised_nanos = 0;  // added to the budget by approved budget escalations
  Value waiting_on;         // list of {kind, name, ask, due}
  // A waiting run given a decision or a signal that it has not gone on from
  // yet: due now (DueKey), so a process that dies between recording the
  // event and continuing the run leaves it to the next worker or start.
  bool woken = false;

  // Precondition: e is the event with sequence number next_seq.
  void Apply(const Event& e);

  Instance& At(const std::string& name) { return inst[name]; }
  const Instance* Find(const std::string& name) const {
    auto it = inst.find(name);
    return it == inst.end() ? nullptr : &it->second;
  }
  bool Finished() const {
    return status == RunStatus::kCompleted || status == RunStatus::kFailed ||
           status == RunStatus::kCancelled;
  }

  Value ToSnapshot() const;
  void AddSpending(const std::optional<Value>& usage);
  static bool FromSnapshot(const Value& v, RunState* out);
};

}  // namespace aos

#endif  // AOS_RUNTIME_RUN_STATE_H_
