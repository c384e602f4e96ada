// Value: the runtime value of the .aos expression language (the CEL profile
// of language.md §2): null, bool, int, uint, double, string, bytes, list,
// map, timestamp, duration, money, and type values.
//
// Values are immutable; lists and maps share their storage (copying a Value
// is cheap). Maps keep insertion order so that printing is deterministic; keys
// are null-free scalars (string, int, uint, bool), as in CEL.
//
// JSON rendering follows the CLI contract (runtime.md §11): doubles always
// carry a decimal point or an exponent (1.0 stays a double), ints and uints
// are printed exactly, timestamps as RFC 3339 strings, durations as "1.5s"
// strings, money as {"amount": "2.50", "currency": "usd"}.
#ifndef AOS_LANG_VALUE_H_
#define AOS_LANG_VALUE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace aos {

class Value;

struct Bytes {
  std::string data;
  bool operator==(const Bytes&) const = default;
};
struct Timestamp {
  int64_t nanos = 0;  // since the Unix epoch, UTC
  bool operator==(const Timestamp&) const = default;
};
struct Duration {
  int64_t nanos = 0;
  bool operator==(const Duration&) const = default;
};
// An amount of money in billionths of a unit, so that per-token prices add up
// exactly; about ±9.2 billion units fit.
// A lower case ISO 4217 code ("usd", "eur", "gbp"), held inline (at most 7
// characters; longer text is cut): a Money is 16 bytes, and a Value 40
// instead of 48, which every list, record and AST literal pays.
class Currency {
 public:
  Currency() = default;
  Currency(std::string_view code);  // NOLINT: implicit, as the std::string it replaced
  Currency(const char* code) : Currency(std::string_view(code)) {}  // NOLINT
  Currency(const std::string& code) : Currency(std::string_view(code)) {}  // NOLINT
  std::string_view view() const { return std::string_view(code_, len_); }
  std::string str() const { return std::string(view()); }
  operator std::string() const { return str(); }  // NOLINT
  bool empty() const { return len_ == 0; }
  bool operator==(const Currency& o) const { return view() == o.view(); }

 private:
  char code_[7] = {};
  uint8_t len_ = 0;
};

struct Money {
  int64_t nanos = 0;
  Currency currency;
  bool operator==(const Money&) const = default;
};
// The value of `type(x)`: a type's name such as "int" or "list".
struct TypeName {
  std::string name;
  bool operator==(const TypeName&) const = default;
};

using ValueList = std::vector<Value>;
using ValueMap = std::vector<std::pair<Value, Value>>;

enum class ValueKind {
  kNull,
  kBool,
  kInt,
  kUint,
  kDouble,
  kString,
  kBytes,
  kList,
  kMap,
  kTimestamp,
  kDuration,
  kMoney,
  kType,
};

// The CEL name of a kind: "null_type", "bool", "int", ..., "map",
// "google.protobuf.Timestamp" is shortened to "timestamp", "money", "type".
const char* KindName(ValueKind kind);

class Value {
 public:
  Value() = default;  // null
  static Value Null() { return Value(); }
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Uint(uint64_t u);
  static Value Double(double d);
  static Value String(std::string s);
  static Value BytesOf(std::string b);
  static Value List(ValueList items);
  static Value Map(ValueMap entries);  // later duplicates of a key replace earlier
  // Precondition: the keys are distinct (decoders of stored values use it;
  // Map() is quadratic in the number of entries).
  static Value MapOfUnique(ValueMap entries);
  static Value Time(Timestamp t);
  static Value Dur(Duration d);
  static Value MoneyOf(Money m);
  static Value Type(std::string name);

  ValueKind kind() const { return static_cast<ValueKind>(v_.index()); }
  bool is_null() const { return kind() == ValueKind::kNull; }

  // Accessors; precondition: kind() matches.
  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  uint64_t as_uint() const { return std::get<uint64_t>(v_); }
  double as_double() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const std::string& as_bytes() const { return std::get<aos::Bytes>(v_).data; }
  const ValueList& as_list() const { return *std::get<std::shared_ptr<const ValueList>>(v_); }
  const ValueMap& as_map() const { return *std::get<std::shared_ptr<const ValueMap>>(v_); }
  Timestamp as_time() const { return std::get<Timestamp>(v_); }
  Duration as_duration() const { return std::get<aos::Duration>(v_); }
  const aos::Money& as_money() const { return std::get<aos::Money>(v_); }
  const std::string& as_type() const { return std::get<TypeName>(v_).name; }

