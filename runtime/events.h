// Events, typed: one struct per event type, and the one place that names
// the fields of its data map (docs/event_log_format.md describes them).
//
// Writers fill a struct and append it (RunLog::Append(step, e)); readers
// take the struct from a stored event (Read<T>(event)) instead of looking
// fields up by name. Each struct lists its fields once, in Fields(), which
// both directions walk: a field cannot be written under one name and read
// under another. A std::optional field is absent from the map when empty
// (older logs lack some fields: they read as empty or as the default).
//
// The encoding of the data map itself (codec.h) and the record around it
// (event.h) are unchanged: these structs are a typed view of the same
// bytes.
#ifndef AOS_RUNTIME_EVENTS_H_
#define AOS_RUNTIME_EVENTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lang/value.h"
#include "runtime/event.h"

namespace aos::events {

// ---- field conversions (events.cc): one overload per field type
void Put(ValueMap& m, const char* name, const std::string& v);
void Put(ValueMap& m, const char* name, int64_t v);
void Put(ValueMap& m, const char* name, bool v);
void Put(ValueMap& m, const char* name, const Value& v);
void Put(ValueMap& m, const char* name, Timestamp v);
void Put(ValueMap& m, const char* name, const std::vector<std::string>& v);
template <class T>
void Put(ValueMap& m, const char* name, const std::optional<T>& v) {
  if (v) Put(m, name, *v);
}

// A missing field, or one of another kind, reads as the type's empty value.
void Get(const Value& data, const char* name, std::string* out);
void Get(const Value& data, const char* name, int64_t* out);
void Get(const Value& data, const char* name, bool* out);
void Get(const Value& data, const char* name, Value* out);
void Get(const Value& data, const char* name, Timestamp* out);
void Get(const Value& data, const char* name, std::vector<std::string>* out);
template <class T>
void Get(const Value& data, const char* name, std::optional<T>* out) {
  if (!data.Find(name)) return;
  T v{};
  Get(data, name, &v);
  *out = std::move(v);
}

// ---- the events (tags and meanings: event.h, docs/event_log_format.md)
#define AOS_EVENT(NAME) static constexpr EventType kType = EventType::k##NAME

struct RunStarted {
  AOS_EVENT(RunStarted);
  std::string run_id{}, workflow{}, file{}, source{}, source_hash{}, dag_fingerprint{}, config_hash{};
  Value inputs{};  // map: every parameter, given or defaulted
  Value env{};     // map: env("NAME") -> value or null
  bool replay_effects = false;
  template <class E, class F> static void Fields(E& e, F&& f) {
    f("run_id", e.run_id), f("workflow", e.workflow), f("file", e.file), f("source", e.source);
    f("source_hash", e.source_hash), f("dag_fingerprint", e.dag_fingerprint);
    f("config_hash", e.config_hash), f("inputs", e.inputs), f("env", e.env);
    f("replay_effects", e.replay_effects);
  }
};

struct StepScheduled {
  AOS_EVENT(StepScheduled);
  std::optional<Value> items{};  // a for: the list it runs over
  std::optional<bool> reset{};   // an escalation approved another round
  template <class E, class F> static void Fields(E& e, F&& f) { f("items", e.items), f("reset", e.reset); }
};

struct AttemptStarted {
  AOS_EVENT(AttemptStarted);
  int64_t attempt = 0;
  std::optional<std::string> describe{};  // the first attempt's `describe` text
  template <class E, class F> static void Fields(E& e, F&& f) { f("attempt", e.attempt), f("describe", e.describe); }
};

struct StepCompleted {
  AOS_EVENT(StepCompleted);
  Value result{};
  std::optional<int64_t> duration_ms{};  // calls
  std::optional<Value> usage{};          // model calls, embeddings: {model, tokens_in, tokens_out, cost}
  std::optional<std::string> cache{};    // "hit"
  std::optional<std::string> signal{};   // a signal statement: the signal it took
  template <class E, class F> static void Fields(E& e, F&& f) {
    f("result", e.result), f("duration_ms", e.duration_ms), f("usage", e.usage), f("cache", e.cache);
    f("signal", e.signal);
  }
};

struct AttemptFailed {
  AOS_EVENT(AttemptFailed);
  int64_t attempt = 0;
  std::string kind{}, message{};
  bool retryable = false;  // another attempt follows
  int64_t delay_ms = 0;    // ... after this long
  std::optional<Value> usage{};  // a model call that answered and still failed
  template <class E, class F> static void Fields(E& e, F&& f) {
    f("attempt", e.attempt), f("kind", e.kind), f("message", e.message), f("retryable", e.retryable);
    f("delay_ms", e.delay_ms), f("usage", e.usage);
  }
};

struct StepSkipped {
  AOS_EVENT(StepSkipped);
  template <class E, class F> static void Fields(E&, F&&) {}
};

struct EffectIntent {
  AOS_EVENT(EffectIntent);
  std::string key{};
  std::optional<std::string> request_digest{};  // not for undos
  std::optional<bool> undo{};
  template <class E, class F> static void Fields(E& e, F&& f) {
    f("key", e.key), f("request_digest", e.request_digest), f("undo", e.undo);
  }
};

struct EffectCompleted {
  AOS_EVENT(EffectCompleted);
  std::string key{};
  Value result{};
  std::optional<bool> undo{};
  std::optional<bool> reused{};  // from an idempotency record, not a call
  template <class E, class F> static void Fields(E& e, F&& f) {
    f("key", e.key), f("result", e.result), f("undo", e.undo), f("reused", e.reused);
  }
};

struct ApprovalRequested {
  AOS_EVENT(ApprovalRequested);
  std::string purpose{};  // approval, confirm, escalate, budget
  std::string ask{};
  Value payload{};
  std::string payload_hash{};
  std::optional<int64_t> due{};             // with a timeout (unix nanos)
  std::optional<std::string> on_timeout{};  // approval statements
  std::optional<Value> approvers{};         // list: who may decide
  std::optional<std::string> explain{};     // `explain`: why; in the hash
  template <class E, class F> static void Fields(E& e, F&& f) {
    f("purpose", e.purpose), f("ask", e.ask), f("payload", e.payload), f("payload_hash", e.payload_hash);
    f("due", e.due), f("on_timeout", e.on_timeout), f("approvers", e.approvers), f("explain", e.explain);
  }
};

struct ApprovalDecided {
  AOS_EVENT(ApprovalDecided);
  bool approved = false;
  std::string by{};
  Timestamp at{};
  std::string comment{};
  Value data{};
  std::string payload_hash{};  // the request's, copied
  template <class E, class F> static void Fields(E& e, F&& f) {
    f("approved", e.approved), f("by", e.by), f("at", e.at), f("comment", e.comment), f("data", e.data);
    f("payload_hash", e.payload_hash);
  }
};

struct TimerStarted {
  AOS_EVENT(TimerStarted);
  int64_t due = 0;  // unix nanos
  template <class E, class F> static void Fields(E& e, F&& f) { f("due", e.due); }
};

struct TimerFired {
  AOS_EVENT(TimerFired);
  template <class E, class F> static void Fields(E&, F&&) {}
};

struct SignalReceived {
  AOS_EVENT(SignalReceived);
  std::string name{};
  Value data{};
  template <class E, class F> static void Fields(E& e, F&& f) { f("name", e.name), f("data", e.data); }
};

struct NondeterministicValue {
  AOS_EVENT(NondeterministicValue);
  std::string site{};  // INSTANCE|FN@OFFSET
  std::string fn{};    // now, uuid
  Value value{};
  template <class E, class F> static void Fields(E& e, F&& f) { f("site", e.site), f("fn", e.fn), f("value", e.value); }
};

struct EntityChanged {
  AOS_EVENT(EntityChanged);
  std::string type{}, key{};
  Value before{}, after{};  // null: did not exist / deleted
  template <class E, class F> static void Fields(E& e, F&& f) {
    f("type", e.type), f("key", e.key), f("before", e.before), f("after", e.after);
  }
};

struct CompensationStarted {
  AOS_EVENT(CompensationStarted);
  Value error{};          // the run's error, what a resumed compensation ends with
  bool cancel = false;  // a cancel's: the run ends RunCancelled
  template <class E, class F> static void Fields(E& e, F&& f) { f("error", e.error), f("cancel", e.cancel); }
};

struct CompensationCompleted {
  AOS_EVENT(CompensationCompleted);
  std::string for_inst{};  // "for": the effect's instance
  std::optional<std::string> key{};  // <key>:undo
  bool ok = false;
  std::optional<bool> none{};     // the effect has no compensate
  std::optional<bool> pending{};  // a retryable failure the run waits to try again
  std::optional<std::string> error{};
  template <class E, class F> static void Fields(E& e, F&& f) {
    f("for", e.for_inst), f("key", e.key), f("ok", e.ok), f("none", e.none), f("pending", e.pending);
    f("error", e.error);
  }
};

struct RunWaiting {
  AOS_EVENT(RunWaiting);
  Value on{};  // list of {kind, name, ...}
  template <class E, class F> static void Fields(E& e, F&& f) { f("on", e.on); }
};

struct RunCompleted {
  AOS_EVENT(RunCompleted);
  Value output{};
  template <class E, class F> static void Fields(E& e, F&& f) { f("output", e.output); }
};

struct RunFailed {
  AOS_EVENT(RunFailed);
  Value error{};  // {kind, message, step?}
  template <class E, class F> static void Fields(E& e, F&& f) { f("error", e.error); }
};

struct RunCancelled {
  AOS_EVENT(RunCancelled);
  template <class E, class F> static void Fields(E&, F&&) {}
};

struct StepFailed {
  AOS_EVENT(StepFailed);
  std::string kind{}, message{};
  template <class E, class F> static void Fields(E& e, F&& f) { f("kind", e.kind), f("message", e.message); }
};

struct RunResumed {
  AOS_EVENT(RunResumed);
  template <class E, class F> static void Fields(E&, F&&) {}
};

struct RunUpgraded {
  AOS_EVENT(RunUpgraded);
  std::string file{}, source{}, source_hash{};
  bool forced = false;
  std::vector<std::string> changed{};  // completed statements whose definition changed
  template <class E, class F> static void Fields(E& e, F&& f) {
    f("file", e.file), f("source", e.source), f("source_hash", e.source_hash), f("forced", e.forced);
    f("changed", e.changed);
  }
};

struct RunRetried {
  AOS_EVENT(RunRetried);
  std::vector<std::string> retry{};  // failed instances that start afresh
  template <class E, class F> static void Fields(E& e, F&& f) { f("retry", e.retry); }
};

// Records that share an identity became one (state.md §1): `from` is gone,
// its key and identities now lead to `into`.
struct EntitiesMerged {
  AOS_EVENT(EntitiesMerged);
  std::string type{}, into{}, from{};
  Value record{};  // `from` as it was stored
  template <class E, class F> static void Fields(E& e, F&& f) {
    f("type", e.type), f("into", e.into), f("from", e.from), f("record", e.record);
  }
};

#undef AOS_EVENT

// The data map of `e`; null for a type without fields.
template <class E>
Value Data(const E& e) {
  ValueMap m;
  E::Fields(e, [&m](const char* name, const auto& v) { Put(m, name, v); });
  return m.empty() ? Value() : Value::MapOfUnique(std::move(m));
}

// The fields of stored event `ev` (of type E::kType).
template <class E>
E Read(const Event& ev) {
  E e;
  E::Fields(e, [&ev](const char* name, auto& v) { Get(ev.data, name, &v); });
  return e;
}

}  // namespace aos::events

#endif  // AOS_RUNTIME_EVENTS_H_
