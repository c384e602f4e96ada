// Event record tests: round trips, frozen tags, and that damage anywhere in a
// record (a torn tail, a flipped bit) is detected by the checksum.
#include <catch2/catch.hpp>

#include "runtime/event.h"

namespace aos {
namespace {

Event Sample() {
  Event e;
  e.type = EventType::kStepCompleted;
  e.at_nanos = 1'790'000'000'000'000'000;
  e.step = "mail[3]";
  e.data = Value::Map({{Value::String("result"), Value::List({Value::Int(1), Value::Double(2.5)})}});
  return e;
}

TEST_CASE("events round-trip through their record", "[event]") {
  Event back;
  std::string error;
  REQUIRE(DecodeEvent(EncodeEvent(Sample()), &back, &error));
  CHECK(back.type == EventType::kStepCompleted);
  CHECK(back.at_nanos == Sample().at_nanos);
  CHECK(back.step == "mail[3]");
  CHECK(back.data == Sample().data);
  CHECK(back.Field("result").as_list().size() == 2);
  CHECK(back.Field("absent").is_null());
}

TEST_CASE("type tags are frozen", "[event]") {
  // Changing one of these breaks every data directory ever written.
  CHECK(static_cast<int>(EventType::kRunStarted) == 1);
  CHECK(static_cast<int>(EventType::kEffectIntent) == 7);
  CHECK(static_cast<int>(EventType::kApprovalDecided) == 10);
  CHECK(static_cast<int>(EventType::kRunCompleted) == 19);
  CHECK(static_cast<int>(EventType::kRunUpgraded) == 24);
  CHECK(std::string(EventTypeName(EventType::kSignalReceived)) == "SignalReceived");
}

TEST_CASE("a torn or altered record is reported", "[event]") {
  const std::string rec = EncodeEvent(Sample());
  Event e;
  std::string error;
  for (size_t n = 0; n < rec.size(); ++n) {
    CHECK_FALSE(DecodeEvent(rec.substr(0, n), &e, &error));
    CHECK_FALSE(error.empty());
  }
  for (size_t i = 0; i < rec.size(); ++i) {
    std::string bad = rec;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    CHECK_FALSE(DecodeEvent(bad, &e, &error));
  }
  std::string v2 = rec;
  v2[0] = 2;
  CHECK_FALSE(DecodeEvent(v2, &e, &error));
}

TEST_CASE("EventToJson shows seq, type, step and data", "[event]") {
  const std::string j = EventToJson(Sample(), 5);
  CHECK(j.find("\"seq\":5") != std::string::npos);
  CHECK(j.find("\"type\":\"StepCompleted\"") != std::string::npos);
  CHECK(j.find("\"step\":\"mail[3]\"") != std::string::npos);
  CHECK(j.find("[1,2.5]") != std::string::npos);
}

}  // namespace
}  // namespace aos
