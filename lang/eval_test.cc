#include "lang/eval.h"

#include <catch2/catch.hpp>

#include "lang/eval_functions.h"
#include "lang/parser.h"

namespace {

// Evaluates `text` with a few bindings; returns the value as JSON, or
// "error: <message>" (or "skipped: ..."/"unknown: ..." for those kinds).
std::string Eval(const std::string& text, aos::EvalLimits limits = {}) {
  std::string error;
  auto e = aos::ParseExpression(text, &error);
  if (!e) return "syntax: " + error;
  aos::MapEnv env;
  env.Set("n", aos::Value::Int(42));
  env.Set("s", aos::Value::String("Hello"));
  env.Set("l", aos::Value::List({aos::Value::Int(3), aos::Value::Int(1), aos::Value::Int(2)}));
  env.Set("names", aos::Value::List({aos::Value::String("ada"), aos::Value::String("grace")}));
  env.Set("m", aos::Value::Map({{aos::Value::String("a"), aos::Value::Int(1)},
                               {aos::Value::String("b"), aos::Value::Null()}}));
  env.Set("outline", aos::Value::Map({{aos::Value::String("title"), aos::Value::String("Week 48")}}));
  env.SetSkipped("skipped_step");
  env.SetUnknown("later_step");
  aos::EvalResult r = aos::Evaluate(*e, env, limits);
  if (r.ok()) return r.value().ToJson();
  const auto& err = r.error();
  if (err.kind == "expr.skipped") return "skipped: " + err.message;
  if (err.kind == "expr.unknown") return "unknown: " + err.message;
  return "error: " + err.message;
}

struct Case {
  const char* expr;
  const char* want;  // JSON, or "error: <prefix of the message>"
};

void RunTable(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    INFO("expression: " << c.expr);
    const std::string got = Eval(c.expr);
    const std::string want = c.want;
    if (want.rfind("error: ", 0) == 0 || want.rfind("skipped: ", 0) == 0 ||
        want.rfind("unknown: ", 0) == 0) {
      CHECK(got.substr(0, want.size()) == want);
    } else {
      CHECK(got == want);
    }
  }
}

TEST_CASE("integer arithmetic follows CEL and overflow is an error, not a wrap") {
  RunTable({
      {"1 + 2", "3"},
      {"7 - 10", "-3"},
      {"6 * 7", "42"},
      {"7 / 2", "3"},
      {"-7 / 2", "-3"},
      {"7 % 3", "1"},
      {"-7 % 3", "-1"},
      {"n + 1", "43"},
      {"9223372036854775807 + 1", "error: integer overflow in int + int"},
      {"-9223372036854775807 - 2", "error: integer overflow in int - int"},
      {"9223372036854775807 * 2", "error: integer overflow in int * int"},
      {"(-9223372036854775807 - 1) / -1", "error: integer overflow in int / int"},
      {"(-9223372036854775807 - 1) % -1", "0"},
      {"-(-9223372036854775807 - 1)", "error: integer overflow in -int"},
      {"1 / 0", "error: division by zero"},
      {"1 % 0", "error: modulus by zero"},
      {"0x10 + 1", "17"},
      {"2 * 3 + 4", "10"},
      {"2 * (3 + 4)", "14"},
      {"10 - 2 - 3", "5"},
      {"100 / 10 / 5", "2"},
  });
}

TEST_CASE("unsigned arithmetic stays unsigned and checks its range") {
  RunTable({
      {"1u + 2u", "3"},
      {"18446744073709551615u", "18446744073709551615"},
      {"18446744073709551615u + 1u", "error: integer overflow in uint + uint"},
      {"0u - 1u", "error: integer overflow in uint - uint"},
      {"10u / 3u", "3"},
      {"10u % 3u", "1"},
      {"1u / 0u", "error: division by zero"},
      {"1u + 1", "error: no such overload: uint + int"},
      {"type(1u)", "\"uint\""},
  });
}

