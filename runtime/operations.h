// Operations: what an operator does to a run — deliver a signal, and (as
// they move here from tools/aosrun.cc) decide, cancel, upgrade. One
// implementation for the CLI and, later, serve's API and page: each checks
// the request against the run and its workflow, records the event, and says
// what happened; none prints or picks an exit code.
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

enum class OpStatus {
  kDone,
  kRefused,  // the request does not fit the run (ended, unknown name, ...)
};

struct OpResult {
  OpStatus status = OpStatus::kDone;
  std::string message;  // why it was refused, with a "did you mean" when one fits
};

// The event names the workflow's `signal` statements wait for (for bodies
// included), sorted and unique.
std::vector<std::string> SignalEvents(const Dag& dag);

// Records signal `name` with `data` for the run loaded in `log` (flushed with
// a sync). Refused when the run has ended or no statement of `dag` (the
// run's workflow; may be null for an ended run) takes `name`.
OpResult DeliverSignal(RunLog& log, const Dag* dag, const std::string& name, const Value& data);

// A run's outcome as one JSON object, as `aosrun --json` and the serve API
// print it: {run_id, status, output, error, waiting_on}.
std::string OutcomeJson(const std::string& run_id, const RunOutcome& o);

// One approval waiting for a decision, across runs (`aosrun inbox`, the
// API's /api/inbox, the page).
struct InboxItem {
  std::string run_id, workflow, name, ask, payload_hash;
  Value show;       // the payload shown to the approver
  Value approvers;  // list, or null: anyone
  Value due;        // timestamp, or null
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

}  // namespace aos

#endif  // AOS_RUNTIME_OPERATIONS_H_
