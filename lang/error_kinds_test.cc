// The one table of error kinds: names, classes, what is retried by default,
// and the docs that list them.
#include "lang/error_kinds.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace aos {
namespace {

TEST_CASE("error kinds: names, the http classes and the default retries come from one table", "[errors]") {
  CHECK(IsKnownErrorKind("llm.schema"));
  CHECK(IsKnownErrorKind("http.404"));
  CHECK_FALSE(IsKnownErrorKind("http.4044"));
  CHECK_FALSE(IsKnownErrorKind("nett"));
  CHECK(ErrorKindMatches("http.4xx", "http.404"));
  CHECK_FALSE(ErrorKindMatches("http.4xx", "http.429"));  // named apart
  CHECK(ErrorKindMatches("http.5xx", "http.503"));
  CHECK(ErrorKindMatches("http.404", "http.404"));
  CHECK_FALSE(ErrorKindMatches("http.404", "http.400"));
  for (const char* k : {"net", "timeout", "http.500", "http.503", "http.429", "llm.rate_limit", "llm.schema"}) {
    INFO(k);
    CHECK(RetriedByDefault(k));
  }
  for (const char* k : {"http.404", "llm.refusal", "budget.exceeded", "approval.rejected", "expr.error"}) {
    INFO(k);
    CHECK_FALSE(RetriedByDefault(k));
  }
}

TEST_CASE("docs/runtime.md names every error kind of the table", "[errors]") {
  std::ifstream in(std::string(AOS_SOURCE_DIR) + "/docs/runtime.md");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  for (const auto& k : kErrorKinds) {
    INFO(k.name);
    CHECK(doc.find("`" + std::string(k.name) + "`") != std::string::npos);
  }
}

}  // namespace
}  // namespace aos