TEST_CASE("doubles follow IEEE and never mix implicitly with ints") {
  RunTable({
      {"1.5 + 2.25", "3.75"},
      {"1.0", "1.0"},
      {"0.1 + 0.2", "0.30000000000000004"},
      {"3.0 * 2.0", "6.0"},
      {"1.0 / 4.0", "0.25"},
      {"1.0 / 0.0", "\"Infinity\""},  // JSON has no literal: the string, never null
      {"-2.5", "-2.5"},
      {"1e3", "1000.0"},
      {"1 + 2.0", "error: no such overload: int + double"},
      {"2.0 * 3", "error: no such overload: double * int"},
      {"double(1) + 2.0", "3.0"},
      {"int(2.9)", "2"},
      {"int(-2.9)", "-2"},
      {"5.0 % 2.0", "error: no such overload: double % double"},
      {"1e300 * 1e300", "\"Infinity\""},
  });
}

TEST_CASE("comparisons order numbers across kinds and other values within a kind") {
  RunTable({
      {"1 < 2", "true"},
      {"2 <= 2", "true"},
      {"3 > 4", "false"},
      {"3 >= 4", "false"},
      {"1 < 1.5", "true"},
      {"2u > 1", "true"},
      {"-1 < 0u", "true"},
      {"\"a\" < \"b\"", "true"},
      {"\"abc\" < \"abd\"", "true"},
      {"\"b\" > \"abc\"", "true"},
      {"false < true", "true"},
      {"1s < 2s", "true"},
      {"90s > 1m", "true"},
      {"1.00 usd < 2.00 usd", "true"},
      {"1.00 usd < 2.00 eur", "error: no such overload: money < money"},
      {"\"a\" < 1", "error: no such overload: string < int"},
      {"[1] < [2]", "error: no such overload: list < list"},
      {"timestamp(\"2026-01-01T00:00:00Z\") < timestamp(\"2026-01-02T00:00:00Z\")", "true"},
  });
}

TEST_CASE("equality is by value, numbers compare across kinds, other kinds are simply unequal") {
  RunTable({
      {"1 == 1", "true"},
      {"1 == 1.0", "true"},
      {"1 == 1u", "true"},
      {"-1 == 18446744073709551615u", "false"},
      {"1 != 2", "true"},
      {"\"a\" == \"a\"", "true"},
      {"\"a\" == 1", "false"},
      {"null == null", "true"},
      {"null == 0", "false"},
      {"[1, 2] == [1, 2]", "true"},
      {"[1, 2] == [2, 1]", "false"},
      {"{\"a\": 1, \"b\": 2} == {\"b\": 2, \"a\": 1}", "true"},
      {"{\"a\": 1} == {\"a\": 2}", "false"},
      {"m.b == null", "true"},
      {"30s == 30000ms", "true"},
      {"2.50 usd == 2.5 usd", "true"},
      {"true != false", "true"},
  });
}

TEST_CASE("logical operators absorb errors the way CEL specifies") {
  RunTable({
      {"true && true", "true"},
      {"true && false", "false"},
      {"false || true", "true"},
      {"false || false", "false"},
      {"false && (1 / 0 == 1)", "false"},
      {"(1 / 0 == 1) && false", "false"},
      {"true || (1 / 0 == 1)", "true"},
      {"(1 / 0 == 1) || true", "true"},
      {"true && (1 / 0 == 1)", "error: division by zero"},
      {"(1 / 0 == 1) || false", "error: division by zero"},
      {"1 && true", "error: no such overload: int && bool"},
      {"!true", "false"},
      {"!!true", "true"},
      {"!1", "error: no such overload: !int"},
      {"true ? 1 : 2", "1"},
      {"false ? 1 : 2", "2"},
      {"n > 40 ? \"big\" : \"small\"", "\"big\""},
      {"1 ? 2 : 3", "error: a condition must be bool, not int"},
      {"true ? 1 : 1 / 0", "1"},
  });
}

TEST_CASE("strings concatenate, interpolate and measure code points") {
  RunTable({
      {"\"a\" + \"b\"", "\"ab\""},
      {"\"Hello ${s}!\"", "\"Hello Hello!\""},
      {"\"n=${n}\"", "\"n=42\""},
      {"\"${1.5} ${true} ${null}\"", "\"1.5 true null\""},
      {"\"${[1, 2]}\"", "\"[1,2]\""},
      {"\"${30s}\"", "\"30s\""},
      {"\"${2.50 usd}\"", "\"2.50 usd\""},
      {"'${n}'", "\"${n}\""},
      {"size(\"h\u00e9llo\")", "5"},
      {"size(\"\")", "0"},
      {"\"abc\".size()", "3"},
      {"\"a\" + 1", "error: no such overload: string + int"},
      {"\"x\\ty\"", "\"x\\ty\""},
      {"\"\"\"a\nb\"\"\"", "\"a\\nb\""},
      {"r\"\\d+\"", "\"\\\\d+\""},
  });
}

