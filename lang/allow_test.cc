// The connector allow matcher the checker and the runtime share.
#include "lang/allow.h"

#include <catch2/catch.hpp>

namespace aos {
namespace {

TEST_CASE("allow rules: the method without regard to case, '*' within one path segment", "[allow]") {
  CHECK(AllowRuleMatches("GET /v1/items/*", "get", "/v1/items/42"));
  CHECK(AllowRuleMatches("get /v1/items/*", "GET", "/v1/items/42"));
  CHECK_FALSE(AllowRuleMatches("GET /v1/items/*", "POST", "/v1/items/42"));
  // '*' never crosses '/': the checker and the runtime both refuse this
  // (the runtime's fnmatch(..., 0) used to let it through).
  CHECK_FALSE(AllowRuleMatches("GET /v1/items/*", "GET", "/v1/items/42/secrets"));
  CHECK(AllowRuleMatches("GET /v1/*/notes", "GET", "/v1/42/notes"));
  CHECK(AllowRuleMatches("GET /v1/items/*", "GET", "/v1/items/42?full=1"));  // the query is not the path
  CHECK_FALSE(AllowRuleMatches("GET", "GET", "/v1"));                        // no path: allows nothing
  CHECK(AllowRuleMatches("POST /v1/*/*", "post", "/v1/a/b"));
  CHECK_FALSE(AllowRuleMatches("POST /v1/*/*", "post", "/v1/a"));
}

}  // namespace
}  // namespace aos
