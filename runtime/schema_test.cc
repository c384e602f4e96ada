// Schema tests: the JSON Schema of declared types, and CheckValue's verdicts
// with the paths it names.
#include "runtime/schema.h"

#include <catch2/catch.hpp>

namespace aos {
namespace {

struct Prog {
  std::unique_ptr<Program> p;
  const TypeRef* out = nullptr;
};

Prog Load(const std::string& src) {
  Prog r;
  Diagnostics d;
  r.p = LoadProgram("s.aos", src, CheckOptions{}, d);
  for (const auto& x : d.all()) {
    if (x.severity == Severity::kError) FAIL(RenderText(x));
  }
  for (const auto& [name, a] : r.p->agents) {
    for (const auto& s : a->settings) {
      if (s.key == "output") r.out = s.type.get();
    }
  }
  REQUIRE(r.out);
  return r;
}

const char* kSrc =
    "type Section { heading: string  words: int }\n"
    "type Outline {\n"
    "  title: string\n"
    "  sections: list<Section>\n"
    "  score: double = 0.5\n"
    "  note: string?\n"
    "}\n"
    "agent writer { model: \"small\"  output: Outline }\n"
    "workflow w() {\n  step o = writer.ask(\"x\")\n  output o.data\n}\n";

TEST_CASE("JsonSchemaOf describes declared records", "[schema]") {
  Prog g = Load(kSrc);
  const std::string j = JsonSchemaOf(*g.p, g.out).ToJson();
  CHECK(j.find(R"("title":{"type":"string"})") != std::string::npos);
  CHECK(j.find(R"("sections":{"type":"array","items":{"type":"object")") != std::string::npos);
  CHECK(j.find(R"("required":["title","sections"])") != std::string::npos);  // defaults, T? optional
  CHECK(j.find(R"("note":{"anyOf":[{"type":"string"},{"type":"null"}]})") != std::string::npos);
  CHECK(j.find(R"("additionalProperties":false)") != std::string::npos);
}

TEST_CASE("CheckValue accepts, coerces, fills defaults and names the first mismatch", "[schema]") {
  Prog g = Load(kSrc);
  auto check = [&](const std::string& json, Value* out) {
    std::string e;
    auto v = ParseJson(json, &e);
    REQUIRE(v);
    return CheckValue(*g.p, g.out, *v, out);
  };
  Value out;
  CHECK(check(R"({"title":"T","sections":[{"heading":"a","words":3}],"extra":1})", &out) == "");
  CHECK(out.ToJson() == R"({"title":"T","sections":[{"heading":"a","words":3}],"score":0.5,"note":null})");
  CHECK(check(R"({"title":"T","sections":[],"score":1})", &out) == "");
  CHECK(out.Find("score")->kind() == ValueKind::kDouble);
  CHECK(check(R"({"sections":[]})", &out) == "title: missing");
  CHECK(check(R"({"title":"T","sections":[{"heading":"a","words":"three"}]})", &out) ==
        "sections[0].words: expected an integer, got \"three\"");
  CHECK(check(R"({"title":7,"sections":[]})", &out) == "title: expected a string, got 7");
  CHECK(check(R"({"title":"T","sections":{}})", &out) == "sections: expected an array, got {}");
  CHECK(check(R"([1,2])", &out) == "the answer: expected an object, got [1,2]");
  CHECK(check(R"(null)", &out) == "the answer: a value is required, got null");
}

}  // namespace
}  // namespace aos