TEST_CASE("string functions work as functions and as methods") {
  RunTable({
      {"contains(\"hello\", \"ell\")", "true"},
      {"\"hello\".contains(\"xyz\")", "false"},
      {"\"hello\".startsWith(\"he\")", "true"},
      {"\"hello\".endsWith(\"lo\")", "true"},
      {"\"hello\".endsWith(\"hello!\")", "false"},
      {"\"abc123\".matches(\"[a-z]+[0-9]+\")", "true"},
      {"\"abc\".matches(\"^[0-9]+$\")", "false"},
      {"\"abc\".matches(\"(\")", "error: matches(): bad pattern"},
      // RE2 (CEL's dialect): linear time, so backtracking blow-ups return.
      {"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\".matches(\"^(a+)+$\")", "false"},
      {"\"aaaa\".matches(\"^(a+)+$\")", "true"},
      {"\"ab\".matches(\"(a)\\\\1\")", "error: matches(): bad pattern: invalid escape sequence"},
      {"\"x\".matches(\"(?=x)x\")", "error: matches(): bad pattern"},
      {"lower(\"HeLLo\")", "\"hello\""},
      {"\"HeLLo\".upper()", "\"HELLO\""},
      {"trim(\"  x y  \")", "\"x y\""},
      {"split(\"a,b,,c\", \",\")", "[\"a\",\"b\",\"\",\"c\"]"},
      {"\"a-b\".split(\"-\")", "[\"a\",\"b\"]"},
      {"split(\"abc\", \"\")", "[\"a\",\"b\",\"c\"]"},
      {"join([\"a\", \"b\"], \", \")", "\"a, b\""},
      {"[\"a\", 1, true].join(\"/\")", "\"a/1/true\""},
      {"join([], \",\")", "\"\""},
      {"replace(\"a.b.c\", \".\", \"-\")", "\"a-b-c\""},
      {"\"aaa\".replace(\"a\", \"bb\")", "\"bbbbbb\""},
      {"replace(\"abc\", \"\", \"x\")", "\"abc\""},
      {"format(\"%s is %d\", [\"n\", 42])", "\"n is 42\""},
      {"\"%s-%s\".format([\"a\", \"b\"])", "\"a-b\""},
      {"format(\"%f\", [1.5])", "\"1.500000\""},
      {"format(\"100%%\", [])", "\"100%\""},
      {"format(\"%d\", [\"x\"])", "error: format(): %d needs an int"},
      {"format(\"%s %s\", [\"x\"])", "error: format(): too few arguments"},
      {"lower(1)", "error: no such overload: lower(int)"},
  });
}

TEST_CASE("conversions between kinds are explicit and checked") {
  RunTable({
      {"int(\"42\")", "42"},
      {"int(\"4x\")", "error: int(): '4x' is not an int"},
      {"int(42u)", "42"},
      {"int(18446744073709551615u)", "error: int(): out of range"},
      {"int(1e19)", "error: int(): out of range"},
      {"uint(42)", "42"},
      {"uint(-1)", "error: uint(): out of range"},
      {"uint(\"7\")", "7"},
      {"double(\"2.5\")", "2.5"},
      {"double(\"x\")", "error: double(): 'x' is not a double"},
      {"double(3u)", "3.0"},
      {"string(42)", "\"42\""},
      {"string(1.0)", "\"1.0\""},
      {"string(true)", "\"true\""},
      {"string(90s)", "\"90s\""},  // CEL: a duration as seconds
      {"bool(\"true\")", "true"},
      {"bool(\"false\")", "false"},
      {"bool(\"maybe\")", "error: bool(): 'maybe' is not a bool"},
      {"type(1)", "\"int\""},
      {"type(\"a\")", "\"string\""},
      {"type(1) == int", "true"},
      {"type([]) == list", "true"},
      {"type(null)", "\"null_type\""},
      {"duration(\"1h30m\")", "\"1h30m\""},
      {"duration(\"1.5s\")", "\"1.5s\""},
      {"duration(\"soon\")", "error: duration(): 'soon' is not a duration"},
      {"timestamp(\"2026-11-24T10:00:00Z\")", "\"2026-11-24T10:00:00Z\""},
      {"timestamp(\"2026-11-24T10:00:00+02:00\")", "\"2026-11-24T08:00:00Z\""},
      {"timestamp(\"2026-11-24T10:00:00.250Z\")", "\"2026-11-24T10:00:00.25Z\""},
      {"timestamp(\"yesterday\")", "error: timestamp(): 'yesterday' is not an RFC 3339 time"},
      {"timestamp(0)", "\"1970-01-01T00:00:00Z\""},
      {"int(timestamp(\"1970-01-01T00:01:00Z\"))", "60"},
  });
}

