// Offline: a run of a workflow with nothing real behind it, for
// `aoscheck test FILE --mock M.yaml`. Calls are answered from the mock file,
// time is a virtual clock that jumps to each timer, approvals and signals
// are scripted, and the log is an in-memory store: the same runner and
// replay as `aosrun`, without services, a data directory or waiting.
//
// The mock file (YAML):
//   inputs: {week: "2026-W48"}            # the run's inputs
//   calls:                                # in order; the first match answers
//     - call: analytics.get               # callee as written; `*` ends a prefix
//       result: {status: 200, json: {items: []}}
//     - call: cms.post
//       error: {kind: http.503, message: down}
//       times: 2                          # this answer twice, then the next match
//   approvals:
//     review: {approved: true, by: tester, comment: ok, data: null}
//   signals:
//     invoice.paid: {amount: 5}
//   seed:                                 # stored before the run starts
//     entities: {Lead: [{email: a@x, score: 0.9}]}   # records, by entity
//     kv: {last_week: "2026-W47"}
//     kb: {playbook: [{id: p1, text: "...", meta: {}, vector: [0.1, ...]}]}
// A call with no match fails with kind `effect.unknown`, naming the call.
// secret("NAME") reads the environment or the config's secrets file, else
// the placeholder "<secret NAME>": no credentials are needed offline.
#ifndef AOS_RUNTIME_OFFLINE_H_
#define AOS_RUNTIME_OFFLINE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lang/checker.h"
#include "runtime/config.h"
#include "runtime/runner.h"

namespace aos {

struct MockAnswer {
  std::string call;     // callee, or a prefix ending in '*'
  bool error = false;
  Value result;         // the call's value
  std::string kind;     // the error's kind
  std::string message;
  int times = 0;        // 0: always
};

struct Mock {
  Value inputs;         // map
  std::vector<MockAnswer> calls;
  std::vector<std::pair<std::string, Value>> approvals;  // name -> decision map
  std::vector<std::pair<std::string, Value>> signals;    // name -> data
  // seed: {entities: {Type: [record]}, kv: {key: value}, kb: {collection: [entry]}}
  Value seed;
};

// Reads a mock file; nullopt with *error as "FILE:LINE: message".
std::optional<Mock> LoadMock(const std::string& path, std::string* error);

struct OfflineCall {
  std::string instance, callee, kind, key;
  bool ok = true;
};

struct OfflineResult {
  RunOutcome outcome;
  std::vector<OfflineCall> calls;  // in the order they were made
  std::vector<std::string> notes;  // decisions, signals, timers, unscripted waits
  uint64_t events = 0;
};

// Runs workflow `dag` of `program` (checked from `source`) on a Driver over
// an in-memory store and a virtual clock, answering its calls, approvals and
// signals from `mock` and jumping the clock to each due time.
OfflineResult RunOffline(std::shared_ptr<Program> program, const Dag& dag, const std::string& source,
                         const Mock& mock, const Config* config);

}  // namespace aos

#endif  // AOS_RUNTIME_OFFLINE_H_
