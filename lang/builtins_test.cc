// The table of built-in calls is what the checker accepts, and
// docs/stdlib.md is what the tables say.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "lang/builtins.h"
#include "lang/checker.h"
#include "lang/stdlib_doc.h"

namespace {

const char kPrelude[] =
    "aos 0.1\n"
    "entity E {\n  key id: string\n  identity mail: string?\n  n: int\n  index n\n}\n"
    "connector C = http {\n  base_url: \"http://localhost:1\"\n}\n"
    "agent A {\n  model: \"small\"\n  instructions: \"be brief\"\n}\n";

// A value of the type an argument takes; `wrong`: one of another type.
std::string ValueOf(aos::ArgType t, bool wrong) {
  using A = aos::ArgType;
  if (wrong) return t == A::kString || t == A::kAddresses || t == A::kMap || t == A::kBool ? "42" : "\"text\"";
  switch (t) {
    case A::kString: return "\"text\"";
    case A::kAddresses: return "\"a@example.com\"";
    case A::kInt: return "3";
    case A::kNumber: return "0.5";
    case A::kDuration: return "duration(\"10s\")";
    case A::kMap: return "{\"k\": \"v\"}";
    case A::kAny: return "\"text\"";
    case A::kBool: return "true";
  }
  return "null";
}

// A call of `m` with its positional and required arguments; `skip` names a
// required one left out, `extra` is added as is.
std::string CallOf(const aos::MethodSpec& m, std::string_view skip = "", const std::string& extra = "") {
  std::string s = aos::CallText(m);
  s.erase(s.find('(') + 1);  // the name: the arguments follow
  std::vector<std::string> parts;
  for (const auto& p : m.positional) {
    parts.push_back(m.op == aos::CallOp::kEntityUpsert ? "{id: \"a\", n: 1}"
                    : m.op == aos::CallOp::kHttp         ? "\"/x\""
                    : m.op == aos::CallOp::kEntityResolve ? "{mail: \"a@x\"}"
                    : p.type == aos::ArgType::kMap       ? "{n: it.n + 1}"
                                                          : "\"text\"");
  }
  for (const auto& a : m.named) {
    if (a.required && a.name != skip) parts.push_back(std::string(a.name) + ": " + ValueOf(a.type, false));
  }
  if (m.named_is_index) parts.push_back("n: 1");  // E's indexed field
  if (!extra.empty()) parts.push_back(extra);
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? ", " : "") + parts[i];
  return s + ")";
}

// The diagnostics of a workflow making `call` (as an effect when it writes
// outside the run; a write inside the runtime is a step, E128).
std::string Check(const aos::MethodSpec& m, const std::string& call) {
  const bool effect = m.writes && aos::RequestOf(m.op) != aos::RequestKind::kInline;
  std::string text = std::string(kPrelude) + "workflow w() {\n  " +
                     (effect ? "effect r = " + call + " {\n    key \"k\"\n  }\n" : "step r = " + call + "\n") +
                     "  output r\n}\n";
  aos::Diagnostics d;
  auto p = aos::LoadProgram("t.aos", text, aos::CheckOptions{}, d);
  std::string out;
  for (const auto& x : d.all()) {
    if (x.severity == aos::Severity::kError) out += x.code + " " + x.message + "\n";
  }
  return out;
}

TEST_CASE("the checker accepts every call of the table with its arguments, and refuses others", "[builtins]") {
  for (const auto& m : aos::CallTable()) {
    INFO(CallOf(m));
    CHECK(Check(m, CallOf(m)) == "");
    CHECK(Check(m, CallOf(m, "", "no_such_argument: 1")).find("has no argument 'no_such_argument'") !=
          std::string::npos);
    for (const auto& a : m.named) {
      INFO(a.name);
      if (a.required) {
        CHECK(Check(m, CallOf(m, a.name)).find("needs the argument '" + std::string(a.name) + "'") !=
              std::string::npos);
      } else {
        // A value the argument takes: an order_by names a field of E; a
        // where that sees `it` uses it.
        // (kb.search's `it` is an entry: {id, text, meta, score}.)
        const std::string good = a.name == "order_by" ? "\"n\""
                                 : a.sees_it          ? (m.ns == aos::CallNs::kKb ? "it.score > 0.5" : "it.n > 0")
                                                      : ValueOf(a.type, false);
        CHECK(Check(m, CallOf(m, "", std::string(a.name) + ": " + good)) == "");
      }
      if (a.type != aos::ArgType::kAny && !a.required) {
        CHECK(Check(m, CallOf(m, "", std::string(a.name) + ": " + ValueOf(a.type, true))) != "");
      }
    }
    std::string more = CallOf(m);
    const size_t at = more.find('(') + 1;
    more.insert(at, more[at] == ')' ? "\"one too many\"" : "\"one too many\", ");
    CHECK(Check(m, more).find("positional argument") != std::string::npos);
  }
}

TEST_CASE("a program's calls resolve once, to their row and declaration", "[builtins]") {
  aos::Diagnostics d;
  auto p = aos::LoadProgram("t.aos",
                            std::string(kPrelude) +
                                "workflow w() {\n  step a = C.get(\"/x\")\n  step b = E.get(\"k\")\n"
                                "  step c = A.ask(\"hi\")\n  output [a, b, c]\n}\n",
                            aos::CheckOptions{}, d);
  REQUIRE_FALSE(d.has_errors());
  int seen = 0;
  for (const auto& stmt : p->workflows.front()->workflow->body) {
    const aos::Call* call = stmt->call.get();
    if (!call) continue;
    const aos::CallTarget& target = call->target;  // as the checker left it
    REQUIRE(target.known());
    if (call->callee == "C.get") {
      CHECK(target.connector() != nullptr);
      CHECK(aos::RequestOf(target.spec->op) == aos::RequestKind::kHttp);
    } else if (call->callee == "E.get") {
      CHECK(target.entity() != nullptr);
      CHECK(aos::RequestOf(target.spec->op) == aos::RequestKind::kInline);
    } else {
      CHECK(target.agent() != nullptr);
      CHECK(target.spec->op == aos::CallOp::kChat);
    }
    ++seen;
  }
  CHECK(seen == 3);
  CHECK_FALSE(aos::ResolveCall(aos::CallScope{p->types, p->connectors, p->agents}, "C.fetch").known());
  CHECK(aos::ResolveCall(aos::CallScope{p->types, p->connectors, p->agents}, "C.fetch").ns == aos::CallNs::kConnector);
}

TEST_CASE("docs/stdlib.md holds the reference the tables print", "[builtins]") {
  std::ifstream in(std::string(AOS_SOURCE_DIR) + "/docs/stdlib.md");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  const size_t begin = doc.find(aos::kStdlibBegin);
  const size_t end = doc.find(aos::kStdlibEnd);
  REQUIRE(begin != std::string::npos);
  REQUIRE(end != std::string::npos);
  const size_t from = begin + std::string(aos::kStdlibBegin).size() + 1;  // past the marker's line
  INFO("regenerate it with scripts/stdlib_doc.py");
  CHECK(doc.substr(from, end - from) == "\n" + aos::StdlibMarkdown() + "\n");
}

}  // namespace