TEST_CASE("durations, timestamps and money have their own arithmetic") {
  RunTable({
      {"1h + 30m", "\"1h30m\""},
      {"2h - 30m", "\"1h30m\""},
      {"-30s", "\"-30s\""},
      {"250ms + 250ms", "\"500ms\""},
      {"7d", "\"7d\""},
      {"48h", "\"2d\""},
      {"timestamp(\"2026-01-01T00:00:00Z\") + 36h", "\"2026-01-02T12:00:00Z\""},
      {"timestamp(\"2026-01-01T00:00:00Z\") - 1s", "\"2025-12-31T23:59:59Z\""},
      {"timestamp(\"2026-01-02T00:00:00Z\") - timestamp(\"2026-01-01T00:00:00Z\")", "\"1d\""},
      {"1h + timestamp(\"2026-01-01T00:00:00Z\")", "\"2026-01-01T01:00:00Z\""},
      {"1h + 1", "error: no such overload: duration + int"},
      {"2.50 usd + 1.25 usd", "{\"amount\":\"3.75\",\"currency\":\"usd\"}"},
      {"2.50 usd - 3.00 usd", "{\"amount\":\"-0.50\",\"currency\":\"usd\"}"},
      {"2.50 usd * 3", "{\"amount\":\"7.50\",\"currency\":\"usd\"}"},
      {"3 * 2.50 usd", "{\"amount\":\"7.50\",\"currency\":\"usd\"}"},
      {"1.00 usd * 0.5", "{\"amount\":\"0.50\",\"currency\":\"usd\"}"},
      {"10.00 usd / 4", "{\"amount\":\"2.50\",\"currency\":\"usd\"}"},
      {"1.00 usd / 0", "error: division by zero"},
      {"1.00 usd + 1.00 eur", "error: cannot mix currencies"},
      {"1.00 usd + 1", "error: no such overload: money + int"},
      {"0.000001 usd", "{\"amount\":\"0.000001\",\"currency\":\"usd\"}"},
      {"-1.00 usd", "{\"amount\":\"-1.00\",\"currency\":\"usd\"}"},
      {"double(2.50 usd)", "2.5"},
  });
}

TEST_CASE("lists and maps are built, indexed and tested for membership") {
  RunTable({
      {"[1, 2, 3]", "[1,2,3]"},
      {"[]", "[]"},
      {"[1, \"a\", null]", "[1,\"a\",null]"},
      {"[1, 2] + [3]", "[1,2,3]"},
      {"l[0]", "3"},
      {"l[2]", "2"},
      {"l[3]", "error: index 3 out of range for a list of 3"},
      {"l[-1]", "error: index -1 out of range for a list of 3"},
      {"l[1u]", "1"},
      {"l[\"x\"]", "error: a list index must be int, not string"},
      {"size(l)", "3"},
      {"l.size()", "3"},
      {"2 in l", "true"},
      {"5 in l", "false"},
      {"2.0 in l", "true"},
      {"{\"a\": 1}", "{\"a\":1}"},
      {"{a: 1, b: \"x\"}", "{\"a\":1,\"b\":\"x\"}"},
      {"{}", "{}"},
      {"{1: \"one\"}", "{\"1\":\"one\"}"},
      {"{\"a\": 1, \"a\": 2}", "error: duplicate map key \"a\""},
      {"{[1]: 2}", "error: map keys must be string, int, uint or bool, not list"},
      {"m.a", "1"},
      {"m[\"a\"]", "1"},
      {"m.c", "error: no such key: 'c'"},
      {"m[\"c\"]", "error: no such key: \"c\""},
      {"\"a\" in m", "true"},
      {"\"z\" in m", "false"},
      {"size(m)", "2"},
      {"keys(m)", "[\"a\",\"b\"]"},
      {"m.values()", "[1,null]"},
      {"n.x", "error: cannot select field 'x' of int"},
      {"null.x", "error: cannot select field 'x' of null_type"},
      {"1 in 2", "error: no such overload: int in int"},
      {"outline.title", "\"Week 48\""},
      {"{k: {inner: [1, {deep: true}]}}.k.inner[1].deep", "true"},
  });
}

