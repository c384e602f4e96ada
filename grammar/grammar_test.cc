#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <tao/pegtl/contrib/analyze.hpp>

#include "grammar/grammar.h"

namespace {

TEST_CASE("the grammar has no left recursion or non-consuming loops") {
  // analyze<> prints the problems it finds and returns their count.
  CHECK(tao::pegtl::analyze<aos::grammar::file>() == 0);
  CHECK(tao::pegtl::analyze<aos::grammar::expression_only>() == 0);
}

TEST_CASE("every node kind has a name") {
  CHECK(std::string(aos::grammar::NodeKindName(aos::grammar::NodeKind::step_stmt)) ==
        "step_stmt");
  CHECK(std::string(aos::grammar::NodeKindName(aos::grammar::NodeKind::none)) == "none");
}

}  // namespace

// docs/language.md lists the reserved words; the grammar's check must agree
// word for word, so that the page stays true to the grammar.
TEST_CASE("the reserved words of docs/language.md are the grammar's") {
  std::ifstream in(std::string(AOS_SOURCE_DIR) + "/docs/language.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  const size_t at = doc.find("**Reserved** words cannot be names:");
  REQUIRE(at != std::string::npos);
  const size_t open = doc.find('`', at), close = doc.find('`', open + 1);
  REQUIRE(close != std::string::npos);
  std::stringstream words(doc.substr(open + 1, close - open - 1));
  std::string w;
  int n = 0;
  while (words >> w) {
    INFO(w);
    CHECK(aos::grammar::IsReservedWord(w));
    ++n;
  }
  CHECK(n == 22);  // every reserved word is listed (IsReservedWord knows 22)
  for (const char* contextual : {"key", "retry", "timeout", "cache", "max", "x", "list", "map", "ask"}) {
    CHECK_FALSE(aos::grammar::IsReservedWord(contextual));
  }
}
