#include "lang/eval_functions.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "lang/cron.h"
#include "lang/regex.h"

namespace aos {

const std::vector<std::string_view>& BuiltinFunctionNames() {
  static const std::vector<std::string_view> names = {
      "size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double",
      "string", "bool", "bytes", "type", "timestamp", "duration", "lower", "upper", "trim",
      "split", "join", "replace", "format", "format_time", "json_encode", "json_decode", "default",
      "coalesce", "sum", "min", "max", "sort", "keys", "values", "now", "uuid", "env",
      "secret", "bearer", "basic", "has", "all", "exists", "exists_one", "map", "filter", "dyn",
      "getHours", "getMinutes", "getSeconds", "getMilliseconds"};
  return names;
}

const FunctionArity* ArityOf(std::string_view name) {
  // Read from Evaluator::Function below; a test calls each function with
  // one argument too few and too many and expects the evaluator to refuse.
  constexpr size_t kMany = SIZE_MAX;
  static const FunctionArity table[] = {
      {"size", 1, 1},        {"contains", 2, 2},     {"startsWith", 2, 2},   {"endsWith", 2, 2},
      {"matches", 2, 2},     {"int", 1, 1},          {"uint", 1, 1},         {"double", 1, 1},
      {"string", 1, 1},      {"bool", 1, 1},         {"bytes", 1, 1},        {"type", 1, 1},
      {"timestamp", 1, 1},   {"duration", 1, 1},     {"format_time", 2, 3},  {"lower", 1, 1},
      {"upper", 1, 1},       {"trim", 1, 1},         {"split", 2, 2},        {"join", 1, 2},
      {"replace", 3, 3},     {"format", 1, kMany},   {"json_encode", 1, 1},  {"json_decode", 1, 1},
      {"sum", 1, 1},         {"sort", 1, 1},         {"min", 1, kMany},      {"max", 1, kMany},
      {"keys", 1, 1},        {"values", 1, 1},       {"now", 0, 0},          {"uuid", 0, 0},
      {"env", 1, 1},         {"secret", 1, 1},       {"bearer", 1, 1},       {"basic", 2, 2},
      {"dyn", 1, 1},         {"getHours", 1, 1},     {"getMinutes", 1, 1},   {"getSeconds", 1, 1},
      {"getMilliseconds", 1, 1},
  };
  for (const auto& a : table) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

bool IsBuiltinFunction(std::string_view name) {
  const auto& n = BuiltinFunctionNames();
  return std::find(n.begin(), n.end(), name) != n.end();
}

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

// -1, 0, 1; precondition: comparable.

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

// The library's calls, with the evaluator's budget and environment.
class Functions {
 public:
  explicit Functions(FunctionContext& ctx) : env_(ctx.env), cost_(ctx.cost), limits_(ctx.limits), add_(ctx.add) {}

  static EvalError MakeErr(const Expr& e, std::string msg, std::string kind = "expr.error") {
    return EvalError{std::move(kind), std::move(msg), e.span};
  }
  EvalResult Err(const Expr& e, std::string msg) { return MakeErr(e, std::move(msg)); }
  bool ChargeSize(size_t n) {
    cost_ += (n + 63) / 64;
    return cost_ <= limits_.max_cost;
  }

  EvalResult WrongArgs(const Expr& e, const std::string& name, const std::vector<Value>& args) {
    std::string sig = name + "(";
    for (size_t i = 0; i < args.size(); ++i) sig += std::string(i ? ", " : "") + KindName(args[i].kind());
    return Err(e, "no such overload: " + sig + ")");
  }

  EvalResult Function(const Expr& e, const std::string& n, const std::vector<Value>& args) {
    auto kinds = [&](std::initializer_list<ValueKind> ks) {
      if (args.size() != ks.size()) return false;
      size_t i = 0;
      for (ValueKind k : ks) {
        if (args[i++].kind() != k) return false;
      }
      return true;
    };
    using K = ValueKind;
    if (n == "dyn") {
      // CEL's dyn(): the value itself, its static type forgotten.
      if (args.size() != 1) return WrongArgs(e, n, args);
      return args[0];
    }
    if (n == "getHours" || n == "getMinutes" || n == "getSeconds" || n == "getMilliseconds") {
      // On a duration: the whole duration in that unit, truncated (CEL).
      if (!kinds({K::kDuration})) return WrongArgs(e, n, args);
      const int64_t ns = args[0].as_duration().nanos;
      const int64_t unit = n == "getHours" ? 3'600'000'000'000 : n == "getMinutes" ? 60'000'000'000
                           : n == "getSeconds" ? 1'000'000'000 : 1'000'000;
      return Value::Int(ns / unit);
    }
    if (n == "size") {
      if (args.size() != 1) return WrongArgs(e, n, args);
      switch (args[0].kind()) {
        case K::kString: return Value::Int(static_cast<int64_t>(Utf8Length(args[0].as_string())));
        case K::kBytes: return Value::Int(static_cast<int64_t>(args[0].as_bytes().size()));
        case K::kList: return Value::Int(static_cast<int64_t>(args[0].as_list().size()));
        case K::kMap: return Value::Int(static_cast<int64_t>(args[0].as_map().size()));
        default: return WrongArgs(e, n, args);
      }
    }
    if (n == "contains" || n == "startsWith" || n == "endsWith") {
      if (!kinds({K::kString, K::kString})) {
        if (n == "contains" && args.size() == 2 && args[0].kind() == K::kList) {
          for (const auto& x : args[0].as_list()) {
            if (x == args[1]) return Value::Bool(true);
          }
          return Value::Bool(false);
        }
        return WrongArgs(e, n, args);
      }
      const std::string& s = args[0].as_string();
      const std::string& t = args[1].as_string();
      if (n == "contains") return Value::Bool(s.find(t) != std::string::npos);
      if (n == "startsWith") return Value::Bool(s.rfind(t, 0) == 0);
      return Value::Bool(s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0);
    }
    if (n == "matches") {
      if (!kinds({K::kString, K::kString})) return WrongArgs(e, n, args);
      if (args[0].as_string().size() > kMaxRegexText) return Err(e, "matches(): the text is longer than 64 KiB");
      // RE2 is linear in the text: charge for the text, not text x pattern.
      if (!ChargeSize(args[0].as_string().size() + args[1].as_string().size())) {
        return Err(e, "evaluation cost limit exceeded");
      }
      std::string why;
      auto re = Regex::Compile(args[1].as_string(), &why);
      if (!re) return Err(e, "matches(): " + why);
      return Value::Bool(re->Search(args[0].as_string()));
    }
    if (n == "int") {
      if (args.size() != 1) return WrongArgs(e, n, args);
      const Value& v = args[0];
      switch (v.kind()) {
        case K::kInt: return v;
        case K::kUint:
          if (v.as_uint() > static_cast<uint64_t>(INT64_MAX)) return Err(e, "int(): out of range");
          return Value::Int(static_cast<int64_t>(v.as_uint()));
        case K::kDouble: {
          const double d = v.as_double();
          if (!(d > -9.223372036854775808e18 && d < 9.223372036854775807e18)) {
            return Err(e, "int(): out of range");
          }
          return Value::Int(static_cast<int64_t>(d));
        }
        case K::kString: {
          int64_t i;
          const std::string& s = v.as_string();
          auto r = std::from_chars(s.data(), s.data() + s.size(), i);
          if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) {
            return Err(e, "int(): '" + s + "' is not an int");
          }
          return Value::Int(i);
        }
        case K::kTimestamp: return Value::Int(v.as_time().nanos / kNanosPerUnit);
        case K::kBool: return Value::Int(v.as_bool() ? 1 : 0);
        default: return WrongArgs(e, n, args);
      }
    }
    if (n == "uint") {
      if (args.size() != 1) return WrongArgs(e, n, args);
      const Value& v = args[0];
      switch (v.kind()) {
        case K::kUint: return v;
        case K::kInt:
          if (v.as_int() < 0) return Err(e, "uint(): out of range");
          return Value::Uint(static_cast<uint64_t>(v.as_int()));
        case K::kDouble: {
          const double d = v.as_double();
          if (!(d > -1.0 && d < 1.8446744073709552e19)) return Err(e, "uint(): out of range");
          return Value::Uint(static_cast<uint64_t>(d));
        }
        case K::kString: {
          uint64_t u;
          const std::string& s = v.as_string();
          auto r = std::from_chars(s.data(), s.data() + s.size(), u);
          if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) {
            return Err(e, "uint(): '" + s + "' is not a uint");
          }
          return Value::Uint(u);
        }
        default: return WrongArgs(e, n, args);
      }
    }
    if (n == "double") {
      if (args.size() != 1) return WrongArgs(e, n, args);
      const Value& v = args[0];
      switch (v.kind()) {
        case K::kDouble: return v;
        case K::kInt: return Value::Double(static_cast<double>(v.as_int()));
        case K::kUint: return Value::Double(static_cast<double>(v.as_uint()));
        case K::kString: {
          const std::string& s = v.as_string();
          char* end = nullptr;
          const double d = std::strtod(s.c_str(), &end);
          if (s.empty() || end != s.c_str() + s.size()) return Err(e, "double(): '" + s + "' is not a double");
          return Value::Double(d);
        }
        case K::kMoney: return Value::Double(static_cast<double>(v.as_money().nanos) / 1e9);
        default: return WrongArgs(e, n, args);
      }
    }
    if (n == "string") {
      if (args.size() != 1) return WrongArgs(e, n, args);
      // A duration in CEL's seconds form: "1000000s", "1.5s", "-0.25s".
      if (args[0].kind() == K::kDuration) return Value::String(DurationSeconds(args[0].as_duration()));
      return Value::String(args[0].ToDisplayString());
    }
    if (n == "bool") {
      if (args.size() != 1) return WrongArgs(e, n, args);
      if (args[0].kind() == K::kBool) return args[0];
      if (args[0].kind() == K::kString) {
        const std::string& s = args[0].as_string();
        if (s == "true" || s == "True" || s == "TRUE" || s == "1" || s == "t") return Value::Bool(true);
        if (s == "false" || s == "False" || s == "FALSE" || s == "0" || s == "f") return Value::Bool(false);
        return Err(e, "bool(): '" + s + "' is not a bool");
      }
      return WrongArgs(e, n, args);
    }
    if (n == "bytes") {
      if (kinds({K::kString})) return Value::BytesOf(args[0].as_string());
      if (kinds({K::kBytes})) return args[0];
      return WrongArgs(e, n, args);
    }
    if (n == "type") {
      if (args.size() != 1) return WrongArgs(e, n, args);
      return Value::Type(KindName(args[0].kind()));
    }
    if (n == "timestamp") {
      if (kinds({K::kTimestamp})) return args[0];
      if (kinds({K::kInt})) {
        int64_t r;
        if (__builtin_mul_overflow(args[0].as_int(), kNanosPerUnit, &r)) return Err(e, "timestamp(): out of range");
        return Value::Time(Timestamp{r});
      }
      if (!kinds({K::kString})) return WrongArgs(e, n, args);
      std::string why;
      if (auto t = ParseTimestampText(args[0].as_string(), &why)) return Value::Time(*t);
      return Err(e, "timestamp(): '" + args[0].as_string() + "' is " + why);
    }
    if (n == "duration") {
      if (kinds({K::kDuration})) return args[0];
      if (!kinds({K::kString})) return WrongArgs(e, n, args);
      if (auto d = ParseDurationText(args[0].as_string())) return Value::Dur(*d);
      return Err(e, "duration(): '" + args[0].as_string() + "' is not a duration");
    }
    if (n == "format_time") {
      // format_time(t, fmt, tz): strftime-style text of t in the IANA zone tz
      // (%G-W%V is the ISO week), as a trigger names its run's inputs.
      if (!kinds({K::kTimestamp, K::kString, K::kString}) && !kinds({K::kTimestamp, K::kString})) {
        return WrongArgs(e, n, args);
      }
      std::string text;
      std::string error;
      if (!FormatTime(args[0].as_time(), args[1].as_string(), args.size() > 2 ? args[2].as_string() : "UTC", &text,
                      &error)) {
        return Err(e, "format_time(): " + error);
      }
      return Value::String(std::move(text));
    }
    if (n == "lower" || n == "upper" || n == "trim") {
      if (!kinds({K::kString})) return WrongArgs(e, n, args);
      if (n == "lower") return Value::String(Lower(args[0].as_string()));
      if (n == "upper") return Value::String(Upper(args[0].as_string()));
      return Value::String(Trim(args[0].as_string()));
    }
    if (n == "split") {
      if (!kinds({K::kString, K::kString})) return WrongArgs(e, n, args);
      const std::string& s = args[0].as_string();
      const std::string& sep = args[1].as_string();
      ValueList parts;
      if (sep.empty()) {
        for (char c : s) parts.push_back(Value::String(std::string(1, c)));
      } else {
        size_t start = 0;
        for (size_t p; (p = s.find(sep, start)) != std::string::npos; start = p + sep.size()) {
          parts.push_back(Value::String(s.substr(start, p - start)));
        }
        parts.push_back(Value::String(s.substr(start)));
      }
      if (!ChargeSize(s.size() + parts.size() * 8)) return Err(e, "evaluation cost limit exceeded");
      return Value::List(std::move(parts));
    }
    if (n == "join") {
      if (args.empty() || args.size() > 2 || args[0].kind() != K::kList ||
          (args.size() == 2 && args[1].kind() != K::kString)) {
        return WrongArgs(e, n, args);
      }
      const std::string sep = args.size() == 2 ? args[1].as_string() : "";
      std::string out;
      bool first = true;
      for (const auto& x : args[0].as_list()) {
        if (!first) out += sep;
        first = false;
        out += x.ToDisplayString();
        if (!ChargeSize(out.size() / 16)) return Err(e, "evaluation cost limit exceeded");
      }
      return Value::String(std::move(out));
    }
    if (n == "replace") {
      if (!kinds({K::kString, K::kString, K::kString})) return WrongArgs(e, n, args);
      const std::string& s = args[0].as_string();
      const std::string& from = args[1].as_string();
      const std::string& to = args[2].as_string();
      if (from.empty()) return Value::String(s);
      std::string out;
      size_t start = 0;
      for (size_t p; (p = s.find(from, start)) != std::string::npos; start = p + from.size()) {
        out += s.substr(start, p - start) + to;
        if (!ChargeSize(out.size() / 16)) return Err(e, "evaluation cost limit exceeded");
      }
      out += s.substr(start);
      return Value::String(std::move(out));
    }
    if (n == "format") {
      if (args.empty() || args[0].kind() != K::kString) return WrongArgs(e, n, args);
      ValueList fill;
      if (args.size() == 2 && args[1].kind() == K::kList) {
        fill = args[1].as_list();
      } else {
        fill.assign(args.begin() + 1, args.end());
      }
      const std::string& f = args[0].as_string();
      std::string out;
      size_t next = 0;
      for (size_t i = 0; i < f.size(); ++i) {
        if (f[i] != '%') {
          out += f[i];
          continue;
        }
        if (i + 1 >= f.size()) return Err(e, "format(): the format ends with '%'");
        const char c = f[++i];
        if (c == '%') {
          out += '%';
          continue;
        }
        if (next >= fill.size()) return Err(e, "format(): too few arguments for the format");
        const Value& v = fill[next++];
        if (c == 's') {
          out += v.ToDisplayString();
        } else if (c == 'd') {
          if (v.kind() != K::kInt && v.kind() != K::kUint) return Err(e, "format(): %d needs an int");
          out += v.ToJson();
        } else if (c == 'f') {
          if (!IsNum(v.kind())) return Err(e, "format(): %f needs a number");
          char buf[64];
          std::snprintf(buf, sizeof buf, "%.6f", AsDouble(v));
          out += buf;
        } else {
          return Err(e, std::string("format(): unknown verb %") + c);
        }
      }
      return Value::String(std::move(out));
    }
    if (n == "json_encode") {
      if (args.size() != 1) return WrongArgs(e, n, args);
      std::string s = args[0].ToJson();
      if (!ChargeSize(s.size())) return Err(e, "evaluation cost limit exceeded");
      return Value::String(std::move(s));
    }
    if (n == "json_decode") {
      if (!kinds({K::kString})) return WrongArgs(e, n, args);
      if (!ChargeSize(args[0].as_string().size())) return Err(e, "evaluation cost limit exceeded");
      std::string error;
      if (auto v = ParseJson(args[0].as_string(), &error)) return *v;
      return Err(e, "json_decode(): not valid JSON");
    }
    if (n == "sum" || n == "min" || n == "max" || n == "sort") {
      ValueList items;
      if (args.size() == 1 && args[0].kind() == K::kList) {
        items = args[0].as_list();
      } else if (n != "sum" && n != "sort" && args.size() >= 2) {
        items = args;
      } else {
        return WrongArgs(e, n, args);
      }
      return Aggregate(e, n, items);
    }
    if (n == "keys" || n == "values") {
      if (!kinds({K::kMap})) return WrongArgs(e, n, args);
      ValueList out;
      for (const auto& [k, v] : args[0].as_map()) out.push_back(n == "keys" ? k : v);
      return Value::List(std::move(out));
    }
    if (n == "now" || n == "uuid") {
      if (!args.empty()) return WrongArgs(e, n, args);
      if (auto v = env_.Nondeterministic(n, e.span)) return *v;
      return MakeErr(e, n + "() has no value here", "expr.unknown");
    }
    if (n == "env" || n == "secret") {
      if (!kinds({K::kString})) return WrongArgs(e, n, args);
      auto v = n == "env" ? env_.EnvVar(args[0].as_string()) : env_.Secret(args[0].as_string());
      if (v) return *v;
      return MakeErr(e, n + "(\"" + args[0].as_string() + "\") has no value here", "expr.unknown");
    }
    if (n == "bearer") {
      if (!kinds({K::kString})) return WrongArgs(e, n, args);
      return Value::String("Bearer " + args[0].as_string());
    }
    if (n == "basic") {
      if (!kinds({K::kString, K::kString})) return WrongArgs(e, n, args);
      return Value::String("Basic " + Base64Encode(args[0].as_string() + ":" + args[1].as_string()));
    }
    return Err(e, "unknown function '" + n + "'");
  }

