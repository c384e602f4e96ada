// Event: one entry of a run's log, and its self-checking record encoding.
//
// A run is the fold of its events (run_state.h): the executor appends an event
// and applies it; replay applies the stored ones. An event is a type tag, the
// time it was appended, the statement instance it concerns ("publish",
// "mail[3]"; empty for run-level events) and a map of fields whose names per
// type are listed in docs/event_log_format.md.
//
// Record: version byte, type tag, varint payload length, payload, CRC-32C of
// everything before it. Type tags are frozen: a retired tag keeps its number
// and a comment, and is never reused.
#ifndef AOS_RUNTIME_EVENT_H_
#define AOS_RUNTIME_EVENT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "lang/value.h"

namespace aos {

inline constexpr uint8_t kEventFormatVersion = 1;

enum class EventType : uint8_t {
  kRunStarted = 1,
  kStepScheduled = 2,
  kAttemptStarted = 3,
  kStepCompleted = 4,
  kAttemptFailed = 5,
  kStepSkipped = 6,
  kEffectIntent = 7,
  kEffectCompleted = 8,
  kApprovalRequested = 9,
  kApprovalDecided = 10,
  kTimerStarted = 11,
  kTimerFired = 12,
  kSignalReceived = 13,
  kNondeterministicValue = 14,
  kEntityChanged = 15,
  kCompensationStarted = 16,
  kCompensationCompleted = 17,
  kRunWaiting = 18,
  kRunCompleted = 19,
  kRunFailed = 20,
  kRunCancelled = 21,
  kStepFailed = 22,
  kRunResumed = 23,
  kRunUpgraded = 24,
  kRunRetried = 25,
  kEntitiesMerged = 26,
};
inline constexpr uint8_t kMaxEventType = 26;

const char* EventTypeName(EventType t);

struct Event {
  EventType type = EventType::kRunStarted;
  int64_t at_nanos = 0;  // wall-clock time of the append (the run's clock)
  std::string step;      // statement instance; "" for run-level events
  Value data;            // a map of the type's fields, or null

  // data[name], or null.
  const Value& Field(std::string_view name) const;
};

std::string EncodeEvent(const Event& e);
// false with *error ("checksum mismatch", "unknown event type 99", ...) when
// `record` is not exactly one well-formed record.
bool DecodeEvent(std::string_view record, Event* out, std::string* error);

// An event's fields as shown to people and scripts (`aosrun log`): stored
// nanosecond due times as RFC 3339 times.
Value EventDisplayData(const Event& e);

// One line of `aosrun log`: "RunStarted hello {inputs: ...}" as JSON-ish text.
std::string EventToJson(const Event& e, uint64_t seq);

}  // namespace aos

#endif  // AOS_RUNTIME_EVENT_H_
