#include "lang/value.h"

#include <catch2/catch.hpp>

namespace {

using aos::Value;

TEST_CASE("JSON keeps doubles recognisable and integers exact") {
  CHECK(Value::Double(1.0).ToJson() == "1.0");
  CHECK(Value::Double(-0.5).ToJson() == "-0.5");
  CHECK(Value::Double(1e300).ToJson() == "1e+300");
  CHECK(Value::Double(0.1).ToJson() == "0.1");
  CHECK(Value::Double(123456789.0).ToJson() == "123456789.0");
  CHECK(Value::Int(9223372036854775807).ToJson() == "9223372036854775807");
  CHECK(Value::Int(-9223372036854775807 - 1).ToJson() == "-9223372036854775808");
  CHECK(Value::Uint(18446744073709551615u).ToJson() == "18446744073709551615");
  CHECK(Value::Int(9007199254740993).ToJson() == "9007199254740993");  // 2^53 + 1
}

TEST_CASE("JSON escapes strings and keeps map insertion order") {
  CHECK(Value::String("a\"b\\c\n\t\x01").ToJson() == "\"a\\\"b\\\\c\\n\\t\\u0001\"");
  CHECK(Value::String("h\xc3\xa9llo").ToJson() == "\"h\xc3\xa9llo\"");
  const Value m = Value::Map({{Value::String("z"), Value::Int(1)},
                              {Value::String("a"), Value::List({Value::Null(), Value::Bool(true)})},
                              {Value::Int(3), Value::String("three")}});
  CHECK(m.ToJson() == "{\"z\":1,\"a\":[null,true],\"3\":\"three\"}");
}

TEST_CASE("a later duplicate key replaces the earlier one in place") {
  const Value m = Value::Map({{Value::String("a"), Value::Int(1)},
                              {Value::String("b"), Value::Int(2)},
                              {Value::String("a"), Value::Int(3)}});
  CHECK(m.ToJson() == "{\"a\":3,\"b\":2}");
  REQUIRE(m.Find("a"));
  CHECK(m.Find("a")->as_int() == 3);
  CHECK(m.Find("zz") == nullptr);
}

TEST_CASE("JSON parses into ints, uints and doubles by their text") {
  std::string error;
  auto v = aos::ParseJson("{\"i\": 42, \"big\": 18446744073709551615, \"d\": 1.0, \"e\": 1e2, "
                          "\"n\": null, \"l\": [true, \"x\"]}",
                          &error);
  REQUIRE(v);
  CHECK(v->Find("i")->kind() == aos::ValueKind::kInt);
  CHECK(v->Find("big")->kind() == aos::ValueKind::kUint);
  CHECK(v->Find("d")->kind() == aos::ValueKind::kDouble);
  CHECK(v->Find("e")->kind() == aos::ValueKind::kDouble);
  CHECK(v->ToJson() ==
        "{\"i\":42,\"big\":18446744073709551615,\"d\":1.0,\"e\":100.0,\"n\":null,\"l\":[true,\"x\"]}");
  CHECK_FALSE(aos::ParseJson("{bad", &error));
  CHECK_FALSE(error.empty());
}

TEST_CASE("durations format compactly and read back") {
  const std::vector<std::pair<int64_t, std::string>> cases = {
      {0, "0s"},
      {1'000'000'000, "1s"},
      {90'000'000'000, "1m30s"},
      {5'400'000'000'000, "1h30m"},
      {86'400'000'000'000, "1d"},
      {604'800'000'000'000, "7d"},
      {250'000'000, "250ms"},
      {1'500'000'000, "1.5s"},
      {1'000, "1us"},
      {7, "7ns"},
      {-30'000'000'000, "-30s"},
  };
  for (const auto& [nanos, text] : cases) {
    INFO(text);
    CHECK(aos::FormatDuration(aos::Duration{nanos}) == text);
    auto back = aos::ParseDurationText(text);
    REQUIRE(back);
    CHECK(back->nanos == nanos);
  }
  CHECK_FALSE(aos::ParseDurationText("soon"));
  CHECK_FALSE(aos::ParseDurationText("5"));
  CHECK_FALSE(aos::ParseDurationText("5x"));
  CHECK_FALSE(aos::ParseDurationText(""));
}

TEST_CASE("timestamps are RFC 3339 in UTC both ways") {
  auto t = aos::ParseTimestampText("2026-11-24T13:45:07Z");
  REQUIRE(t);
  CHECK(aos::FormatTimestamp(*t) == "2026-11-24T13:45:07Z");
  auto f = aos::ParseTimestampText("2026-11-24T13:45:07.120+01:00");
  REQUIRE(f);
  CHECK(aos::FormatTimestamp(*f) == "2026-11-24T12:45:07.12Z");
  CHECK(aos::FormatTimestamp(aos::Timestamp{0}) == "1970-01-01T00:00:00Z");
  CHECK(aos::FormatTimestamp(aos::Timestamp{-1'000'000'000}) == "1969-12-31T23:59:59Z");
  auto leap = aos::ParseTimestampText("2024-02-29T00:00:00Z");
  REQUIRE(leap);
  CHECK(aos::FormatTimestamp(aos::Timestamp{leap->nanos + 86'400'000'000'000}) ==
        "2024-03-01T00:00:00Z");
  CHECK_FALSE(aos::ParseTimestampText("2026-13-01T00:00:00Z"));
  // Dates that do not exist are refused, never rolled over.
  std::string why;
  CHECK_FALSE(aos::ParseTimestampText("2020-02-30T00:00:00Z", &why));
  CHECK(why == "not a valid date");
  CHECK_FALSE(aos::ParseTimestampText("2023-02-29T00:00:00Z"));
  CHECK_FALSE(aos::ParseTimestampText("2026-04-31T00:00:00Z"));
  CHECK_FALSE(aos::ParseTimestampText("2026-01-01T00:00:60Z"));
  CHECK_FALSE(aos::ParseTimestampText("2026-01-01T00:00:00+24:00"));
  CHECK(aos::ParseTimestampText("2000-02-29T00:00:00Z"));
  // Outside what int64 nanoseconds hold: refused, never wrapped.
  for (const char* far : {"2300-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                          "1677-12-31T23:59:59Z", "2262-01-01T00:00:00Z"}) {
    CHECK_FALSE(aos::ParseTimestampText(far, &why));
    CHECK(why.rfind("out of range", 0) == 0);
  }
  auto lo = aos::ParseTimestampText(aos::kMinTimestampText);
  auto hi = aos::ParseTimestampText(aos::kMaxTimestampText);
  REQUIRE(lo);
  REQUIRE(hi);
  CHECK(aos::FormatTimestamp(*lo) == aos::kMinTimestampText);
  CHECK(aos::FormatTimestamp(*hi) == aos::kMaxTimestampText);
  CHECK_FALSE(aos::ParseTimestampText("2026-11-24"));
  CHECK_FALSE(aos::ParseTimestampText("2026-11-24T13:45:07"));
}

TEST_CASE("ParseMoneyText reads money as it prints, exactly") {
  auto m = aos::ParseMoneyText("1200.00 usd");
  REQUIRE(m);
  CHECK(m->nanos == 1'200'000'000'000);
  CHECK(m->currency == "usd");
  auto e = aos::ParseMoneyText("-0.000000001 EUR");
  REQUIRE(e);
  CHECK(e->nanos == -1);
  CHECK(e->currency == "eur");
  CHECK(aos::ParseMoneyText("0.10 gbp")->nanos == 100'000'000);
  for (const char* bad : {"1200", "usd 12", "12.0000000001 usd", "1e3 usd", "12. usd", ".5 usd", "12 dollars",
                          "99999999999 usd", "12,5 eur"}) {
    CHECK_FALSE(aos::ParseMoneyText(bad));
  }
}

TEST_CASE("money keeps two decimals at least and exact billionths") {
  CHECK(aos::FormatMoneyAmount(aos::Money{2'500'000'000, "usd"}) == "2.50");
  CHECK(aos::FormatMoneyAmount(aos::Money{0, "usd"}) == "0.00");
  CHECK(aos::FormatMoneyAmount(aos::Money{1, "usd"}) == "0.000000001");
  CHECK(aos::FormatMoneyAmount(aos::Money{-500'000'000, "eur"}) == "-0.50");
  CHECK(Value::MoneyOf(aos::Money{1'250'000'000, "gbp"}).ToJson() ==
        "{\"amount\":\"1.25\",\"currency\":\"gbp\"}");
  CHECK(Value::MoneyOf(aos::Money{1'250'000'000, "gbp"}).ToDisplayString() == "1.25 gbp");
}

TEST_CASE("equality compares numbers by value across kinds and containers deeply") {
  CHECK(Value::Int(1) == Value::Double(1.0));
  CHECK(Value::Int(1) == Value::Uint(1));
  CHECK(Value::Int(-1) != Value::Uint(18446744073709551615u));
  CHECK(Value::String("1") != Value::Int(1));
  CHECK(Value::List({Value::Int(1)}) == Value::List({Value::Double(1.0)}));
  CHECK(Value::Map({{Value::String("a"), Value::Int(1)}, {Value::String("b"), Value::Int(2)}}) ==
        Value::Map({{Value::String("b"), Value::Int(2)}, {Value::String("a"), Value::Int(1)}}));
  CHECK(Value::Null() == Value());
  CHECK(Value::Dur(aos::Duration{1}) != Value::Int(1));
}

TEST_CASE("display strings are what interpolation shows") {
  CHECK(Value::String("x").ToDisplayString() == "x");
  CHECK(Value::Int(3).ToDisplayString() == "3");
  CHECK(Value::Double(3.0).ToDisplayString() == "3.0");
  CHECK(Value::Dur(aos::Duration{30'000'000'000}).ToDisplayString() == "30s");
  CHECK(Value::Null().ToDisplayString() == "null");
  CHECK(Value::List({Value::String("a")}).ToDisplayString() == "[\"a\"]");
  CHECK(std::string(aos::KindName(aos::ValueKind::kMap)) == "map");
}

}  // namespace

TEST_CASE("ParseJson refuses nesting past kMaxValueDepth instead of exhausting the stack") {
  std::string error;
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK_FALSE(aos::ParseJson(deep, &error));
  CHECK(error.find("nested more than 128") != std::string::npos);
  const size_t n = aos::kMaxJsonDepth;
  CHECK(aos::ParseJson(std::string(n, '[') + std::string(n, ']'), &error));
  CHECK_FALSE(aos::ParseJson(std::string(n + 1, '[') + std::string(n + 1, ']'), &error));
  // Brackets inside strings do not count.
  CHECK(aos::ParseJson("\"" + std::string(2000, '[') + "\"", &error));
}

TEST_CASE("DeeperThan counts lists and maps, not scalars") {
  using aos::Value;
  CHECK_FALSE(aos::DeeperThan(Value::Int(1), 0));
  CHECK(aos::DeeperThan(Value::List({}), 0));
  CHECK_FALSE(aos::DeeperThan(Value::List({}), 1));
  Value v = Value::Int(1);
  for (int i = 0; i < 10; ++i) v = (i % 2) ? Value::List({v}) : Value::Map({{Value::String("k"), v}});
  CHECK_FALSE(aos::DeeperThan(v, 10));
  CHECK(aos::DeeperThan(v, 9));
  std::string error;
  auto parsed = aos::ParseJson(std::string(50, '[') + std::string(50, ']'), &error);
  REQUIRE(parsed);
  CHECK_FALSE(aos::DeeperThan(*parsed, 50));
  CHECK(aos::DeeperThan(*parsed, 49));
}