  EvalResult Aggregate(const Expr& e, const std::string& n, ValueList items) {
    if (!ChargeSize(items.size() * 8)) return Err(e, "evaluation cost limit exceeded");
    if (n == "sort") {
      for (size_t i = 1; i < items.size(); ++i) {
        const bool ok = (IsNum(items[i].kind()) && IsNum(items[0].kind())) ||
                        items[i].kind() == items[0].kind();
        if (!ok) return Err(e, "sort(): the list mixes kinds");
      }
      if (!items.empty() && !IsNum(items[0].kind()) && items[0].kind() != ValueKind::kString &&
          items[0].kind() != ValueKind::kTimestamp && items[0].kind() != ValueKind::kDuration &&
          items[0].kind() != ValueKind::kBool) {
        return Err(e, std::string("sort(): cannot order ") + KindName(items[0].kind()));
      }
      std::stable_sort(items.begin(), items.end(), [](const Value& a, const Value& b) {
        return Less(a, b);
      });
      return Value::List(std::move(items));
    }
    if (n == "sum") {
      if (items.empty()) return Value::Int(0);
      Value acc = items[0];
      for (size_t i = 1; i < items.size(); ++i) {
        Expr plus;
        plus.kind = ExprKind::kBinary;
        plus.name = "+";
        plus.span = e.span;
        if (acc.kind() != items[i].kind()) {
          return Err(e, std::string("sum(): the list mixes ") + KindName(acc.kind()) + " and " +
                            KindName(items[i].kind()));
        }
        EvalResult r = add_(plus, acc, items[i]);
        if (!r.ok()) return Err(e, "sum(): " + r.error().message);
        acc = std::move(r.value());
      }
      if (!IsNum(acc.kind()) && acc.kind() != ValueKind::kDuration && acc.kind() != ValueKind::kMoney) {
        return Err(e, std::string("sum(): cannot add ") + KindName(acc.kind()));
      }
      return acc;
    }
    if (items.empty()) return Err(e, n + "() of an empty list");
    size_t best = 0;
    for (size_t i = 1; i < items.size(); ++i) {
      const bool ok = (IsNum(items[i].kind()) && IsNum(items[0].kind())) ||
                      items[i].kind() == items[0].kind();
      if (!ok) return Err(e, n + "(): the values mix kinds");
      if (n == "min" ? Less(items[i], items[best]) : Less(items[best], items[i])) best = i;
    }
    return items[best];
  }

  static bool Less(const Value& a, const Value& b) {
    if (IsNum(a.kind()) && IsNum(b.kind())) return CompareNumbers(a, b) < 0;
    switch (a.kind()) {
      case ValueKind::kString: return a.as_string() < b.as_string();
      case ValueKind::kTimestamp: return a.as_time().nanos < b.as_time().nanos;
      case ValueKind::kDuration: return a.as_duration().nanos < b.as_duration().nanos;
      case ValueKind::kBool: return a.as_bool() < b.as_bool();
      case ValueKind::kMoney: return a.as_money().nanos < b.as_money().nanos;
      default: return false;
    }
  }

 private:
  Env& env_;
  uint64_t& cost_;
  const EvalLimits& limits_;
  const std::function<EvalResult(const Expr&, const Value&, const Value&)>& add_;
};

}  // namespace

EvalResult CallFunction(const Expr& e, const std::string& name, const std::vector<Value>& args,
                        FunctionContext& ctx) {
  return Functions(ctx).Function(e, name, args);
}

}  // namespace aos
