// Cron: when a `schedule` trigger fires. A 5-field cron expression (minute,
// hour, day of month, month, day of week; `*`, numbers, names JAN-DEC and
// SUN-SAT, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`; 7 is Sunday
// too), read in an IANA time zone (the OS tz database, through Howard
// Hinnant's date library). When both day fields are restricted (anything
// but a plain `*`, so `*/2` restricts, as python-croniter reads it) a day
// matching either fires. A local time that does not exist (the
// hour skipped when clocks go forward) does not fire; one that happens twice
// (clocks go back) fires once, at its first occurrence.
#ifndef AOS_LANG_CRON_H_
#define AOS_LANG_CRON_H_

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lang/value.h"

namespace date {
class time_zone;
}

namespace aos {

struct CronSpec {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;    // 1-31
  std::bitset<13> months;  // 1-12
  std::bitset<7> weekdays; // 0 = Sunday
  bool days_any = true, weekdays_any = true;
};

// nullopt with *error naming the field and what is wrong.
std::optional<CronSpec> ParseCron(std::string_view text, std::string* error);

// The IANA zone `name` ("UTC" or "" for UTC); null with *error when the tz
// database does not know it.
const date::time_zone* FindTimeZone(const std::string& name, std::string* error);

// strftime-style text of `t` in the IANA zone `tz` (%Y %m %d %H %M %S %G
// %V %a %b %Z ...); false with *error for an unknown zone or a format
// longer than 200 characters.
bool FormatTime(Timestamp t, const std::string& fmt, const std::string& tz, std::string* out, std::string* error);

// The calendar fields of `t` in zone `tz`: an IANA name ("" or "UTC" for
// UTC) or a fixed offset such as "+11:00", "-02:30" or "02:00" (CEL's
// timestamp accessors). false with *error for a zone it cannot read.
struct LocalTimeParts {
  int64_t year;
  int month;      // 1-12
  int day;        // 1-31
  int weekday;    // 0 Sunday - 6 Saturday
  int yearday;    // 0-365
  int hour, minute, second;
  int millisecond;
};
bool LocalParts(Timestamp t, const std::string& tz, LocalTimeParts* out, std::string* error);

// The first fire time strictly after `after_nanos` (unix nanoseconds), as
// unix nanoseconds; nullopt when there is none within five years (such as
// "0 0 30 2 *"). `tz` null means UTC.
std::optional<int64_t> NextFire(const CronSpec& spec, const date::time_zone* tz, int64_t after_nanos);

}  // namespace aos

#endif  // AOS_LANG_CRON_H_
