#include "lang/eval_functions.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "lang/cron.h"
#include "lang/regex.h"

namespace aos {

bool IsNum(ValueKind k) {
  return k == ValueKind::kInt || k == ValueKind::kUint || k == ValueKind::kDouble;
}

double AsDouble(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kInt: return static_cast<double>(v.as_int());
    case ValueKind::kUint: return static_cast<double>(v.as_uint());
    default: return v.as_double();
  }
}

namespace {
constexpr int64_t kNanosPerUnit = 1'000'000'000;

std::string DurationSeconds(Duration d) {
  const bool negative = d.nanos < 0;
  const uint64_t abs = negative ? 0 - static_cast<uint64_t>(d.nanos) : static_cast<uint64_t>(d.nanos);
  std::string out = (negative ? "-" : "") + std::to_string(abs / kNanosPerUnit);
  if (uint64_t frac = abs % kNanosPerUnit) {
    std::string digits = std::to_string(frac);
    digits.insert(0, 9 - digits.size(), '0');
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out + "s";
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

// One call being evaluated: its arguments and what it may use.
struct FunctionCall {
  const Expr& e;
  const std::string& name;
  const std::vector<Value>& args;
  FunctionContext& ctx;

  EvalResult Err(std::string msg, std::string kind = "expr.error") const {
    return EvalError{std::move(kind), std::move(msg), e.span};
  }
  EvalResult CostExceeded() const { return Err("evaluation cost limit exceeded"); }
  // Charges for n bytes built; false past the budget.
  bool Charge(size_t n) {
    ctx.cost += (n + 63) / 64;
    return ctx.cost <= ctx.limits.max_cost;
  }
  EvalResult WrongArgs() const {
    std::string sig = name + "(";
    for (size_t i = 0; i < args.size(); ++i) sig += std::string(i ? ", " : "") + KindName(args[i].kind());
    return Err("no such overload: " + sig + ")");
  }
  // Whether the arguments are exactly of these kinds.
  bool Kinds(std::initializer_list<ValueKind> ks) const {
    if (args.size() != ks.size()) return false;
    size_t i = 0;
    for (ValueKind k : ks) {
      if (args[i++].kind() != k) return false;
    }
    return true;
  }
  const Value& a0() const { return args[0]; }
  const std::string& s(size_t i) const { return args[i].as_string(); }
};

namespace {
using K = ValueKind;

EvalResult Dyn(FunctionCall& c) {
  // CEL's dyn(): the value itself, its static type forgotten.
  return c.a0();
}

EvalResult TimePart(FunctionCall& c) {
  const std::string& n = c.name;
  const bool clock = n == "getHours" || n == "getMinutes" || n == "getSeconds" || n == "getMilliseconds";
  if (clock && c.Kinds({K::kDuration})) {
    // On a duration: the whole duration in that unit, truncated (CEL).
    const int64_t ns = c.a0().as_duration().nanos;
    const int64_t unit = n == "getHours" ? 3'600'000'000'000 : n == "getMinutes" ? 60'000'000'000
                         : n == "getSeconds" ? 1'000'000'000 : 1'000'000;
    return Value::Int(ns / unit);
  }
  // On a timestamp: the field in UTC, or in the zone given (an IANA name
  // or an offset such as "+11:00"). Months, days of the month and of the
  // year count from 0, as in CEL; getDate() counts days from 1.
  if (!c.Kinds({K::kTimestamp}) && !c.Kinds({K::kTimestamp, K::kString})) return c.WrongArgs();
  LocalTimeParts p;
  std::string why;
  if (!LocalParts(c.a0().as_time(), c.args.size() > 1 ? c.s(1) : "UTC", &p, &why)) return c.Err(n + "(): " + why);
  if (n == "getFullYear") return Value::Int(p.year);
  if (n == "getMonth") return Value::Int(p.month - 1);
  if (n == "getDate") return Value::Int(p.day);
  if (n == "getDayOfMonth") return Value::Int(p.day - 1);
  if (n == "getDayOfWeek") return Value::Int(p.weekday);
  if (n == "getDayOfYear") return Value::Int(p.yearday);
  if (n == "getHours") return Value::Int(p.hour);
  if (n == "getMinutes") return Value::Int(p.minute);
  if (n == "getSeconds") return Value::Int(p.second);
  return Value::Int(p.millisecond);
}

EvalResult Size(FunctionCall& c) {
  const Value& v = c.a0();
  switch (v.kind()) {
    case K::kString: return Value::Int(static_cast<int64_t>(Utf8Length(v.as_string())));
    case K::kBytes: return Value::Int(static_cast<int64_t>(v.as_bytes().size()));
    case K::kList: return Value::Int(static_cast<int64_t>(v.as_list().size()));
    case K::kMap: return Value::Int(static_cast<int64_t>(v.as_map().size()));
    default: return c.WrongArgs();
  }
}

EvalResult Contains(FunctionCall& c) {
  if (c.args.size() == 2 && c.a0().kind() == K::kList) {
    for (const auto& x : c.a0().as_list()) {
      if (x == c.args[1]) return Value::Bool(true);
    }
    return Value::Bool(false);
  }
  if (!c.Kinds({K::kString, K::kString})) return c.WrongArgs();
  return Value::Bool(c.s(0).find(c.s(1)) != std::string::npos);
}

EvalResult StartsWith(FunctionCall& c) {
  if (!c.Kinds({K::kString, K::kString})) return c.WrongArgs();
  return Value::Bool(c.s(0).rfind(c.s(1), 0) == 0);
}

EvalResult EndsWith(FunctionCall& c) {
  if (!c.Kinds({K::kString, K::kString})) return c.WrongArgs();
  const std::string& s = c.s(0);
  const std::string& t = c.s(1);
  return Value::Bool(s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0);
}

EvalResult Matches(FunctionCall& c) {
  if (!c.Kinds({K::kString, K::kString})) return c.WrongArgs();
  if (c.s(0).size() > kMaxRegexText) return c.Err("matches(): the text is longer than 64 KiB");
  // RE2 is linear in the text: charge for the text, not text x pattern.
  if (!c.Charge(c.s(0).size() + c.s(1).size())) return c.CostExceeded();
  std::string why;
  auto re = Regex::Compile(c.s(1), &why);
  if (!re) return c.Err("matches(): " + why);
  return Value::Bool(re->Search(c.s(0)));
}

// Whether all of `s` is one decimal number that fits T.
template <typename T>
bool WholeNumber(const std::string& s, T* out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

EvalResult ToInt(FunctionCall& c) {
  const Value& v = c.a0();
  switch (v.kind()) {
    case K::kInt: return v;
    case K::kUint:
      if (v.as_uint() > static_cast<uint64_t>(INT64_MAX)) return c.Err("int(): out of range");
      return Value::Int(static_cast<int64_t>(v.as_uint()));
    case K::kDouble: {
      const double d = v.as_double();
      if (!(d > -9.223372036854775808e18 && d < 9.223372036854775807e18)) return c.Err("int(): out of range");
      return Value::Int(static_cast<int64_t>(d));
    }
    case K::kString: {
      int64_t i;
      if (!WholeNumber(v.as_string(), &i)) return c.Err("int(): '" + v.as_string() + "' is not an int");
      return Value::Int(i);
    }
    case K::kTimestamp: return Value::Int(v.as_time().nanos / kNanosPerUnit);
    case K::kBool: return Value::Int(v.as_bool() ? 1 : 0);
    default: return c.WrongArgs();
  }
}

EvalResult ToUint(FunctionCall& c) {
  const Value& v = c.a0();
  switch (v.kind()) {
    case K::kUint: return v;
    case K::kInt:
      if (v.as_int() < 0) return c.Err("uint(): out of range");
      return Value::Uint(static_cast<uint64_t>(v.as_int()));
    case K::kDouble: {
      const double d = v.as_double();
      if (!(d > -1.0 && d < 1.8446744073709552e19)) return c.Err("uint(): out of range");
      return Value::Uint(static_cast<uint64_t>(d));
    }
    case K::kString: {
      uint64_t u;
      if (!WholeNumber(v.as_string(), &u)) return c.Err("uint(): '" + v.as_string() + "' is not a uint");
      return Value::Uint(u);
    }
    default: return c.WrongArgs();
  }
}

EvalResult ToDouble(FunctionCall& c) {
  const Value& v = c.a0();
  switch (v.kind()) {
    case K::kDouble: return v;
    case K::kInt: return Value::Double(static_cast<double>(v.as_int()));
    case K::kUint: return Value::Double(static_cast<double>(v.as_uint()));
    case K::kString: {
      const std::string& s = v.as_string();
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size()) return c.Err("double(): '" + s + "' is not a double");
      return Value::Double(d);
    }
    case K::kMoney: return Value::Double(static_cast<double>(v.as_money().nanos) / 1e9);
    default: return c.WrongArgs();
  }
}

EvalResult ToString(FunctionCall& c) {
  // A duration in CEL's seconds form: "1000000s", "1.5s", "-0.25s".
  if (c.a0().kind() == K::kDuration) return Value::String(DurationSeconds(c.a0().as_duration()));
  return Value::String(c.a0().ToDisplayString());
}

EvalResult ToBool(FunctionCall& c) {
  if (c.a0().kind() == K::kBool) return c.a0();
  if (c.a0().kind() != K::kString) return c.WrongArgs();
  const std::string& s = c.s(0);
  if (s == "true" || s == "True" || s == "TRUE" || s == "1" || s == "t") return Value::Bool(true);
  if (s == "false" || s == "False" || s == "FALSE" || s == "0" || s == "f") return Value::Bool(false);
  return c.Err("bool(): '" + s + "' is not a bool");
}

EvalResult ToBytes(FunctionCall& c) {
  if (c.Kinds({K::kString})) return Value::BytesOf(c.s(0));
  if (c.Kinds({K::kBytes})) return c.a0();
  return c.WrongArgs();
}

EvalResult TypeOf(FunctionCall& c) { return Value::Type(KindName(c.a0().kind())); }

EvalResult ToTimestamp(FunctionCall& c) {
  if (c.Kinds({K::kTimestamp})) return c.a0();
  if (c.Kinds({K::kInt})) {
    int64_t r;
    if (__builtin_mul_overflow(c.a0().as_int(), kNanosPerUnit, &r)) return c.Err("timestamp(): out of range");
    return Value::Time(Timestamp{r});
  }
  if (!c.Kinds({K::kString})) return c.WrongArgs();
  std::string why;
  if (auto t = ParseTimestampText(c.s(0), &why)) return Value::Time(*t);
  return c.Err("timestamp(): '" + c.s(0) + "' is " + why);
}

EvalResult ToDuration(FunctionCall& c) {
  if (c.Kinds({K::kDuration})) return c.a0();
  if (!c.Kinds({K::kString})) return c.WrongArgs();
  if (auto d = ParseDurationText(c.s(0))) return Value::Dur(*d);
  return c.Err("duration(): '" + c.s(0) + "' is not a duration");
}

EvalResult FormatTimeFn(FunctionCall& c) {
  // strftime-style text of t in the IANA zone (%G-W%V is the ISO week).
  if (!c.Kinds({K::kTimestamp, K::kString, K::kString}) && !c.Kinds({K::kTimestamp, K::kString})) {
    return c.WrongArgs();
  }
  std::string text, error;
  if (!FormatTime(c.a0().as_time(), c.s(1), c.args.size() > 2 ? c.s(2) : "UTC", &text, &error)) {
    return c.Err("format_time(): " + error);
  }
  return Value::String(std::move(text));
}

EvalResult Case(FunctionCall& c) {
  if (!c.Kinds({K::kString})) return c.WrongArgs();
  if (c.name == "lower") return Value::String(Lower(c.s(0)));
  if (c.name == "upper") return Value::String(Upper(c.s(0)));
  return Value::String(Trim(c.s(0)));
}

EvalResult Split(FunctionCall& c) {
  if (!c.Kinds({K::kString, K::kString})) return c.WrongArgs();
  const std::string& s = c.s(0);
  const std::string& sep = c.s(1);
  ValueList parts;
  if (sep.empty()) {
    for (char ch : s) parts.push_back(Value::String(std::string(1, ch)));
  } else {
    size_t start = 0;
    for (size_t p; (p = s.find(sep, start)) != std::string::npos; start = p + sep.size()) {
      parts.push_back(Value::String(s.substr(start, p - start)));
    }
    parts.push_back(Value::String(s.substr(start)));
  }
  if (!c.Charge(s.size() + parts.size() * 8)) return c.CostExceeded();
  return Value::List(std::move(parts));
}

EvalResult Join(FunctionCall& c) {
  if (c.a0().kind() != K::kList || (c.args.size() == 2 && c.args[1].kind() != K::kString)) return c.WrongArgs();
  const std::string sep = c.args.size() == 2 ? c.s(1) : "";
  std::string out;
  bool first = true;
  for (const auto& x : c.a0().as_list()) {
    if (!first) out += sep;
    first = false;
    out += x.ToDisplayString();
    if (!c.Charge(out.size() / 16)) return c.CostExceeded();
  }
  return Value::String(std::move(out));
}

EvalResult Replace(FunctionCall& c) {
  if (!c.Kinds({K::kString, K::kString, K::kString})) return c.WrongArgs();
  const std::string& s = c.s(0);
  const std::string& from = c.s(1);
  const std::string& to = c.s(2);
  if (from.empty()) return Value::String(s);
  std::string out;
  size_t start = 0;
  for (size_t p; (p = s.find(from, start)) != std::string::npos; start = p + from.size()) {
    out += s.substr(start, p - start) + to;
    if (!c.Charge(out.size() / 16)) return c.CostExceeded();
  }
  out += s.substr(start);
  return Value::String(std::move(out));
}

EvalResult Format(FunctionCall& c) {
  if (c.a0().kind() != K::kString) return c.WrongArgs();
  ValueList fill;
  if (c.args.size() == 2 && c.args[1].kind() == K::kList) {
    fill = c.args[1].as_list();
  } else {
    fill.assign(c.args.begin() + 1, c.args.end());
  }
  const std::string& f = c.s(0);
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    if (i + 1 >= f.size()) return c.Err("format(): the format ends with '%'");
    const char verb = f[++i];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (next >= fill.size()) return c.Err("format(): too few arguments for the format");
    const Value& v = fill[next++];
    if (verb == 's') {
      out += v.ToDisplayString();
    } else if (verb == 'd') {
      if (v.kind() != K::kInt && v.kind() != K::kUint) return c.Err("format(): %d needs an int");
      out += v.ToJson();
    } else if (verb == 'f') {
      if (!IsNum(v.kind())) return c.Err("format(): %f needs a number");
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.6f", AsDouble(v));
      out += buf;
    } else {
      return c.Err(std::string("format(): unknown verb %") + verb);
    }
  }
  return Value::String(std::move(out));
}

EvalResult JsonEncode(FunctionCall& c) {
  std::string s = c.a0().ToJson();
  if (!c.Charge(s.size())) return c.CostExceeded();
  return Value::String(std::move(s));
}

EvalResult JsonDecode(FunctionCall& c) {
  if (!c.Kinds({K::kString})) return c.WrongArgs();
  if (!c.Charge(c.s(0).size())) return c.CostExceeded();
  std::string error;
  if (auto v = ParseJson(c.s(0), &error)) return *v;
  return c.Err("json_decode(): not valid JSON");
}

bool Less(const Value& a, const Value& b) {
  if (IsNum(a.kind()) && IsNum(b.kind())) return CompareNumbers(a, b) < 0;
  switch (a.kind()) {
    case K::kString: return a.as_string() < b.as_string();
    case K::kTimestamp: return a.as_time().nanos < b.as_time().nanos;
    case K::kDuration: return a.as_duration().nanos < b.as_duration().nanos;
    case K::kBool: return a.as_bool() < b.as_bool();
    case K::kMoney: return a.as_money().nanos < b.as_money().nanos;
    default: return false;
  }
}

// Whether two values can be ordered against each other.
bool SameOrder(const Value& a, const Value& b) {
  return (IsNum(a.kind()) && IsNum(b.kind())) || a.kind() == b.kind();
}

// The items of sum/sort (one list) or min/max (one list, or the arguments).
bool Items(FunctionCall& c, ValueList* items) {
  if (c.args.size() == 1 && c.a0().kind() == K::kList) {
    *items = c.a0().as_list();
  } else if ((c.name == "min" || c.name == "max") && c.args.size() >= 2) {
    *items = c.args;
  } else {
    return false;
  }
  return true;
}

// a, then b's items that a does not have (equal as == says), in b's order.
EvalResult Union(FunctionCall& c) {
  if (!c.Kinds({K::kList, K::kList})) return c.WrongArgs();
  const size_t na = c.a0().as_list().size(), nb = c.args[1].as_list().size();
  if (!c.Charge((na + nb) * 8 + na * nb)) return c.CostExceeded();
  return ListUnion(c.a0(), c.args[1]);
}

EvalResult Sort(FunctionCall& c) {
  ValueList items;
  if (!Items(c, &items)) return c.WrongArgs();
  if (!c.Charge(items.size() * 8)) return c.CostExceeded();
  for (size_t i = 1; i < items.size(); ++i) {
    if (!SameOrder(items[i], items[0])) return c.Err("sort(): the list mixes kinds");
  }
  if (!items.empty() && !IsNum(items[0].kind()) && items[0].kind() != K::kString &&
      items[0].kind() != K::kTimestamp && items[0].kind() != K::kDuration && items[0].kind() != K::kBool) {
    return c.Err(std::string("sort(): cannot order ") + KindName(items[0].kind()));
  }
  std::stable_sort(items.begin(), items.end(), Less);
  return Value::List(std::move(items));
}

EvalResult Sum(FunctionCall& c) {
  ValueList items;
  if (!Items(c, &items)) return c.WrongArgs();
  if (!c.Charge(items.size() * 8)) return c.CostExceeded();
  if (items.empty()) return Value::Int(0);
  Value acc = items[0];
  Expr plus(ExprKind::kBinary, c.e.span);
  plus.ref_.name = "+";
  for (size_t i = 1; i < items.size(); ++i) {
    if (acc.kind() != items[i].kind()) {
      return c.Err(std::string("sum(): the list mixes ") + KindName(acc.kind()) + " and " + KindName(items[i].kind()));
    }
    EvalResult r = c.ctx.add(plus, acc, items[i]);
    if (!r.ok()) return c.Err("sum(): " + r.error().message);
    acc = std::move(r.value());
  }
  if (!IsNum(acc.kind()) && acc.kind() != K::kDuration && acc.kind() != K::kMoney) {
    return c.Err(std::string("sum(): cannot add ") + KindName(acc.kind()));
  }
  return acc;
}

EvalResult MinMax(FunctionCall& c) {
  ValueList items;
  if (!Items(c, &items)) return c.WrongArgs();
  if (!c.Charge(items.size() * 8)) return c.CostExceeded();
  if (items.empty()) return c.Err(c.name + "() of an empty list");
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    if (!SameOrder(items[i], items[0])) return c.Err(c.name + "(): the values mix kinds");
    if (c.name == "min" ? Less(items[i], items[best]) : Less(items[best], items[i])) best = i;
  }
  return items[best];
}

EvalResult KeysValues(FunctionCall& c) {
  if (!c.Kinds({K::kMap})) return c.WrongArgs();
  ValueList out;
  for (const auto& [k, v] : c.a0().as_map()) out.push_back(c.name == "keys" ? k : v);
  return Value::List(std::move(out));
}

EvalResult Recorded(FunctionCall& c) {
  if (auto v = c.ctx.env.Nondeterministic(c.name, c.e.span)) return *v;
  return c.Err(c.name + "() has no value here", "expr.unknown");
}

EvalResult EnvOrSecret(FunctionCall& c) {
  if (!c.Kinds({K::kString})) return c.WrongArgs();
  auto v = c.name == "env" ? c.ctx.env.EnvVar(c.s(0)) : c.ctx.env.Secret(c.s(0));
  if (v) return *v;
  return c.Err(c.name + "(\"" + c.s(0) + "\") has no value here", "expr.unknown");
}

EvalResult Bearer(FunctionCall& c) {
  if (!c.Kinds({K::kString})) return c.WrongArgs();
  return Value::String("Bearer " + c.s(0));
}

EvalResult Basic(FunctionCall& c) {
  if (!c.Kinds({K::kString, K::kString})) return c.WrongArgs();
  return Value::String("Basic " + Base64Encode(c.s(0) + ":" + c.s(1)));
}

constexpr size_t kMany = SIZE_MAX;
using R = ResultRule;

}  // namespace

bool SortsBefore(const Value& a, const Value& b) { return Less(a, b); }

Value ListUnion(const Value& a, const Value& b) {
  ValueList out = a.as_list();
  // Each of b's items is looked for in what is built so far.
  for (const Value& x : b.as_list()) {
    if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
  }
  return Value::List(std::move(out));
}

const std::vector<FunctionSpec>& FunctionTable() {
  static const std::vector<FunctionSpec> table = {
      // Special forms: the evaluator and the checker handle them apart.
      {"has", 1, 1, R::kSpecial, "has(a.f) -> bool", "whether map or record a has field f", nullptr},
      {"default", 2, kMany, R::kSpecial, "default(x, fallback...) -> T",
       "the first argument that is not null, missing or skipped", nullptr},
      {"coalesce", 2, kMany, R::kSpecial, "coalesce(x, y...) -> T", "the same as default()", nullptr},
      {"all", 3, 3, R::kSpecial, "l.all(x, p) -> bool", "whether p holds for every element (map: every key)", nullptr},
      {"exists", 3, 3, R::kSpecial, "l.exists(x, p) -> bool", "whether p holds for some element", nullptr},
      {"exists_one", 3, 3, R::kSpecial, "l.exists_one(x, p) -> bool", "whether p holds for exactly one element",
       nullptr},
      {"map", 3, 4, R::kSpecial, "l.map(x, [p,] f) -> list", "f of each element (for which p holds)", nullptr},
      {"filter", 3, 3, R::kSpecial, "l.filter(x, p) -> list", "the elements for which p holds", nullptr},
      // Size and strings.
      {"size", 1, 1, R::kInt, "size(x) -> int", "characters of a string, bytes, list or map entries", Size},
      {"contains", 2, 2, R::kBool, "s.contains(t) -> bool", "whether string s contains t (a list: holds t)",
       Contains},
      {"startsWith", 2, 2, R::kBool, "s.startsWith(t) -> bool", "whether s starts with t", StartsWith},
      {"endsWith", 2, 2, R::kBool, "s.endsWith(t) -> bool", "whether s ends with t", EndsWith},
      {"matches", 2, 2, R::kBool, "s.matches(re) -> bool", "whether RE2 expression re matches part of s",
       Matches},
      {"lower", 1, 1, R::kString, "s.lower() -> string", "s in lower case (ASCII)", Case},
      {"upper", 1, 1, R::kString, "s.upper() -> string", "s in upper case (ASCII)", Case},
      {"trim", 1, 1, R::kString, "s.trim() -> string", "s without leading and trailing white space", Case},
      {"split", 2, 2, R::kStringList, "s.split(sep) -> list(string)", "the parts of s between each sep", Split},
      {"join", 1, 2, R::kString, "l.join([sep]) -> string", "the elements' text, sep between them", Join},
      {"replace", 3, 3, R::kString, "s.replace(from, to) -> string", "s with every from replaced by to", Replace},
      {"format", 1, kMany, R::kString, "format(f, args...) -> string",
       "f with %s, %d, %f filled in from args (or one list)", Format},
      // Conversions.
      {"int", 1, 1, R::kInt, "int(x) -> int", "x as an int (uint, double, string, timestamp, bool)", ToInt},
      {"uint", 1, 1, R::kUint, "uint(x) -> uint", "x as a uint (int, double, string)", ToUint},
      {"double", 1, 1, R::kDouble, "double(x) -> double", "x as a double (int, uint, string, money)", ToDouble},
      {"string", 1, 1, R::kString, "string(x) -> string", "x as text (a duration in seconds: \"90s\")", ToString},
      {"bool", 1, 1, R::kBool, "bool(x) -> bool", "a bool, or a string such as \"true\" or \"0\"", ToBool},
      {"bytes", 1, 1, R::kBytes, "bytes(s) -> bytes", "the UTF-8 bytes of s", ToBytes},
      {"type", 1, 1, R::kType, "type(x) -> type", "the type of x", TypeOf},
      {"dyn", 1, 1, R::kAny, "dyn(x) -> dyn", "x, its static type forgotten", Dyn},
      // Time.
      {"timestamp", 1, 1, R::kTime, "timestamp(x) -> timestamp", "an RFC 3339 string or Unix seconds as a time",
       ToTimestamp},
      {"duration", 1, 1, R::kDuration, "duration(s) -> duration", "\"1h30m\", \"90s\", \"250ms\" as a duration",
       ToDuration},
      {"getHours", 1, 2, R::kInt, "d.getHours(), t.getHours([zone]) -> int",
       "a duration in whole hours (truncated); a time's hour (0-23) in UTC or the zone", TimePart},
      {"getMinutes", 1, 2, R::kInt, "d.getMinutes(), t.getMinutes([zone]) -> int",
       "a duration in whole minutes; a time's minute (0-59)", TimePart},
      {"getSeconds", 1, 2, R::kInt, "d.getSeconds(), t.getSeconds([zone]) -> int",
       "a duration in whole seconds; a time's second (0-59)", TimePart},
      {"getMilliseconds", 1, 2, R::kInt, "d.getMilliseconds(), t.getMilliseconds([zone]) -> int",
       "a duration in whole milliseconds; a time's millisecond (0-999)", TimePart},
      {"getFullYear", 1, 2, R::kInt, "t.getFullYear([zone]) -> int", "the year of a time in UTC or the zone",
       TimePart},
      {"getMonth", 1, 2, R::kInt, "t.getMonth([zone]) -> int", "the month, 0 for January", TimePart},
      {"getDate", 1, 2, R::kInt, "t.getDate([zone]) -> int", "the day of the month, from 1", TimePart},
      {"getDayOfMonth", 1, 2, R::kInt, "t.getDayOfMonth([zone]) -> int", "the day of the month, from 0", TimePart},
      {"getDayOfWeek", 1, 2, R::kInt, "t.getDayOfWeek([zone]) -> int", "the day of the week, 0 for Sunday",
       TimePart},
      {"getDayOfYear", 1, 2, R::kInt, "t.getDayOfYear([zone]) -> int", "the day of the year, from 0", TimePart},
      {"format_time", 2, 3, R::kString, "format_time(t, fmt, [zone]) -> string",
       "strftime text of t in an IANA zone (UTC by default)", FormatTimeFn},
      {"now", 0, 0, R::kTime, "now() -> timestamp", "the time, recorded once per call site and run", Recorded},
      // JSON and collections.
      {"json_encode", 1, 1, R::kString, "json_encode(x) -> string", "x as JSON text", JsonEncode},
      {"json_decode", 1, 1, R::kAny, "json_decode(s) -> dyn", "the value of JSON text s", JsonDecode},
      {"sum", 1, 1, R::kElemOfFirst, "sum(l) -> T", "the sum of a list of numbers, durations or money (0 if empty)",
       Sum},
      {"min", 1, kMany, R::kElemOfFirst, "min(l) or min(a, b...) -> T", "the least element", MinMax},
      {"max", 1, kMany, R::kElemOfFirst, "max(l) or max(a, b...) -> T", "the greatest element", MinMax},
      {"sort", 1, 1, R::kFirst, "sort(l) -> list", "l in ascending order", Sort},
      {"union", 2, 2, R::kFirst, "union(a, b) -> list", "a, then the items of b that a does not have", Union},
      {"keys", 1, 1, R::kKeysOfFirst, "keys(m) -> list", "the keys of map m, in order", KeysValues},
      {"values", 1, 1, R::kValuesOfFirst, "values(m) -> list", "the values of map m, in order", KeysValues},
      // The run's world.
      {"uuid", 0, 0, R::kString, "uuid() -> string", "a random UUID, recorded once per call site and run",
       Recorded},
      {"env", 1, 1, R::kString, "env(\"NAME\") -> string", "an environment variable, recorded at run start",
       EnvOrSecret},
      {"secret", 1, 1, R::kString, "secret(\"NAME\") -> string",
       "a secret from the secrets file or environment; never logged", EnvOrSecret},
      {"bearer", 1, 1, R::kString, "bearer(token) -> string", "\"Bearer \" + token, for auth", Bearer},
      {"basic", 2, 2, R::kString, "basic(user, password) -> string", "HTTP basic credentials, for auth", Basic},
  };
  return table;
}

const FunctionSpec* FindFunction(std::string_view name) {
  for (const auto& f : FunctionTable()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool IsMacro(std::string_view name) {
  return name == "all" || name == "exists" || name == "exists_one" || name == "map" || name == "filter";
}

bool IsBuiltinFunction(std::string_view name) { return FindFunction(name) != nullptr; }

const std::vector<std::string_view>& BuiltinFunctionNames() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> n;
    for (const auto& f : FunctionTable()) n.push_back(f.name);
    return n;
  }();
  return names;
}

EvalResult CallFunction(const Expr& e, const std::string& name, const std::vector<Value>& args,
                        FunctionContext& ctx) {
  FunctionCall call{e, name, args, ctx};
  const FunctionSpec* f = FindFunction(name);
  if (!f || !f->impl) return call.Err("unknown function '" + name + "'");
  if (args.size() < f->min || args.size() > f->max) return call.WrongArgs();
  return f->impl(call);
}

}  // namespace aos
