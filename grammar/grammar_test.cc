#include <catch2/catch.hpp>
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
