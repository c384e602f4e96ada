#include "lang/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

namespace aos {

const char* KindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kNull: return "null_type";
    case ValueKind::kBool: return "bool";
    case ValueKind::kInt: return "int";
    case ValueKind::kUint: return "uint";
    case ValueKind::kDouble: return "double";
    case ValueKind::kString: return "string";
    case ValueKind::kBytes: return "bytes";
    case ValueKind::kList: return "list";
    case ValueKind::kMap: return "map";
    case ValueKind::kTimestamp: return "timestamp";
    case ValueKind::kDuration: return "duration";
    case ValueKind::kMoney: return "money";
    case ValueKind::kType: return "type";
  }
  return "?";
}

Value Value::Bool(bool b) { Value v; v.v_ = b; return v; }
Value Value::Int(int64_t i) { Value v; v.v_ = i; return v; }
Value Value::Uint(uint64_t u) { Value v; v.v_ = u; return v; }
Value Value::Double(double d) { Value v; v.v_ = d; return v; }
Value Value::String(std::string s) { Value v; v.v_ = std::move(s); return v; }
Value Value::BytesOf(std::string b) { Value v; v.v_ = aos::Bytes{std::move(b)}; return v; }
Value Value::List(ValueList items) {
  Value v;
  v.v_ = std::make_shared<const ValueList>(std::move(items));
  return v;
}
Value Value::Map(ValueMap entries) {
  ValueMap unique;
  unique.reserve(entries.size());
  for (auto& e : entries) {
    bool replaced = false;
    for (auto& u : unique) {
      if (u.first == e.first) {
        u.second = std::move(e.second);
        replaced = true;
        break;
      }
    }
    if (!replaced) unique.push_back(std::move(e));
  }
  Value v;
  v.v_ = std::make_shared<const ValueMap>(std::move(unique));
  return v;
}
Value Value::MapOfUnique(ValueMap entries) {
  Value v;
  v.v_ = std::make_shared<const ValueMap>(std::move(entries));
  return v;
}
Value Value::Time(Timestamp t) { Value v; v.v_ = t; return v; }
Value Value::Dur(aos::Duration d) { Value v; v.v_ = d; return v; }
Value Value::MoneyOf(aos::Money m) { Value v; v.v_ = std::move(m); return v; }
Value Value::Type(std::string name) { Value v; v.v_ = TypeName{std::move(name)}; return v; }

const Value* Value::Find(const Value& key) const {
  if (kind() != ValueKind::kMap) return nullptr;
  for (const auto& [k, v] : as_map()) {
    if (k == key) return &v;
  }
  return nullptr;
}

const Value* Value::Find(std::string_view key) const {
  if (kind() != ValueKind::kMap) return nullptr;
  for (const auto& [k, v] : as_map()) {
    if (k.kind() == ValueKind::kString && k.as_string() == key) return &v;
  }
  return nullptr;
}