TEST_CASE("macros bind their variable and shadow outer names") {
  RunTable({
      {"l.all(x, x > 0)", "true"},
      {"l.all(x, x > 1)", "false"},
      {"l.exists(x, x == 2)", "true"},
      {"l.exists(x, x == 9)", "false"},
      {"l.exists_one(x, x > 2)", "true"},
      {"l.exists_one(x, x > 1)", "false"},
      {"l.map(x, x * 2)", "[6,2,4]"},
      {"l.map(x, x > 1, x * 10)", "[30,20]"},
      {"l.filter(x, x % 2 == 1)", "[3,1]"},
      {"names.map(n, upper(n))", "[\"ADA\",\"GRACE\"]"},
      {"names.filter(x, size(x) > 3)", "[\"grace\"]"},
      {"m.all(k, k != \"\")", "true"},
      {"m.map(k, k)", "[\"a\",\"b\"]"},
      {"[].all(x, x > 0)", "true"},
      {"[].exists(x, x > 0)", "false"},
      {"[0, -1].all(x, 1 / x > 0)", "false"},
      {"[0, 1].all(x, 1 / x > 0)", "error: division by zero"},
      {"[1, 0].exists(x, 1 / x == 1)", "true"},
      {"[0].all(x, 1 / x > 0)", "error: division by zero"},
      {"l.filter(x, 1 / (x - 1) > 0)", "error: division by zero"},
      {"l.all(x, x)", "error: the predicate of all() must be bool, not int"},
      {"n.all(x, true)", "error: all() needs a list or a map, not int"},
      {"l.map(x.y, 1)", "error: map() takes a variable name"},
      {"[[1, 2], [3]].map(x, x.map(y, y + 1))", "[[2,3],[4]]"},
      {"has(m.a)", "true"},
      {"has(m.z)", "false"},
      {"has(outline.title)", "true"},
      {"has(n.x)", "error: has() needs a map, not int"},
      {"has(n)", "error: has() takes one field selection"},
  });
}

TEST_CASE("aggregates sum, order and pick") {
  RunTable({
      {"sum([1, 2, 3])", "6"},
      {"sum([])", "0"},
      {"sum([1.5, 2.5])", "4.0"},
      {"sum([1s, 2s])", "\"3s\""},
      {"sum([1.00 usd, 2.50 usd])", "{\"amount\":\"3.50\",\"currency\":\"usd\"}"},
      {"sum([1, 2.0])", "error: sum(): the list mixes int and double"},
      {"sum([\"a\"])", "error: sum(): cannot add string"},
      {"sum([9223372036854775807, 1])", "error: sum(): integer overflow"},
      {"l.sum()", "6"},
      {"min([3, 1, 2])", "1"},
      {"max([3, 1, 2])", "3"},
      {"min(3, 1, 2)", "1"},
      {"max(\"a\", \"c\", \"b\")", "\"c\""},
      {"min([])", "error: min() of an empty list"},
      {"max([1, \"a\"])", "error: max(): the values mix kinds"},
      {"sort([3, 1, 2])", "[1,2,3]"},
      {"sort([\"b\", \"a\"])", "[\"a\",\"b\"]"},
      {"l.sort()", "[1,2,3]"},
      {"sort([1, \"a\"])", "error: sort(): the list mixes kinds"},
      {"sort([[1]])", "error: sort(): cannot order list"},
      {"union([1, 2], [2, 3, 1, 4])", "[1,2,3,4]"},
      {"union([], [\"a\", \"a\"])", "[\"a\"]"},
      {"union([\"x\"], [])", "[\"x\"]"},
      {"l.union([4, 1])", "[3,1,2,4]"},
      {"union([1], \"a\")", "error: no such overload: union(list, string)"},
  });
}

