// Operations: what an operator does to a run — decide, signal, cancel,
// retry, upgrade — and what they read across runs (the inbox, the cost of
// model calls). One implementation for the CLI, serve's API and page and
// `aoscheck test`: each checks the request against the run and its
// workflow, records the event, and says what happened and, when refused,
// why (OpStatus); none prints or picks an exit code or HTTP status.
#ifndef AOS_RUNTIME_OPERATIONS_H_
#define AOS_RUNTIME_OPERATIONS_H_

#include <string>
#include <vector>

#include "lang/checker.h"
#include "lang/dag.h"
#include "lang/value.h"
#include "runtime/run_log.h"
#include "runtime/runner.h"

namespace aos {

// Why a request was refused (callers map these to exit codes and HTTP
// statuses; the message is for people).
enum class OpStatus {
  kDone,
  kNotFound,   // nothing by that name waits for a decision
  kEnded,      // the run has ended
  kConflict,   // the run's state does not allow it (decided already, a signal no
               // statement takes, completed steps changed under an upgrade, ...)
  kStale,      // the payload changed since the approver saw it (expect_hash)
  kForbidden,  // the decider is not among the approvers
  kInvalid,    // the data does not fit (`returns T`)
};

struct OpResult {
  OpStatus status = OpStatus::kDone;
  std::string message;  // why it was refused, with a "did you mean" when one fits
  bool ok() const { return status == OpStatus::kDone; }
};

// The event names the workflow's `signal` statements wait for (for bodies
// included), sorted and unique.
std::vector<std::string> SignalEvents(const Dag& dag);

// Records signal `name` with `data` for the run loaded in `log` (flushed with
// a sync). Refused when the run has ended or no statement of `dag` (the
// run's workflow; may be null for an ended run) takes `name`. `delivery`,
// when given, names a webhook delivery: it is recorded in the same write
// (Delivered tells a sender's retry), so a retry never signals twice.
OpResult DeliverSignal(RunLog& log, const Dag* dag, const std::string& name, const Value& data,
                       const std::string& delivery = "");
// Whether webhook delivery `delivery` was recorded with a signal.
bool Delivered(Store& store, const std::string& delivery);

// A run's outcome as one JSON object, as `aosrun --json` and the serve API
// print it: {run_id, status, output, error, waiting_on}.
std::string OutcomeJson(const std::string& run_id, const RunOutcome& o);

// One approval waiting for a decision, across runs (`aosrun inbox`, the
// API's /api/inbox, the page).
struct InboxItem {
  std::string run_id, workflow, name, ask, payload_hash;
  std::string explain;  // `explain`, "" when none
  Value show;       // the payload shown to the approver
  Value approvers;  // list, or null: anyone
  Value due;        // timestamp, or null
  Value requested;  // timestamp: when the decision was asked for
};
// Every waiting approval; *damaged gets the runs that could not be loaded
// (their approvals may be waiting: a caller says so, never hides them).
std::vector<InboxItem> Inbox(Store& store, Clock& clock, std::vector<std::string>* damaged);
std::string InboxItemJson(const InboxItem& item);

// An operator's decision on a waiting approval (an `approval`, a `confirm`
// gate, an escalation, a budget raise).
struct Decision {
  bool approve = true;
  std::string by;           // who decides
  std::string comment;
  Value data;               // approve --payload: the approval's `data`
  std::string expect_hash;  // when given, the payload hash the approver saw
  int64_t at_nanos = 0;     // when
};

// The `returns T` type of approval instance `name` ("ok", "ok[2]") in `dag`;
// null when it has none.
const TypeRef* ApprovalReturns(const Dag& dag, const std::string& name);

// Records `d` for approval `name` of the run loaded in `log`, synced before
// it returns. Refused when nothing by that name waits (the message lists
// what does), it was already decided (a decision is final), the run ended,
// the payload changed since the approver saw it (expect_hash), `by` is not
// among its approvers, or the data does not fit its `returns` type (checked
// when `program` and `dag`, the run's workflow, are given).
OpResult Decide(RunLog& log, const Program* program, const Dag* dag, const std::string& name, Decision d);

// Continues a failed run from its failed statements: they are attempted
// afresh (an effect with its recorded key), every completed statement and
// effect is kept. `from`, when given, must be one of the failed statement
// instances and is the only one retried. Refused when the run did not fail,
// or its effects were compensated (undone: start a new run instead).
OpResult RetryRun(RunLog& log, const std::string& from);

// Cancels the run loaded in `log` (not ended): its completed effects are
// compensated as a failure with `on failure compensate` would, then
// RunCancelled. `program`/`dag` are the run's workflow; *out the outcome.
OpResult CancelRun(RunLog& log, const Program& program, const Dag& dag, CallHandler& calls, Clock& clock,
                   RunOptions options, RunOutcome* out);

// Moves the run loaded in `log` (not ended) from its workflow `current` to
// `next` (of `program`, the text `source` of `file`), recording RunUpgraded
// (synced) with the entity schemas and transform bodies the data directory
// does not keep yet, as a run's start does. Refused (kConflict) when
// completed statements changed (*blockers lists them, UpgradeBlockers)
// unless `force`; refused (kInvalid, whatever `force`) when `program`
// declares an entity otherwise than its stored records, or a kept transform
// version with another body (entity_schemas.h StoredConflicts).
OpResult UpgradeRun(RunLog& log, const Program& program, const Dag& current, const Dag& next,
                    const std::string& file, const std::string& source, bool force,
                    std::vector<std::string>* blockers);

// What model calls cost: one row per run and model, from the runs' events
// (completed calls, and answered calls that failed: both were paid for).
// Also per day (UTC, of the event); with `since`, only calls recorded at or
// after it (unix nanos).
struct CostRow {
  std::string run_id, workflow, model, day;
  int64_t calls = 0, tokens_in = 0, tokens_out = 0;
  Money cost{0, "usd"};
};
std::vector<CostRow> Costs(Store& store, const std::vector<RunIndexEntry>& runs, int64_t since = 0);

}  // namespace aos

#endif  // AOS_RUNTIME_OPERATIONS_H_
