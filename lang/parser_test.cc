#include "lang/parser.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "lang/ast_dump.h"

namespace {

std::string Expr(const std::string& text) {
  std::string error;
  auto e = aos::ParseExpression(text, &error);
  if (!e) return "error: " + error;
  return aos::DumpExpr(*e);
}

// Parses `text` as a file; returns the AST dump or the rendered diagnostics.
std::string File(const std::string& text) {
  aos::SourceFile src("t.aos", text);
  aos::Diagnostics diags;
  auto m = aos::ParseModule(src, diags);
  if (!m) {
    std::string out;
    for (const auto& d : diags.all()) out += aos::RenderText(d);
    return out;
  }
  return aos::DumpModule(*m);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_CASE("binary operators bind by CEL precedence, left to right") {
  CHECK(Expr("1 + 2 * 3") == "(+ 1 (* 2 3))");
  CHECK(Expr("1 - 2 - 3") == "(- (- 1 2) 3)");
  CHECK(Expr("a || b && c") == "(|| a (&& b c))");
  CHECK(Expr("a && b || c") == "(|| (&& a b) c)");
  CHECK(Expr("x < 1 == true") == "(== (< x 1) true)");
  CHECK(Expr("1 + 2 in l") == "(in (+ 1 2) l)");
  CHECK(Expr("(1 + 2) * 3") == "(* (+ 1 2) 3)");
  CHECK(Expr("a ? b : c ? d : e") == "(? a b (? c d e))");
  CHECK(Expr("a || b ? 1 : 2") == "(? (|| a b) 1 2)");
}

TEST_CASE("unary operators apply after member access and calls") {
  CHECK(Expr("-a.b") == "(- (. a b))");
  CHECK(Expr("!!x") == "(! (! x))");
  CHECK(Expr("-f(1)") == "(- (call f 1))");
  CHECK(Expr("1 - -2") == "(- 1 (- 2))");
}

TEST_CASE("member, index and call suffixes chain") {
  CHECK(Expr("a.b.c") == "(. (. a b) c)");
  CHECK(Expr("a[0].b") == "(. ([] a 0) b)");
  CHECK(Expr("size(a)") == "(call size a)");
  CHECK(Expr("l.filter(s, s.score >= 0.5)") ==
        "(method filter l s (>= (. s score) 0.5))");
  CHECK(Expr("a.b.startsWith(\"x\")") == "(method startsWith (. a b) \"x\")");
  CHECK(Expr("type(x) == int") == "(== (call type x) int)");
  CHECK(Expr("f(x, limit: 3)") == "error: 1:6: f() takes no named arguments");
}

TEST_CASE("literals of every kind parse to values") {
  CHECK(Expr("42") == "42");
  CHECK(Expr("0x1F") == "31");
  CHECK(Expr("42u") == "42");
  CHECK(Expr("4.5") == "4.5");
  CHECK(Expr("1e3") == "1000.0");
  CHECK(Expr("null") == "null");
  CHECK(Expr("true") == "true");
  CHECK(Expr("30s") == "\"30s\"");
  CHECK(Expr("250ms") == "\"250ms\"");
  CHECK(Expr("1h30m") == "\"1h30m\"");
  CHECK(Expr("2.50 usd") == "{\"amount\":\"2.50\",\"currency\":\"usd\"}");
  CHECK(Expr("[1, 2, 3]") == "(list 1 2 3)");
  CHECK(Expr("[]") == "(list)");
  CHECK(Expr("{title: x, \"k\": 2}") == "(map \"title\" x \"k\" 2)");
  CHECK(Expr("{}") == "(map)");
  CHECK(Expr("9223372036854775807") == "9223372036854775807");
}

TEST_CASE("strings interpolate in double quotes only") {
  CHECK(Expr("\"Hello ${name}!\"") == "(interp \"Hello \" name \"!\")");
  CHECK(Expr("'Hello ${name}'") == "\"Hello ${name}\"");
  CHECK(Expr("r\"a\\nb\"") == "\"a\\\\nb\"");
  CHECK(Expr("\"a\\nb\"") == "\"a\\nb\"");
  CHECK(Expr("\"\"\"two\nlines ${x}\"\"\"") == "(interp \"two\\nlines \" x)");
  CHECK(Expr("\"\\u00e9\"") == "\"\xc3\xa9\"");
  CHECK(Expr("\"${a}${b}\"") == "(interp a b)");
  CHECK(Expr("\"price: \\$5\"") == "\"price: $5\"");
}

TEST_CASE("expression syntax errors say what was expected and where") {
  CHECK(Expr("1 +") == "error: 1:4: expected an operand after the operator");
  CHECK(Expr("(1 + 2") == "error: 1:7: expected ',' or ')'");
  CHECK(Expr("[1, 2") == "error: 1:6: expected ',' or ']'");
  CHECK(Expr("a ? b") == "error: 1:6: expected ':' in the conditional expression");
  CHECK(Expr("\"abc") == "error: 1:5: unterminated string (the string starts at 1:1)");
  CHECK(Expr("1 2") == "error: 1:3: unexpected input after the expression");
  CHECK(Expr("99999999999999999999") == "error: 1:1: integer literal out of range for int");
  CHECK(Expr("a.") == "error: 1:3: expected a field or method name after '.'");
}

TEST_CASE("nesting past the bound is an error, not a stack overflow") {
  std::string deep(100000, '(');
  CHECK(Expr(deep + "1" + std::string(100000, ')')) ==
        "error: 1:65: nesting too deep");
  std::string lists(5000, '[');
  CHECK(Expr(lists).rfind("error: ", 0) == 0);
}

TEST_CASE("the programs of the language spec parse") {
  for (const char* name : {"hello.aos", "weekly_newsletter.aos", "nurture.aos"}) {
    INFO(name);
    const std::string text = ReadFile(std::string(AOS_SOURCE_DIR) + "/examples/" + name);
    REQUIRE(!text.empty());
    const std::string dump = File(text);
    CHECK(dump.find("error[") == std::string::npos);
  }
}

TEST_CASE("a workflow's statements and modifiers are all kept") {
  const std::string dump = File(R"(
workflow w(week: string, n: int = 3) -> map<string, any> {
  budget 1.00 usd
  concurrency 4
  step s = analytics.get("/signals", query: {week: week}) {
    timeout 10s
    retry 4 backoff 1s x 2 max 10s jitter on [http.5xx, net]
    describe "collect"
    cache 7d
  }
  effect p = cms.post("/posts", json: {t: s.json.title}) {
    key "publish-${week}"
    compensate cms.delete("/posts/${p.json.id}")
    escalate after 3
    confirm
  } when s.status == 200 after s
  approval review { ask "ok?" show s.json timeout 48h on_timeout reject }
  wait pause for 2h
  wait until_then until timestamp("2030-01-01T00:00:00Z")
  signal paid "payment.received" { timeout 7d }
  let top = s.json.items
  for x in top max 8 {
    effect mail = email.send(to: x.email) { key "m-${x.email}" }
  }
  output {n: size(top)}
  fail "bad" when n < 0
}
)");
  CHECK(dump ==
        "workflow w(week: string, n: int = 3) -> map<string, any>\n"
        "  budget {\"amount\":\"1.00\",\"currency\":\"usd\"}\n"
        "  concurrency 4\n"
        "  step s = (call analytics.get \"/signals\" query: (map \"week\" week)) [timeout "
        "\"10s\"] [retry 4 backoff 1s x 2.0 max 10s jitter on http.5xx on net] [describe "
        "\"collect\"] [cache 7d]\n"
        "  effect p = (call cms.post \"/posts\" json: (map \"t\" (. (. s json) title))) "
        "[key (interp \"publish-\" week)] [compensate cms.delete] [escalate 3] [confirm] "
        "when (== (. s status) 200) after s\n"
        "  approval review ask \"ok?\" show (. s json) timeout \"2d\" on_timeout reject\n"
        "  wait pause for \"2h\"\n"
        "  wait until_then until (call timestamp \"2030-01-01T00:00:00Z\")\n"
        "  signal paid timeout \"7d\" event payment.received\n"
        "  let top value (. (. s json) items)\n"
        "  for x value top max 8\n"
        "    effect mail = (call email.send to: (. x email)) [key (interp \"m-\" (. x email))]\n"
        "  output value (map \"n\" (call size top))\n"
        "  fail value \"bad\" when (< n 0)\n");
}

TEST_CASE("a missing '}' names the block it should close") {
  CHECK(File("workflow w() {\n  let a = 1\n\nworkflow v() { output 1 }\n") ==
        "t.aos:4:1: error[E003]: expected a statement or '}' (to close workflow 'w' opened "
        "at 1:1)\n"
        " 4 | workflow v() { output 1 }\n"
        "   | ^~~~~~~~\n");
}

TEST_CASE("an unterminated string points at its line and names where it starts") {
  CHECK(File("workflow w() {\n  let a = \"abc\n  output a\n}\n") ==
        "t.aos:2:15: error[E002]: unterminated string (the string starts at 2:11)\n"
        " 2 |   let a = \"abc\n"
        "   |               ^\n"
        "  hint: a \"...\" string ends on the line it starts; use \"\"\"...\"\"\" for text "
        "over several lines\n");
}

TEST_CASE("several independent syntax errors are reported in one run") {
  const std::string out = File(
      "workflow w() {\n"
      "  let a = \n"
      "  let b = 1 +\n"
      "  step c = http.get(\"x\") {\n"
      "    retries 3\n"
      "  }\n"
      "  output b\n"
      "}\n"
      "type T { x int }\n"
      "workflow v() { output 1 }\n");
  CHECK(out.find("t.aos:3:3: error[E001]: expected an expression") != std::string::npos);
  CHECK(out.find("t.aos:4:3: error[E001]: expected an operand after the operator") !=
        std::string::npos);
  CHECK(out.find("t.aos:5:5: error[E003]: expected a modifier or '}' (to close step 'c' "
                 "opened at 4:3)") != std::string::npos);
  CHECK(out.find("t.aos:9:12: error[E001]: expected ':' after the name") !=
        std::string::npos);
  // Exactly those four: recovery does not cascade.
  size_t count = 0;
  for (size_t p = out.find(": error["); p != std::string::npos;
       p = out.find(": error[", p + 1)) {
    ++count;
  }
  CHECK(count == 4);
}

TEST_CASE("reserved words cannot be names, contextual ones can") {
  CHECK(File("workflow w() { let step = 1 output step }").find(
            "error[E001]: expected a name for the statement") != std::string::npos);
  CHECK(File("workflow w() { let key = 1 let retry = key output retry }")
            .find("error") == std::string::npos);
}

TEST_CASE("unknown on_timeout actions and failure policies get a hint") {
  const std::string out =
      File("workflow w() {\n  on failure compensat\n  approval a { ask \"?\" timeout 1h "
           "on_timeout rejct }\n}\n");
  CHECK(out.find("'compensat' is not a failure policy") != std::string::npos);
  CHECK(out.find("hint: did you mean 'compensate'?") != std::string::npos);
  CHECK(out.find("'rejct' is not an on_timeout action") != std::string::npos);
}

}  // namespace