TEST_CASE("default and coalesce absorb nulls, missing keys and skipped statements") {
  RunTable({
      {"default(null, 1)", "1"},
      {"default(2, 1)", "2"},
      {"default(m.b, \"fallback\")", "\"fallback\""},
      {"default(m.zzz, \"fallback\")", "\"fallback\""},
      {"default(skipped_step.json.url, \"\")", "\"\""},
      {"default(1 / 0, 1)", "error: division by zero"},
      {"coalesce(null, m.zzz, skipped_step, 3, 4)", "3"},
      {"coalesce(null, null)", "null"},
      {"coalesce(1)", "error: coalesce() takes at least two arguments"},
      {"skipped_step.x", "skipped: 'skipped_step' was skipped"},
      {"later_step.x", "unknown: 'later_step' has no value yet"},
      {"no_such_name", "error: unknown name 'no_such_name'"},
  });
}

TEST_CASE("JSON functions encode and decode data, never code") {
  RunTable({
      {"json_encode({a: [1, 2.0, \"x\"]})", "\"{\\\"a\\\":[1,2.0,\\\"x\\\"]}\""},
      {"json_decode(\"{\\\"a\\\": [1, 2.5]}\")", "{\"a\":[1,2.5]}"},
      {"json_decode(\"{\\\"a\\\": 1}\").a", "1"},
      {"json_decode('\"${n}\"')", "\"${n}\""},
      {"json_decode(\"not json\")", "error: json_decode(): not valid JSON"},
      {"json_decode(\"18446744073709551615\")", "18446744073709551615"},
  });
}

TEST_CASE("non-deterministic and environment functions need the environment") {
  RunTable({
      {"now()", "unknown: now() has no value here"},
      {"uuid()", "unknown: uuid() has no value here"},
      {"env(\"HOME\")", "unknown: env(\"HOME\") has no value here"},
      {"secret(\"TOKEN\")", "unknown: secret(\"TOKEN\") has no value here"},
      {"bearer(\"abc\")", "\"Bearer abc\""},
      {"basic(\"user\", \"pass\")", "\"Basic dXNlcjpwYXNz\""},
      {"nosuchfn(1)", "error: unknown function 'nosuchfn'"},
      {"size(1, x: 2)", "syntax: 1:9: size() takes no named arguments"},
      {"size(1)", "error: no such overload: size(int)"},
  });
}

class RecordedEnv : public aos::MapEnv {
 public:
  std::optional<aos::Value> Nondeterministic(std::string_view fn, aos::Span) override {
    ++calls;
    if (fn == "now") return aos::Value::Time(aos::Timestamp{1'700'000'000'000'000'000});
    return aos::Value::String("00000000-0000-4000-8000-000000000000");
  }
  std::optional<aos::Value> EnvVar(std::string_view name) override {
    if (name == "CMS_URL") return aos::Value::String("http://127.0.0.1:9000");
    return std::nullopt;
  }
  int calls = 0;
};

TEST_CASE("now, uuid and env take their values from the environment") {
  RecordedEnv env;
  std::string error;
  auto e = aos::ParseExpression("[now(), uuid(), env(\"CMS_URL\") + \"/posts\"]", &error);
  REQUIRE(e);
  aos::EvalResult r = aos::Evaluate(*e, env);
  REQUIRE(r.ok());
  CHECK(r.value().ToJson() ==
        "[\"2023-11-14T22:13:20Z\",\"00000000-0000-4000-8000-000000000000\","
        "\"http://127.0.0.1:9000/posts\"]");
  CHECK(env.calls == 2);
}

TEST_CASE("evaluation cost is bounded: a large result is an error, not a hang") {
  aos::EvalLimits tight;
  tight.max_cost = 10'000;
  const std::string got = Eval("l.map(a, l.map(b, l.map(c, [a, b, c])))", tight);
  CHECK(got.rfind("[[[[3,3,3]", 0) == 0);
  std::string big = "[1,2,3,4,5,6,7,8,9,10]";
  std::string nested = big;
  // Six nested maps over ten items would build a million elements.
  for (int i = 0; i < 6; ++i) nested = "(" + big + ").map(x" + std::to_string(i) + ", " + nested + ")";
  CHECK(Eval(nested, tight) == "error: evaluation cost limit exceeded");
  CHECK(Eval("\"${" + std::string("[1,2,3,4,5,6,7,8,9,10]") + "}\"", tight) == "\"[1,2,3,4,5,6,7,8,9,10]\"");
}