  // Map lookup by key; null if absent or if this is not a map.
  const Value* Find(const Value& key) const;
  const Value* Find(std::string_view key) const;

  // CEL equality: no implicit conversion between int, uint and double except
  // that numeric kinds compare by value (CEL's heterogeneous equality).
  bool operator==(const Value& other) const;
  bool operator!=(const Value& other) const { return !(*this == other); }

  // JSON text (see the header comment). Compact, no spaces.
  std::string ToJson() const;
  // What string(x) and interpolation produce: strings unquoted, others as
  // their JSON text except durations ("30s") and timestamps (RFC 3339).
  std::string ToDisplayString() const;

 private:
  std::variant<std::monostate, bool, int64_t, uint64_t, double, std::string,
               aos::Bytes, std::shared_ptr<const ValueList>,
               std::shared_ptr<const ValueMap>, Timestamp, aos::Duration,
               aos::Money, TypeName>
      v_;
};

// Standard base64 with padding (basic() auth, RFC 2047 mail headers).
std::string Base64Encode(std::string_view in);

// A JSON string literal for s, quotes included (control characters as
// \u00XX; UTF-8 passes through).
std::string JsonQuote(std::string_view s);
void AppendJsonString(std::string& out, std::string_view s);

// Depth limits, in one place. JSON that comes in (inputs, HTTP and model
// answers, decision and signal data) may nest lists and objects at most
// kMaxJsonDepth deep, and is refused where it enters. A statement's value may
// be kMaxValueDepth deep (room for results that wrap incoming JSON, and for a
// workflow's own nesting); a statement whose value would be deeper fails
// (the runner checks). The event codec reads kMaxValueDepth plus the events'
// own few levels, so a stored event is always readable back.
inline constexpr size_t kMaxJsonDepth = 128;
inline constexpr size_t kMaxValueDepth = kMaxJsonDepth + 32;

// Whether v nests lists and maps more than `limit` levels deep (a scalar is
// depth 0, [1] is 1). Stops descending at the limit.
bool DeeperThan(const Value& v, size_t limit);
// The deepest nesting of arrays and objects in JSON text (strings skipped),
// without parsing it.
size_t JsonDepth(std::string_view text);

// Parses JSON text into a Value (numbers without a fraction or exponent
// become int, or uint past INT64_MAX; others double). nullopt and a message
// on malformed input, and on nesting deeper than kMaxJsonDepth.
std::optional<Value> ParseJson(std::string_view text, std::string* error);

// Formats a duration as the shortest of "1h30m", "250ms", "1.5s" forms that
// reads back to the same value with ParseDurationText.
std::string FormatDuration(Duration d);
// Parses "250ms", "30s", "5m", "48h", "7d", "1h30m", "1.5s"; nullopt if bad.
std::optional<Duration> ParseDurationText(std::string_view text);
// RFC 3339, UTC, with as many fractional digits as needed.
std::string FormatTimestamp(Timestamp t);
// Timestamps are nanoseconds in an int64: RFC 3339 text is read from
// kMinTimestampText to kMaxTimestampText (a narrower range than CEL's
// 0001-9999: docs/language.md), and a date that does not exist
// (2020-02-30) is refused, never rolled over. nullopt with *why ("not a
// valid date", "out of range (...)") when given.
inline constexpr const char* kMinTimestampText = "1678-01-01T00:00:00Z";
inline constexpr const char* kMaxTimestampText = "2261-12-31T23:59:59.999999999Z";
std::optional<Timestamp> ParseTimestampText(std::string_view text, std::string* why = nullptr);
// "2.50" for 2.5 units; at least two decimals, more if needed.
std::string FormatMoneyAmount(const Money& m);

// Short for Value::String, for code that builds many records.
inline Value S(std::string s) { return Value::String(std::move(s)); }

// CEL's runtime comparison of numbers across int, uint and double, by
// numeric value and exactly (9223372036854775807 < 9223372036854775808.0;
// 2^53 + 1 != 2^53 as a double): -1, 0 or 1, and kUnordered when either is
// NaN (every comparison false, != true). Precondition: both are numbers.
inline constexpr int kUnordered = 2;
int CompareNumbers(const Value& a, const Value& b);
// Money as it prints: "1200.00 usd" (an amount with up to nine decimals, a
// space, a three-letter currency in any case; "-5 EUR" too). Exact: no
// floating point. nullopt when the text is not that.
std::optional<Money> ParseMoneyText(std::string_view text);

}  // namespace aos

#endif  // AOS_LANG_VALUE_H_