namespace {

bool IsNumber(ValueKind k) {
  return k == ValueKind::kInt || k == ValueKind::kUint || k == ValueKind::kDouble;
}

// Numeric equality across int, uint and double, by value.
int Sign(bool less, bool greater) { return less ? -1 : greater ? 1 : 0; }

// An integer against a double, exactly: the double's integral part is
// compared as an integer (it fits once past the range checks), then its
// fraction breaks the tie.
int CompareIntDouble(int64_t i, double d) {
  if (std::isnan(d)) return kUnordered;
  if (d >= 9223372036854775808.0) return -1;  // 2^63
  if (d < -9223372036854775808.0) return 1;
  const double t = std::trunc(d);
  const int64_t ti = static_cast<int64_t>(t);
  if (i != ti) return Sign(i < ti, i > ti);
  return Sign(d > t, d < t);
}

int CompareUintDouble(uint64_t u, double d) {
  if (std::isnan(d)) return kUnordered;
  if (d < 0) return 1;
  if (d >= 18446744073709551616.0) return -1;  // 2^64
  const double t = std::trunc(d);
  const uint64_t tu = static_cast<uint64_t>(t);
  if (u != tu) return Sign(u < tu, u > tu);
  return Sign(d > t, d < t);
}

bool NumEqual(const Value& a, const Value& b) { return CompareNumbers(a, b) == 0; }

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

std::string JsonQuote(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

namespace {

std::string DoubleText(double d) {
  // JSON has no literal for these: the strings JavaScript and protobuf's
  // JSON mapping use, never null (which would read back as "no value").
  if (std::isnan(d)) return "\"NaN\"";
  if (std::isinf(d)) return d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string KeyText(const Value& k) {
  switch (k.kind()) {
    case ValueKind::kString: return k.as_string();
    case ValueKind::kInt: return std::to_string(k.as_int());
    case ValueKind::kUint: return std::to_string(k.as_uint());
    case ValueKind::kBool: return k.as_bool() ? "true" : "false";
    default: return k.ToJson();
  }
}

const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64(std::string_view in) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n = (static_cast<uint8_t>(in[i]) << 16) |
                       (static_cast<uint8_t>(in[i + 1]) << 8) | static_cast<uint8_t>(in[i + 2]);
    out += kBase64[n >> 18];
    out += kBase64[(n >> 12) & 63];
    out += kBase64[(n >> 6) & 63];
    out += kBase64[n & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    out += kBase64[n >> 18];
    out += kBase64[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t n = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out += kBase64[n >> 18];
    out += kBase64[(n >> 12) & 63];
    out += kBase64[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

void AppendJson(std::string& out, const Value& v) {
  switch (v.kind()) {
    case ValueKind::kNull: out += "null"; return;
    case ValueKind::kBool: out += v.as_bool() ? "true" : "false"; return;
    case ValueKind::kInt: out += std::to_string(v.as_int()); return;
    case ValueKind::kUint: out += std::to_string(v.as_uint()); return;
    case ValueKind::kDouble: out += DoubleText(v.as_double()); return;
    case ValueKind::kString: AppendJsonString(out, v.as_string()); return;
    case ValueKind::kBytes: AppendJsonString(out, Base64(v.as_bytes())); return;
    case ValueKind::kList: {
      out += '[';
      bool first = true;
      for (const auto& e : v.as_list()) {
        if (!first) out += ',';
        first = false;
        AppendJson(out, e);
      }
      out += ']';
      return;
    }
    case ValueKind::kMap: {
      out += '{';
      bool first = true;
      for (const auto& [k, e] : v.as_map()) {
        if (!first) out += ',';
        first = false;
        AppendJsonString(out, KeyText(k));
        out += ':';
        AppendJson(out, e);
      }
      out += '}';
      return;
    }
    case ValueKind::kTimestamp: AppendJsonString(out, FormatTimestamp(v.as_time())); return;
    case ValueKind::kDuration: AppendJsonString(out, FormatDuration(v.as_duration())); return;
    case ValueKind::kMoney:
      out += "{\"amount\":";
      AppendJsonString(out, FormatMoneyAmount(v.as_money()));
      out += ",\"currency\":";
      AppendJsonString(out, v.as_money().currency.view());
      out += '}';
      return;
    case ValueKind::kType: AppendJsonString(out, v.as_type()); return;
  }
}

Value FromJson(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value();
    case nlohmann::ordered_json::value_t::boolean: return Value::Bool(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value::Int(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value::Int(static_cast<int64_t>(u));
      return Value::Uint(u);
    }
    case nlohmann::ordered_json::value_t::number_float: return Value::Double(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value::String(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      ValueList items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(FromJson(e));
      return Value::List(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      ValueMap entries;
      entries.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) {
        entries.emplace_back(Value::String(it.key()), FromJson(it.value()));
      }
      return Value::Map(std::move(entries));
    }
    default: return Value();
  }
}

// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

}  // namespace

int CompareNumbers(const Value& a, const Value& b) {
  const ValueKind ka = a.kind(), kb = b.kind();
  auto flip = [](int c) { return c == kUnordered ? c : -c; };
  if (ka == ValueKind::kDouble && kb == ValueKind::kDouble) {
    const double x = a.as_double(), y = b.as_double();
    if (std::isnan(x) || std::isnan(y)) return kUnordered;
    return Sign(x < y, x > y);
  }
  if (ka == ValueKind::kInt && kb == ValueKind::kDouble) return CompareIntDouble(a.as_int(), b.as_double());
  if (ka == ValueKind::kDouble && kb == ValueKind::kInt) return flip(CompareIntDouble(b.as_int(), a.as_double()));
  if (ka == ValueKind::kUint && kb == ValueKind::kDouble) return CompareUintDouble(a.as_uint(), b.as_double());
  if (ka == ValueKind::kDouble && kb == ValueKind::kUint) return flip(CompareUintDouble(b.as_uint(), a.as_double()));
  if (ka == ValueKind::kInt && kb == ValueKind::kInt) return Sign(a.as_int() < b.as_int(), a.as_int() > b.as_int());
  if (ka == ValueKind::kUint && kb == ValueKind::kUint) {
    return Sign(a.as_uint() < b.as_uint(), a.as_uint() > b.as_uint());
  }
  if (ka == ValueKind::kInt) {  // int against uint
    if (a.as_int() < 0) return -1;
    const uint64_t x = static_cast<uint64_t>(a.as_int());
    return Sign(x < b.as_uint(), x > b.as_uint());
  }
  return flip(CompareNumbers(b, a));
}

bool Value::operator==(const Value& other) const {
  const ValueKind a = kind(), b = other.kind();
  if (IsNumber(a) && IsNumber(b)) return NumEqual(*this, other);
  if (a != b) return false;
  switch (a) {
    case ValueKind::kList: {
      const auto& x = as_list();
      const auto& y = other.as_list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (x[i] != y[i]) return false;
      }
      return true;
    }
    case ValueKind::kMap: {
      const auto& x = as_map();
      const auto& y = other.as_map();
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x) {
        const Value* w = other.Find(k);
        if (!w || *w != v) return false;
      }
      return true;
    }
    default:
      return v_ == other.v_;
  }
}

std::string Value::ToJson() const {
  std::string out;
  AppendJson(out, *this);
  return out;
}

std::string Value::ToDisplayString() const {
  switch (kind()) {
    case ValueKind::kString: return as_string();
    case ValueKind::kBytes: return as_bytes();
    case ValueKind::kTimestamp: return FormatTimestamp(as_time());
    case ValueKind::kDuration: return FormatDuration(as_duration());
    case ValueKind::kMoney: return FormatMoneyAmount(as_money()) + " " + as_money().currency.str();
    case ValueKind::kType: return as_type();
    default: return ToJson();
  }
}

size_t JsonDepth(std::string_view text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

bool DeeperThan(const Value& v, size_t limit) {
  if (v.kind() == ValueKind::kList) {
    if (limit == 0) return true;
    for (const Value& x : v.as_list()) {
      if (DeeperThan(x, limit - 1)) return true;
    }
  } else if (v.kind() == ValueKind::kMap) {
    if (limit == 0) return true;
    for (const auto& [k, x] : v.as_map()) {
      if (DeeperThan(x, limit - 1)) return true;
    }
  }
  return false;
}

std::string Base64Encode(std::string_view in) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += t[(buf >> bits) & 63];
    }
  }
  if (bits) out += t[(buf << (6 - bits)) & 63];
  while (out.size() % 4) out += '=';
  return out;
}

std::optional<Value> ParseJson(std::string_view text, std::string* error) {
  if (JsonDepth(text) > kMaxJsonDepth) {
    if (error) *error = "JSON nested more than " + std::to_string(kMaxJsonDepth) + " levels deep";
    return std::nullopt;
  }
  try {
    return FromJson(nlohmann::ordered_json::parse(text.begin(), text.end()));
  } catch (const nlohmann::ordered_json::exception& e) {
    if (error) *error = e.what();
    return std::nullopt;
  }
}

std::string FormatDuration(aos::Duration d) {
  int64_t n = d.nanos;
  std::string sign;
  if (n < 0) {
    sign = "-";
    n = n == INT64_MIN ? INT64_MAX : -n;
  }
  if (n == 0) return "0s";
  constexpr int64_t kS = 1'000'000'000, kM = 60 * kS, kH = 60 * kM, kD = 24 * kH;
  if (n % kD == 0) return sign + std::to_string(n / kD) + "d";
  if (n % kS == 0) {
    std::string out;
    int64_t h = n / kH, m = (n % kH) / kM, s = (n % kM) / kS;
    if (h) out += std::to_string(h) + "h";
    if (m) out += std::to_string(m) + "m";
    if (s) out += std::to_string(s) + "s";
    return sign + out;
  }
  if (n < kS) {
    if (n % 1'000'000 == 0) return sign + std::to_string(n / 1'000'000) + "ms";
    if (n % 1'000 == 0) return sign + std::to_string(n / 1'000) + "us";
    return sign + std::to_string(n) + "ns";
  }
  // Fractional seconds: "1.5s".
  std::string frac = std::to_string(n % kS);
  frac = std::string(9 - frac.size(), '0') + frac;
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return sign + std::to_string(n / kS) + "." + frac + "s";
}

std::optional<aos::Duration> ParseDurationText(std::string_view t) {
  bool negative = false;
  if (!t.empty() && t[0] == '-') {
    negative = true;
    t.remove_prefix(1);
  }
  if (t.empty()) return std::nullopt;
  if (t == "0") return aos::Duration{0};
  __int128 total = 0;
  while (!t.empty()) {
    size_t k = 0;
    while (k < t.size() && (std::isdigit(static_cast<unsigned char>(t[k])) || t[k] == '.')) ++k;
    if (k == 0) return std::nullopt;
    const std::string num(t.substr(0, k));
    t.remove_prefix(k);
    int64_t unit;
    if (t.rfind("ms", 0) == 0) { unit = 1'000'000; t.remove_prefix(2); }
    else if (t.rfind("us", 0) == 0) { unit = 1'000; t.remove_prefix(2); }
    else if (t.rfind("ns", 0) == 0) { unit = 1; t.remove_prefix(2); }
    else if (!t.empty() && t[0] == 's') { unit = 1'000'000'000; t.remove_prefix(1); }
    else if (!t.empty() && t[0] == 'm') { unit = 60'000'000'000; t.remove_prefix(1); }
    else if (!t.empty() && t[0] == 'h') { unit = 3'600'000'000'000; t.remove_prefix(1); }
    else if (!t.empty() && t[0] == 'd') { unit = 86'400'000'000'000; t.remove_prefix(1); }
    else return std::nullopt;
    const size_t dot = num.find('.');
    if (dot == std::string::npos) {
      uint64_t v = 0;
      auto r = std::from_chars(num.data(), num.data() + num.size(), v);
      if (r.ec != std::errc() || r.ptr != num.data() + num.size()) return std::nullopt;
      total += static_cast<__int128>(v) * unit;
    } else {
      if (num.find('.', dot + 1) != std::string::npos) return std::nullopt;
      const double v = std::strtod(num.c_str(), nullptr);
      total += static_cast<__int128>(std::llround(v * static_cast<double>(unit)));
    }
    if (total > INT64_MAX) return std::nullopt;
  }
  return aos::Duration{static_cast<int64_t>(negative ? -total : total)};
}

std::string FormatTimestamp(Timestamp t) {
  int64_t secs = t.nanos / 1'000'000'000;
  int64_t nanos = t.nanos % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", static_cast<long long>(y),
                m, d, static_cast<long long>(rem / 3600), static_cast<long long>((rem / 60) % 60),
                static_cast<long long>(rem % 60));
  std::string out = buf;
  if (nanos) {
    std::string frac = std::to_string(nanos);
    frac = std::string(9 - frac.size(), '0') + frac;
    while (frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  return out + "Z";
}

std::optional<Timestamp> ParseTimestampText(std::string_view t, std::string* why) {
  auto refuse = [why](const char* reason) -> std::optional<Timestamp> {
    if (why) *why = reason;
    return std::nullopt;
  };
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  auto num = [&](size_t pos, size_t len, int* out) {
    if (pos + len > t.size()) return false;
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(t[i]))) return false;
      v = v * 10 + (t[i] - '0');
    }
    *out = v;
    return true;
  };
  int y, mo, d, h, mi, s;
  if (t.size() < 20 || !num(0, 4, &y) || t[4] != '-' || !num(5, 2, &mo) || t[7] != '-' ||
      !num(8, 2, &d) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !num(11, 2, &h) ||
      t[13] != ':' || !num(14, 2, &mi) || t[16] != ':' || !num(17, 2, &s)) {
    return refuse("not an RFC 3339 time (such as 2026-01-31T09:00:00Z)");
  }
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] + (mo == 2 && leap)) return refuse("not a valid date");
  if (h > 23 || mi > 59 || s > 59) return refuse("not a valid time of day");
  size_t p = 19;
  int64_t nanos = 0;
  if (p < t.size() && t[p] == '.') {
    ++p;
    int digits = 0;
    while (p < t.size() && std::isdigit(static_cast<unsigned char>(t[p]))) {
      if (digits < 9) {
        nanos = nanos * 10 + (t[p] - '0');
        ++digits;
      }
      ++p;
    }
    if (digits == 0) return refuse("not an RFC 3339 time (such as 2026-01-31T09:00:00Z)");
    for (; digits < 9; ++digits) nanos *= 10;
  }
  int64_t offset = 0;
  if (p < t.size() && (t[p] == 'Z' || t[p] == 'z')) {
    ++p;
  } else if (p < t.size() && (t[p] == '+' || t[p] == '-')) {
    int oh, om;
    if (!num(p + 1, 2, &oh) || p + 3 >= t.size() || t[p + 3] != ':' || !num(p + 4, 2, &om)) {
      return refuse("not an RFC 3339 time (such as 2026-01-31T09:00:00Z)");
    }
    if (oh > 23 || om > 59) return refuse("not a valid UTC offset");
    offset = (oh * 3600 + om * 60) * (t[p] == '+' ? 1 : -1);
    p += 6;
  } else {
    return refuse("not an RFC 3339 time (such as 2026-01-31T09:00:00Z)");
  }
  if (p != t.size()) return refuse("not an RFC 3339 time (such as 2026-01-31T09:00:00Z)");
  const int64_t secs = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
                       h * 3600 + mi * 60 + s - offset;
  // 1678-01-01T00:00:00Z and 2262-01-01T00:00:00Z, in seconds.
  constexpr int64_t kMinSecs = -9214560000, kMaxSecs = 9214646400;
  if (secs < kMinSecs || secs >= kMaxSecs) return refuse("out of range (timestamps run from 1678 to 2261)");
  return Timestamp{secs * 1'000'000'000 + nanos};
}

Currency::Currency(std::string_view code) {
  len_ = static_cast<uint8_t>(std::min(code.size(), sizeof code_));
  std::copy_n(code.data(), len_, code_);
}

std::optional<Money> ParseMoneyText(std::string_view t) {
  const size_t sp = t.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  std::string_view amount = t.substr(0, sp), cur = t.substr(sp + 1);
  while (!cur.empty() && cur.front() == ' ') cur.remove_prefix(1);
  if (cur.size() != 3) return std::nullopt;
  std::string currency;
  for (char c : cur) {
    if (!std::isalpha(static_cast<unsigned char>(c))) return std::nullopt;
    currency += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  bool negative = false;
  if (!amount.empty() && (amount.front() == '-' || amount.front() == '+')) {
    negative = amount.front() == '-';
    amount.remove_prefix(1);
  }
  const size_t dot = amount.find('.');
  const std::string_view whole = amount.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view() : amount.substr(dot + 1);
  if (whole.empty() || whole.size() > 10 || frac.size() > 9 || (dot != std::string_view::npos && frac.empty())) {
    return std::nullopt;
  }
  int64_t units = 0, nanos = 0;
  for (char c : whole) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    units = units * 10 + (c - '0');
  }
  for (size_t i = 0; i < 9; ++i) {
    const char c = i < frac.size() ? frac[i] : '0';
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    nanos = nanos * 10 + (c - '0');
  }
  if (units > 9'000'000'000) return std::nullopt;  // what int64 nanos hold, with room
  const int64_t total = units * 1'000'000'000 + nanos;
  return Money{negative ? -total : total, currency};
}

std::string FormatMoneyAmount(const aos::Money& m) {
  int64_t n = m.nanos;
  std::string sign;
  uint64_t u;
  if (n < 0) {
    sign = "-";
    u = static_cast<uint64_t>(-(n + 1)) + 1;
  } else {
    u = static_cast<uint64_t>(n);
  }
  std::string frac = std::to_string(u % 1'000'000'000);
  frac = std::string(9 - frac.size(), '0') + frac;
  while (frac.size() > 2 && frac.back() == '0') frac.pop_back();
  return sign + std::to_string(u / 1'000'000'000) + "." + frac;
}

}  // namespace aos
