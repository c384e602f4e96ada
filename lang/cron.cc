#include "lang/cron.h"

#include <date/tz.h>

#include <chrono>
#include <vector>

namespace aos {
namespace {

const char* const kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
const char* const kDays[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

// One value of a field: a number, or a name (months and weekdays).
bool Value(std::string_view t, int field, int* out) {
  if (t.empty()) return false;
  if (std::isdigit(static_cast<unsigned char>(t[0]))) {
    int v = 0;
    for (char c : t) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || v > 1000) return false;
      v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
  }
  std::string up;
  for (char c : t) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (field == 3) {
    for (int i = 0; i < 12; ++i) {
      if (up == kMonths[i]) return *out = i + 1, true;
    }
  }
  if (field == 4) {
    for (int i = 0; i < 7; ++i) {
      if (up == kDays[i]) return *out = i, true;
    }
  }
  return false;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

// Sets the bits of one field; *any when it is `*` (or `*/1`).
bool Field(std::string_view text, int field, int lo, int hi, uint64_t* bits, bool* any, std::string* error) {
  static const char* const kNames[] = {"minute", "hour", "day of month", "month", "day of week"};
  auto fail = [&](const std::string& why) {
    *error = std::string(kNames[field]) + " field '" + std::string(text) + "': " + why;
    return false;
  };
  *bits = 0;
  *any = text == "*";
  for (std::string_view part : Split(text, ',')) {
    int step = 1;
    if (const size_t slash = part.find('/'); slash != std::string_view::npos) {
      if (!Value(part.substr(slash + 1), -1, &step) || step < 1) return fail("a step is a whole number from 1");
      part = part.substr(0, slash);
    }
    int a = lo, b = hi;
    if (part != "*") {
      const size_t dash = part.find('-');
      if (!Value(part.substr(0, dash), field, &a)) return fail("'" + std::string(part) + "' is not a value");
      b = a;
      if (dash != std::string_view::npos && !Value(part.substr(dash + 1), field, &b)) {
        return fail("'" + std::string(part) + "' is not a range");
      }
      if (dash == std::string_view::npos && step > 1) b = hi;  // "5/15": from 5, every 15
    }
    const int top = field == 4 ? 7 : hi;  // 7 is Sunday too
    if (a < lo || b > top || a > b) {
      return fail("values run from " + std::to_string(lo) + " to " + std::to_string(top));
    }
    for (int v = a; v <= b; v += step) *bits |= uint64_t{1} << (field == 4 ? v % 7 : v);
  }
  return true;
}

}  // namespace

std::optional<CronSpec> ParseCron(std::string_view text, std::string* error) {
  std::vector<std::string_view> f;
  for (std::string_view p : Split(text, ' ')) {
    if (!p.empty()) f.push_back(p);
  }
  if (f.size() != 5) {
    *error = "a cron expression has 5 fields (minute hour day-of-month month day-of-week), not " +
             std::to_string(f.size());
    return std::nullopt;
  }
  CronSpec s;
  uint64_t bits = 0;
  bool any = false;
  if (!Field(f[0], 0, 0, 59, &bits, &any, error)) return std::nullopt;
  s.minutes = bits;
  if (!Field(f[1], 1, 0, 23, &bits, &any, error)) return std::nullopt;
  s.hours = bits;
  if (!Field(f[2], 2, 1, 31, &bits, &s.days_any, error)) return std::nullopt;
  s.days = bits;
  if (!Field(f[3], 3, 1, 12, &bits, &any, error)) return std::nullopt;
  s.months = bits;
  if (!Field(f[4], 4, 0, 6, &bits, &s.weekdays_any, error)) return std::nullopt;
  s.weekdays = bits;
  return s;
}

const date::time_zone* FindTimeZone(const std::string& name, std::string* error) {
  try {
    return date::locate_zone(name.empty() ? "UTC" : name);
  } catch (const std::exception&) {
    *error = "'" + name + "' is not a time zone of the tz database (such as Europe/Berlin, America/New_York, UTC)";
    return nullptr;
  }
}

namespace {
// "+11:00", "-02:30", "02:00" as seconds east of UTC; nullopt if it is not
// an offset.
std::optional<int64_t> FixedOffset(const std::string& tz) {
  size_t i = 0;
  int sign = 1;
  if (!tz.empty() && (tz[0] == '+' || tz[0] == '-')) {
    sign = tz[0] == '-' ? -1 : 1;
    i = 1;
  }
  if (tz.size() != i + 5 || tz[i + 2] != ':') return std::nullopt;
  int v[4];
  for (int k = 0, j = 0; k < 5; ++k) {
    if (k == 2) continue;
    const char c = tz[i + k];
    if (c < '0' || c > '9') return std::nullopt;
    v[j++] = c - '0';
  }
  const int hours = v[0] * 10 + v[1], minutes = v[2] * 10 + v[3];
  if (hours > 23 || minutes > 59) return std::nullopt;
  return sign * (hours * 3600 + minutes * 60);
}
}  // namespace

bool LocalParts(Timestamp t, const std::string& tz, LocalTimeParts* out, std::string* error) {
  using namespace std::chrono;
  // A zone moves a time by less than a day: keep a day from the int64 ends.
  constexpr int64_t kDay = 86'400'000'000'000;
  if (t.nanos > INT64_MAX - kDay || t.nanos < INT64_MIN + kDay) {
    *error = "the time is too close to the end of the range (1677-2262)";
    return false;
  }
  const sys_time<nanoseconds> at{nanoseconds{t.nanos}};
  nanoseconds local;  // since the local epoch
  if (auto off = FixedOffset(tz)) {
    local = at.time_since_epoch() + seconds{*off};
  } else {
    const date::time_zone* zone = FindTimeZone(tz, error);
    if (!zone) return false;
    local = zone->to_local(at).time_since_epoch();
  }
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd{date::sys_days{day}};
  const date::weekday wd{date::sys_days{day}};
  const nanoseconds in_day = local - day;
  out->year = static_cast<int>(ymd.year());
  out->month = static_cast<int>(static_cast<unsigned>(ymd.month()));
  out->day = static_cast<int>(static_cast<unsigned>(ymd.day()));
  out->weekday = static_cast<int>(wd.c_encoding());
  out->yearday = static_cast<int>((date::sys_days{day} - date::sys_days{ymd.year() / 1 / 1}).count());
  out->hour = static_cast<int>(duration_cast<hours>(in_day).count());
  out->minute = static_cast<int>(duration_cast<minutes>(in_day).count() % 60);
  out->second = static_cast<int>(duration_cast<seconds>(in_day).count() % 60);
  out->millisecond = static_cast<int>(duration_cast<milliseconds>(in_day).count() % 1000);
  return true;
}

bool FormatTime(Timestamp t, const std::string& fmt, const std::string& tz, std::string* out, std::string* error) {
  if (fmt.size() > 200) {
    *error = "the format is longer than 200 characters";
    return false;
  }
  const date::time_zone* zone = FindTimeZone(tz, error);
  if (!zone) return false;
  const auto at = date::floor<std::chrono::seconds>(std::chrono::sys_time<std::chrono::nanoseconds>(
      std::chrono::nanoseconds(t.nanos)));
  try {
    *out = date::format(fmt, date::make_zoned(zone, at));
  } catch (const std::exception& ex) {
    *error = ex.what();
    return false;
  }
  return true;
}

std::optional<int64_t> NextFire(const CronSpec& s, const date::time_zone* tz, int64_t after_nanos) {
  using namespace std::chrono;
  if (!tz) tz = date::locate_zone("UTC");
  const sys_time<nanoseconds> after{nanoseconds{after_nanos}};
  auto local = date::floor<minutes>(tz->to_local(after)) + minutes{1};
  const auto limit = local + date::days{5 * 366};
  while (local < limit) {
    const auto day = date::floor<date::days>(local);
    const date::year_month_day ymd{day};
    const unsigned month = static_cast<unsigned>(ymd.month());
    if (!s.months[month]) {
      const date::year_month next = date::year_month{ymd.year(), ymd.month()} + date::months{1};
      local = date::local_days{next / 1};
      continue;
    }
    const unsigned dom = static_cast<unsigned>(ymd.day());
    const unsigned dow = date::weekday{day}.c_encoding();
    const bool dom_ok = s.days[dom], dow_ok = s.weekdays[dow];
    const bool day_ok = s.days_any && s.weekdays_any ? true
                        : s.days_any                 ? dow_ok
                        : s.weekdays_any             ? dom_ok
                                                     : (dom_ok || dow_ok);  // Vixie cron: either
    if (!day_ok) {
      local = day + date::days{1};
      continue;
    }
    const auto tod = date::hh_mm_ss<minutes>(local - day);
    const int h = static_cast<int>(tod.hours().count()), m = static_cast<int>(tod.minutes().count());
    if (!s.hours[h]) {
      local = day + hours{h + 1};
      continue;
    }
    if (!s.minutes[m]) {
      local += minutes{1};
      continue;
    }
    const date::local_info info = tz->get_info(date::local_seconds{local});
    if (info.result == date::local_info::nonexistent) {
      local += minutes{1};
      continue;
    }
    // Unique, or the first of two occurrences.
    const auto sys = date::sys_seconds{local.time_since_epoch() - info.first.offset};
    if (sys > after) return duration_cast<nanoseconds>(sys.time_since_epoch()).count();
    local += minutes{1};
  }
  return std::nullopt;
}

}  // namespace aos
