// The one estimate of a model call's cost (plan and budgets read it).
#include "lang/model_cost.h"

#include <catch2/catch.hpp>

namespace aos {
namespace {

TEST_CASE("a model call's estimate: the prompt at four characters a token, and all of max_tokens", "[cost]") {
  CHECK(PromptTokens(0) == 16);
  CHECK(PromptTokens(400) == 116);
  CHECK(PromptTokens(401) == 117);  // a started token counts
  // 116 input tokens at 1.00 a million, 100 output tokens at 2.00 a million.
  CHECK(EstimateModelCostNanos(400, 100, 1.0, 2.0) == 116'000 + 200'000);
  CHECK(EstimateModelCostNanos(400, -5, 1.0, 2.0) == EstimateModelCostNanos(400, kDefaultMaxTokens, 1.0, 2.0));
  CHECK(TokenCostNanos(1e30, 1e6) == INT64_MAX / 4);  // absurd: the most that can be said, never less
  CHECK(TokenCostNanos(100, 0) == 0);
}

}  // namespace
}  // namespace aos
