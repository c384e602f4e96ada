#include "lang/spelling.h"

#include <catch2/catch.hpp>

namespace {

TEST_CASE("edit distance counts insertions, deletions, changes and swaps") {
  CHECK(aos::EditDistance("", "") == 0);
  CHECK(aos::EditDistance("abc", "abc") == 0);
  CHECK(aos::EditDistance("abc", "abd") == 1);
  CHECK(aos::EditDistance("abc", "ab") == 1);
  CHECK(aos::EditDistance("ab", "abc") == 1);
  CHECK(aos::EditDistance("outlne", "outline") == 1);
  CHECK(aos::EditDistance("oultine", "outline") == 1);  // a swap
  CHECK(aos::EditDistance("kitten", "sitting") == 3);
}

TEST_CASE("a close name is suggested, a distant one is not") {
  const std::vector<std::string> names = {"signals", "outline", "review", "publish"};
  CHECK(aos::ClosestMatch("outlne", names) == std::optional<std::string>("outline"));
  CHECK(aos::ClosestMatch("reveiw", names) == std::optional<std::string>("review"));
  CHECK_FALSE(aos::ClosestMatch("zebra", names).has_value());
  CHECK_FALSE(aos::ClosestMatch("outline", names).has_value());  // itself is no hint
}

}  // namespace
