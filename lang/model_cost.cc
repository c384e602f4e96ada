#include "lang/model_cost.h"

#include <cmath>

namespace aos {

namespace {
constexpr int64_t kMostNanos = INT64_MAX / 4;  // as much as can be said; sums stay in range
}

double PromptTokens(size_t chars) { return std::ceil(static_cast<double>(chars) / 4.0) + 16; }

int64_t TokenCostNanos(double tokens, double per_mtok) {
  const double nanos = tokens * per_mtok * 1000.0;  // per_mtok / 1e6 per token, in 1e9ths
  if (!(nanos == nanos) || nanos >= static_cast<double>(kMostNanos)) return kMostNanos;
  if (nanos <= 0) return 0;
  return static_cast<int64_t>(std::llround(nanos));
}

int64_t EstimateModelCostNanos(size_t prompt_chars, int64_t max_tokens, double input_per_mtok,
                               double output_per_mtok) {
  const double out = static_cast<double>(max_tokens >= 0 ? max_tokens : kDefaultMaxTokens);
  return TokenCostNanos(PromptTokens(prompt_chars), input_per_mtok) + TokenCostNanos(out, output_per_mtok);
}

}  // namespace aos
