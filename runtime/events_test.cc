// Typed events: each struct's fields survive Data -> Read, optional fields
// are absent when empty, older records missing fields read as defaults, the
// bytes are those docs/event_log_format.md shows, and every field a struct
// lists is the one the format document names for its type.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <tuple>

#include "runtime/codec.h"
#include "runtime/events.h"

namespace aos {
namespace {

template <class E>
Event Stored(const E& e, std::string step = "s") {
  Event ev;
  ev.type = E::kType;
  ev.step = std::move(step);
  ev.data = events::Data(e);
  // Through the record encoding, as a log reader sees it.
  Event back;
  std::string error;
  REQUIRE(DecodeEvent(EncodeEvent(ev), &back, &error));
  return back;
}

template <class E>
std::vector<std::string> FieldNames() {
  std::vector<std::string> names;
  E e;
  E::Fields(e, [&](const char* n, auto&) { names.push_back(n); });
  return names;
}

TEST_CASE("typed events round-trip through their records", "[events]") {
  events::RunStarted rs{.run_id = "r1", .workflow = "w", .file = "w.aos", .source = "workflow w {}",
                        .source_hash = "h", .dag_fingerprint = "d", .config_hash = "",
                        .inputs = Value::Map({{Value::String("n"), Value::Int(3)}}), .env = Value::Map({}),
                        .replay_effects = true};
  const auto rs2 = events::Read<events::RunStarted>(Stored(rs));
  CHECK(rs2.run_id == "r1");
  CHECK(rs2.source == "workflow w {}");
  CHECK(rs2.inputs == rs.inputs);
  CHECK(rs2.replay_effects);

  events::AttemptFailed af{.attempt = 2, .kind = "net", .message = "refused", .retryable = true, .delay_ms = 500};
  const auto af2 = events::Read<events::AttemptFailed>(Stored(af));
  CHECK(std::tie(af2.attempt, af2.kind, af2.message, af2.retryable, af2.delay_ms) ==
        std::tie(af.attempt, af.kind, af.message, af.retryable, af.delay_ms));
  CHECK_FALSE(af2.usage.has_value());

  events::ApprovalDecided ad{.approved = true, .by = "ada", .at = Timestamp{42}, .comment = "ok",
                             .data = Value::Int(7), .payload_hash = "abc"};
  const auto ad2 = events::Read<events::ApprovalDecided>(Stored(ad));
  CHECK(ad2.approved);
  CHECK(ad2.by == "ada");
  CHECK(ad2.at.nanos == 42);
  CHECK(ad2.data == Value::Int(7));
  CHECK(ad2.payload_hash == "abc");

  const auto ru = events::Read<events::RunUpgraded>(Stored(events::RunUpgraded{"b.aos", "src", "h", true, {"x", "y"}}));
  CHECK(ru.changed == std::vector<std::string>{"x", "y"});
  CHECK(ru.forced);

  const auto cc = events::Read<events::CompensationCompleted>(
      Stored(events::CompensationCompleted{.for_inst = "pay", .key = "k:undo", .ok = false, .pending = true}));
  CHECK(cc.for_inst == "pay");
  CHECK(cc.key == std::optional<std::string>("k:undo"));
  CHECK(cc.pending == std::optional<bool>(true));
  CHECK_FALSE(cc.none.has_value());
}

TEST_CASE("optional fields are absent unless set; field-less events carry null", "[events]") {
  const Value plain = events::Data(events::StepCompleted{.result = Value::Int(1)});
  CHECK(plain.Find("result"));
  CHECK_FALSE(plain.Find("duration_ms"));
  CHECK_FALSE(plain.Find("usage"));
  CHECK_FALSE(plain.Find("cache"));
  const Value hit = events::Data(events::StepCompleted{.result = Value(), .duration_ms = 0, .cache = "hit"});
  REQUIRE(hit.Find("duration_ms"));  // a 0 ms call still says how long it took
  CHECK(hit.Find("duration_ms")->as_int() == 0);
  CHECK(hit.Find("result")->is_null());
  CHECK(events::Data(events::StepSkipped{}).is_null());
  CHECK(events::Data(events::TimerFired{}).is_null());
  CHECK(events::Data(events::RunCancelled{}).is_null());
  CHECK(events::Data(events::RunResumed{}).is_null());
}

TEST_CASE("records written before a field existed read as its default", "[events]") {
  Event old;
  old.type = EventType::kApprovalDecided;
  old.data = Value::Map({{Value::String("approved"), Value::Bool(true)}, {Value::String("by"), Value::String("op")}});
  const auto d = events::Read<events::ApprovalDecided>(old);
  CHECK(d.approved);
  CHECK(d.by == "op");
  CHECK(d.at.nanos == 0);
  CHECK(d.payload_hash.empty());
  // A field of the wrong kind (a damaged or foreign writer) is not trusted.
  old.data = Value::Map({{Value::String("approved"), Value::String("yes")}});
  CHECK_FALSE(events::Read<events::ApprovalDecided>(old).approved);
  Event none;
  none.type = EventType::kEffectIntent;  // null data
  CHECK(events::Read<events::EffectIntent>(none).key.empty());
  CHECK_FALSE(events::Read<events::EffectIntent>(none).request_digest.has_value());
}

TEST_CASE("a typed StepCompleted is the documented record, byte for byte", "[events]") {
  Event e;
  e.type = events::StepCompleted::kType;
  e.at_nanos = 1767225600000000000;  // 2026-01-01T00:00:00Z
  e.step = "greet";
  e.data = events::Data(events::StepCompleted{.result = Value::Int(42)});
  const std::string want = "\x01\x04\x1b\x80\x80\xd0\xdf\xbd\x94\xb9\x86\x31\x05greet\x09\x01\x06\x06result\x03\x54"
                           "\x53\x8b\x4e\xa4";
  CHECK(EncodeEvent(e) == std::string(want.data(), want.size()));
}

// The format document's row for `type` (the text of its data-fields column).
std::string DocRow(const std::string& doc, const std::string& type) {
  const std::string tag = "| `" + type + "` |";
  const size_t at = doc.find(tag);
  if (at == std::string::npos) return "";
  return doc.substr(at, doc.find('\n', at) - at);
}

template <class E>
void CheckDocumented(const std::string& doc) {
  const std::string type = EventTypeName(E::kType);
  const std::string row = DocRow(doc, type);
  INFO(type);
  REQUIRE_FALSE(row.empty());
  for (const auto& name : FieldNames<E>()) {
    INFO(name);
    CHECK(row.find("`" + name + "`") != std::string::npos);
  }
}

TEST_CASE("every field of every typed event is the documented one", "[events]") {
  std::ifstream in(std::string(AOS_SOURCE_DIR) + "/docs/event_log_format.md");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  using namespace events;
  CheckDocumented<RunStarted>(doc);
  CheckDocumented<StepScheduled>(doc);
  CheckDocumented<AttemptStarted>(doc);
  CheckDocumented<StepCompleted>(doc);
  CheckDocumented<AttemptFailed>(doc);
  CheckDocumented<StepSkipped>(doc);
  CheckDocumented<EffectIntent>(doc);
  CheckDocumented<EffectCompleted>(doc);
  CheckDocumented<ApprovalRequested>(doc);
  CheckDocumented<ApprovalDecided>(doc);
  CheckDocumented<TimerStarted>(doc);
  CheckDocumented<TimerFired>(doc);
  CheckDocumented<SignalReceived>(doc);
  CheckDocumented<NondeterministicValue>(doc);
  CheckDocumented<EntityChanged>(doc);
  CheckDocumented<CompensationStarted>(doc);
  CheckDocumented<CompensationCompleted>(doc);
  CheckDocumented<RunWaiting>(doc);
  CheckDocumented<RunCompleted>(doc);
  CheckDocumented<RunFailed>(doc);
  CheckDocumented<RunCancelled>(doc);
  CheckDocumented<StepFailed>(doc);
  CheckDocumented<RunResumed>(doc);
  CheckDocumented<RunUpgraded>(doc);
  CheckDocumented<RunRetried>(doc);
  CheckDocumented<EntitiesMerged>(doc);
}

}  // namespace
}  // namespace aos
