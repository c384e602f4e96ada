#include "runtime/event.h"

#include "runtime/codec.h"

namespace aos {

const char* EventTypeName(EventType t) {
  switch (t) {
    case EventType::kRunStarted: return "RunStarted";
    case EventType::kStepScheduled: return "StepScheduled";
    case EventType::kAttemptStarted: return "AttemptStarted";
    case EventType::kStepCompleted: return "StepCompleted";
    case EventType::kAttemptFailed: return "AttemptFailed";
    case EventType::kStepSkipped: return "StepSkipped";
    case EventType::kEffectIntent: return "EffectIntent";
    case EventType::kEffectCompleted: return "EffectCompleted";
    case EventType::kApprovalRequested: return "ApprovalRequested";
    case EventType::kApprovalDecided: return "ApprovalDecided";
    case EventType::kTimerStarted: return "TimerStarted";
    case EventType::kTimerFired: return "TimerFired";
    case EventType::kSignalReceived: return "SignalReceived";
    case EventType::kNondeterministicValue: return "NondeterministicValue";
    case EventType::kEntityChanged: return "EntityChanged";
    case EventType::kCompensationStarted: return "CompensationStarted";
    case EventType::kCompensationCompleted: return "CompensationCompleted";
    case EventType::kRunWaiting: return "RunWaiting";
    case EventType::kRunCompleted: return "RunCompleted";
    case EventType::kRunFailed: return "RunFailed";
    case EventType::kRunCancelled: return "RunCancelled";
    case EventType::kStepFailed: return "StepFailed";
    case EventType::kRunResumed: return "RunResumed";
    case EventType::kRunUpgraded: return "RunUpgraded";
    case EventType::kRunRetried: return "RunRetried";
    case EventType::kEntitiesMerged: return "EntitiesMerged";
  }
  return "Unknown";
}

const Value& Event::Field(std::string_view name) const {
  static const Value kNullValue;
  const Value* v = data.Find(name);
  return v ? *v : kNullValue;
}

std::string EncodeEvent(const Event& e) {
  std::string payload;
  PutSigned(payload, e.at_nanos);
  PutBytes(payload, e.step);
  PutValue(payload, e.data);
  std::string out;
  out.reserve(payload.size() + 12);
  out.push_back(static_cast<char>(kEventFormatVersion));
  out.push_back(static_cast<char>(e.type));
  PutVarint(out, payload.size());
  out.append(payload);
  PutFixed32(out, Crc32c(out));
  return out;
}

bool DecodeEvent(std::string_view record, Event* out, std::string* error) {
  if (record.size() < 7) {
    *error = "record too short (" + std::to_string(record.size()) + " bytes)";
    return false;
  }
  Reader crc_reader(record.substr(record.size() - 4));
  const uint32_t stored = crc_reader.Fixed32();
  const uint32_t actual = Crc32c(record.substr(0, record.size() - 4));
  if (stored != actual) {
    *error = "checksum mismatch";
    return false;
  }
  Reader r(record.substr(0, record.size() - 4));
  const uint8_t version = r.Byte();
  if (version != kEventFormatVersion) {
    *error = "unsupported record format version " + std::to_string(version);
    return false;
  }
  const uint8_t type = r.Byte();
  if (type == 0 || type > kMaxEventType) {
    *error = "unknown event type " + std::to_string(type);
    return false;
  }
  const uint64_t len = r.Varint();
  if (!r.ok() || len != r.rest().size()) {
    *error = "payload length does not match the record";
    return false;
  }
  Event e;
  e.type = static_cast<EventType>(type);
  e.at_nanos = r.Signed();
  e.step = std::string(r.Bytes());
  e.data = r.ReadValue();
  if (!r.ok() || !r.done()) {
    *error = "malformed payload";
    return false;
  }
  *out = std::move(e);
  return true;
}

Value EventDisplayData(const Event& e) {
  // Times print one way everywhere (RFC 3339): a due time is stored as
  // nanoseconds, shown as a time.
  if (e.data.kind() != ValueKind::kMap) return e.data;
  ValueMap m = e.data.as_map();
  for (auto& [k, v] : m) {
    if (k.kind() == ValueKind::kString && k.as_string() == "due" && v.kind() == ValueKind::kInt) {
      v = Value::Time(Timestamp{v.as_int()});
    }
  }
  return Value::MapOfUnique(std::move(m));
}

std::string EventToJson(const Event& e, uint64_t seq) {
  std::string out = "{\"seq\":" + std::to_string(seq) + ",\"type\":\"" + EventTypeName(e.type) +
                    "\",\"at\":" + JsonQuote(FormatTimestamp(Timestamp{e.at_nanos}));
  if (!e.step.empty()) out += ",\"step\":" + JsonQuote(e.step);
  if (!e.data.is_null()) out += ",\"data\":" + EventDisplayData(e).ToJson();
  out += "}";
  return out;
}

}  // namespace aos
