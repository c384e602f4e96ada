#include "lang/cron.h"

#include <catch2/catch.hpp>

#include "lang/value.h"

namespace {

int64_t At(const char* rfc3339) { return aos::ParseTimestampText(rfc3339)->nanos; }
std::string Next(const char* expr, const char* tz, const char* after) {
  std::string error;
  auto spec = aos::ParseCron(expr, &error);
  REQUIRE(spec);
  const date::time_zone* zone = aos::FindTimeZone(tz, &error);
  REQUIRE(zone);
  auto n = aos::NextFire(*spec, zone, At(after));
  return n ? aos::FormatTimestamp(aos::Timestamp{*n}) : "never";
}

}  // namespace

TEST_CASE("cron: fields, names, ranges, steps and lists") {
  std::string error;
  auto s = aos::ParseCron("*/15 9-17 1,15 JAN-MAR mon-fri", &error);
  REQUIRE(s);
  CHECK(s->minutes.count() == 4);
  CHECK(s->hours.count() == 9);
  CHECK(s->days.count() == 2);
  CHECK(s->months.count() == 3);
  CHECK(s->weekdays.count() == 5);
  CHECK_FALSE(s->days_any);
  CHECK(aos::ParseCron("0 0 * * 7", &error)->weekdays[0]);  // 7 is Sunday
  for (const char* bad : {"* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8",
                          "5-1 * * * *", "*/0 * * * *", "0 0 L * *", "x * * * *"}) {
    INFO(bad);
    CHECK_FALSE(aos::ParseCron(bad, &error));
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("cron: next fire times in a time zone, across clock changes") {
  CHECK(Next("0 9 * * MON", "Europe/Berlin", "2026-03-28T00:00:00Z") == "2026-03-30T07:00:00Z");  // CEST
  CHECK(Next("0 9 * * MON", "Europe/Berlin", "2026-10-24T00:00:00Z") == "2026-10-26T08:00:00Z");  // CET
  // 02:30 does not exist on 2026-03-29 in Berlin: skipped.
  CHECK(Next("30 2 * * *", "Europe/Berlin", "2026-03-28T02:00:00Z") == "2026-03-30T00:30:00Z");
  // 02:30 happens twice on 2026-10-25: once, at the first.
  CHECK(Next("30 2 * * *", "Europe/Berlin", "2026-10-24T02:00:00Z") == "2026-10-25T00:30:00Z");
  CHECK(Next("30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z") == "2026-10-26T01:30:00Z");
  // Either day field matches when both are restricted (Vixie cron).
  CHECK(Next("0 0 13 * FRI", "UTC", "2026-11-01T00:00:00Z") == "2026-11-06T00:00:00Z");
  CHECK(Next("0 0 30 2 *", "UTC", "2026-01-01T00:00:00Z") == "never");
  CHECK(Next("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z") == "2028-02-29T00:00:00Z");
  std::string error;
  CHECK_FALSE(aos::FindTimeZone("Mars/Base", &error));
  CHECK(aos::FindTimeZone("", &error));  // UTC
}