TEST_CASE("evaluation depth is bounded") {
  aos::EvalLimits shallow;
  shallow.max_depth = 10;
  CHECK(Eval("((((((((((((1))))))))))))", shallow) == "1");  // parentheses add no depth
  CHECK(Eval("[[[[[[[[[[[[1]]]]]]]]]]]]", shallow) == "error: expression nested too deeply");
}

TEST_CASE("the list of built-in functions names what the evaluator knows") {
  CHECK(aos::IsBuiltinFunction("size"));
  CHECK(aos::IsBuiltinFunction("exists_one"));
  CHECK_FALSE(aos::IsBuiltinFunction("sizee"));
  // Each name in the table is one the evaluator implements: calling it
  // (with no arguments) may fail for its arguments, never as unknown.
  aos::EvalLimits limits;
  for (auto name : aos::BuiltinFunctionNames()) {
    INFO(name);
    const std::string n(name);
    const bool macro = n == "all" || n == "exists" || n == "exists_one" || n == "map" || n == "filter";
    const std::string got = Eval(macro ? "[1]." + n + "(x, true)" : n + "()", limits);
    CHECK(got.find("unknown function") == std::string::npos);
  }
  CHECK(Eval("sizee()", limits).find("unknown function") != std::string::npos);
}

TEST_CASE("numbers compare across int, uint and double by value, exactly (CEL)") {
  RunTable({
      {"1 == 1.0", "true"},
      {"1u == 1.0", "true"},
      {"dyn(1) == 1.0", "true"},
      {"dyn(1) < 1.5", "true"},
      {"2 in [1.0, 2.0]", "true"},
      {"1.5 in [1, 2]", "false"},
      {"-1 < 0u", "true"},
      // Past 2^53 a double cannot tell neighbouring integers apart: the
      // comparison still can.
      {"9007199254740993 == 9007199254740992.0", "false"},
      {"9007199254740993 > 9007199254740992.0", "true"},
      {"9223372036854775807 < 9223372036854775808.0", "true"},
      {"9223372036854775807 != 9223372036854775808.0", "true"},
      {"18446744073709551615u < 18446744073709551616.0", "true"},
      {"-9223372036854775807 > -9223372036854775809.0", "true"},
      {"2 > 1.5", "true"},
      {"-2 < -1.5", "true"},
      {"1u >= 0.5", "true"},
      // NaN is unordered: every comparison false, != true.
      {"0.0 / 0.0 == 0.0 / 0.0", "false"},
      {"0.0 / 0.0 != 0.0 / 0.0", "true"},
      {"0.0 / 0.0 < 1", "false"},
      {"0.0 / 0.0 >= 1", "false"},
      {"1 > 0.0 / 0.0", "false"},
  });
}

TEST_CASE("dyn, duration accessors and string(duration) follow CEL") {
  RunTable({
      {"dyn(3) + 4", "7"},
      {"type(dyn([1, 'one']))", "\"list\""},
      {"type(type)", "\"type\""},
      {"type", "\"type\""},
      {"type(type(1)) == type", "true"},
      {"type(1) == int && type(1u) == uint && type('') == string", "true"},
      {"type(null) == null_type", "true"},
      {"duration('3h30m').getHours()", "3"},
      {"duration('3h30m').getMinutes()", "210"},
      {"duration('90s').getSeconds()", "90"},
      {"duration('1.5s').getMilliseconds()", "1500"},
      {"duration('-90m').getHours()", "-1"},
      {"string(duration('1000000s'))", "\"1000000s\""},
      {"string(duration('1.5s'))", "\"1.5s\""},
      {"string(duration('-250ms'))", "\"-0.25s\""},
      {"string(duration('0s'))", "\"0s\""},
      {"string(duration('1ns'))", "\"0.000000001s\""},
      {"'x'.getHours()", "error: no such overload"},
      // On a timestamp, the accessors read the calendar in UTC or a zone.
      {"timestamp('2009-02-13T23:31:30Z').getFullYear()", "2009"},
      {"timestamp('2009-02-13T23:31:30Z').getMonth()", "1"},
      {"timestamp('2009-02-13T23:31:30Z').getDate()", "13"},
      {"timestamp('2009-02-13T23:31:30Z').getDayOfMonth()", "12"},
      {"timestamp('2009-02-13T23:31:30Z').getDayOfWeek()", "5"},
      {"timestamp('2009-02-13T23:31:30Z').getDayOfYear()", "43"},
      {"timestamp('2009-02-13T23:31:30Z').getHours()", "23"},
      {"timestamp('2009-02-13T23:31:30.25Z').getMilliseconds()", "250"},
      {"timestamp('2009-02-13T23:31:30Z').getDayOfMonth('+11:00')", "13"},
      {"timestamp('2009-02-13T02:00:00Z').getDayOfMonth('America/St_Johns')", "11"},
      {"timestamp('2009-02-13T23:31:30Z').getMinutes('Asia/Kathmandu')", "16"},
      {"timestamp('2009-02-13T23:31:30Z').getHours('-00:00')", "23"},
      {"timestamp('2009-02-13T23:31:30Z').getHours('Mars/Base')", "error: getHours(): 'Mars/Base' is not a time zone"},
      {"timestamp(9223372036).getHours('+11:00')", "error: getHours(): the time is too close to the end"},
  });
}

