// Trace: a run's log seen as a timeline — one span per statement instance
// (when it started and ended, how, with which attempts, key, model usage and
// `describe` text), for `aosrun trace` as text and as OpenTelemetry
// OTLP/JSON that trace viewers load. Built from the events alone (and the
// workflow's DAG for kinds and descriptions); it never shows values, only
// names, keys, kinds and messages.
#ifndef AOS_RUNTIME_TRACE_H_
#define AOS_RUNTIME_TRACE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "lang/dag.h"
#include "runtime/store.h"

namespace aos {

struct TraceSpan {
  std::string name;       // the instance: "outline", "mail[3]"
  std::string kind;       // step, effect, approval, wait, signal, let, for, output, fail
  std::string callee;     // "cms.post", or ""
  std::string describe;   // the `describe` text, when it is a literal
  int64_t start = 0;      // unix nanos of its first event
  int64_t end = 0;        // of its last; 0 while it has not ended
  std::string status;     // ok, skipped, failed, waiting, running
  int attempts = 0;
  std::string error;      // "kind: message" of the last failure
  std::string key;        // an effect's idempotency key
  std::string model;      // model calls
  int64_t tokens_in = 0, tokens_out = 0;
  std::string cost;       // "0.000053 usd"
  bool cache_hit = false;
  std::string decision;   // approvals: "approved by ada"
  // Entity records the statement read and wrote, "Type:key" (state.md §3):
  // writes from its EntityChanged/EntitiesMerged events, reads from the
  // result of E.get, E.find, E.list and E.resolve (the first kMaxReadKeys).
  std::vector<std::string> read, written;
  size_t read_more = 0;  // read keys beyond those listed
};
inline constexpr size_t kMaxReadKeys = 10;

struct Trace {
  std::string run_id;
  std::string workflow;
  std::string status;
  int64_t start = 0, end = 0;
  std::string error;
  std::vector<TraceSpan> spans;  // in order of their first event
};

// false with *error when the run is unknown or its log damaged. `dag` may be
// null (kinds and descriptions are then left out).
bool BuildTrace(Store& store, const std::string& run_id, const Dag* dag, Trace* out, std::string* error);
std::string RenderTraceText(const Trace& t);
std::string RenderOtlpJson(const Trace& t);

}  // namespace aos

#endif  // AOS_RUNTIME_TRACE_H_