TEST_CASE("infinities and NaN print as the strings JSON readers know, never null") {
  RunTable({
      {"0.0 / 0.0", "\"NaN\""},
      {"1.0 / 0.0", "\"Infinity\""},
      {"-1.0 / 0.0", "\"-Infinity\""},
      {"[1.0 / 0.0, 2.5]", "[\"Infinity\",2.5]"},
  });
}

TEST_CASE("literals in every form CEL has: raw strings, escapes, .99, the smallest int, bool keys") {
  RunTable({
      {R"(r'a\b')", R"("a\\b")"},
      {R"(r"x\n")", R"("x\\n")"},
      {R"(R"no ${interpolation}")", R"("no ${interpolation}")"},
      {R"(r'''it's''')", R"("it's")"},
      {R"('''two
lines \x41''')", R"("two\nlines A")"},
      {R"('''say 'hi' ${no}''')", R"("say 'hi' ${no}")"},
      {R"("\X41\X4a")", R"("AJ")"},
      {R"(r"""say "hi" \n""")", R"("say \"hi\" \\n")"},
      {R"("\a\b\f\v")", R"("\u0007\b\f\u000b")"},
      {R"("\x41\101\u0041\U00000041")", R"("AAAA")"},
      {R"("\U0001F600")", "\"\xF0\x9F\x98\x80\""},
      {R"("\xe9")", "\"\xC3\xA9\""},  // a code point (U+00E9), encoded as UTF-8
      {R"("\`\?")", R"("`?")"},
      {"-9223372036854775808", "-9223372036854775808"},
      {"-9223372036854775808 + 1", "-9223372036854775807"},
      {".99", "0.99"},
      {".5e1", "5.0"},
      {"{true: 5}[true]", "5"},
      {"{false: 1, true: 2}[false]", "1"},
      {"{1: 'a', 2: 'b'}[2]", R"("b")"},
      {"{1u: 'a'}[1u]", R"("a")"},
      {"{k: 1}['k']", "1"},  // a bare word is still a field name
  });
  CHECK(Eval("9223372036854775808").rfind("syntax:", 0) == 0);  // out of range without the minus
  CHECK(Eval(R"("\q")").rfind("syntax:", 0) == 0);             // not an escape
}

TEST_CASE("the function table's arity is the evaluator's: one argument too few or too many is refused") {
  for (const auto& f : aos::FunctionTable()) {
    const aos::FunctionSpec* a = &f;
    if (!a->impl) continue;  // has, default, coalesce, the macros: checked apart
    auto call = [&](size_t n) {
      std::string text = std::string(f.name) + "(";
      for (size_t i = 0; i < n; ++i) text += i ? ", 1" : "1";
      return text + ")";
    };
    if (a->min > 0) {
      INFO(call(a->min - 1));
      CHECK(Eval(call(a->min - 1)).rfind("error: ", 0) == 0);
    }
    if (a->max != SIZE_MAX) {
      INFO(call(a->max + 1));
      CHECK(Eval(call(a->max + 1)).rfind("error: ", 0) == 0);
    }
  }
}

}  // namespace
