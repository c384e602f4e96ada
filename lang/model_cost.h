// What a model call will cost before it is made: one estimate for
// `aoscheck plan` (its low and high figures) and for the runtime's budget
// check, so the two never disagree. The prompt is counted at about four
// characters a token (plus a small fixed overhead for the message frame);
// the answer may use all of max_tokens (kDefaultMaxTokens when not given).
// Prices are per million tokens; amounts are billionths of a unit.
#ifndef AOS_LANG_MODEL_COST_H_
#define AOS_LANG_MODEL_COST_H_

#include <cstddef>
#include <cstdint>

namespace aos {

inline constexpr int64_t kDefaultMaxTokens = 1024;

// The input tokens of a prompt (system text included) of `chars` bytes.
double PromptTokens(size_t chars);

// `tokens` at `per_mtok` a million, in billionths; saturating (an absurd
// count estimates as the most that can be said, never less).
int64_t TokenCostNanos(double tokens, double per_mtok);

// The whole estimate: the prompt's tokens and max_tokens of answer (a
// negative max_tokens counts as the default).
int64_t EstimateModelCostNanos(size_t prompt_chars, int64_t max_tokens, double input_per_mtok,
                               double output_per_mtok);

}  // namespace aos

#endif  // AOS_LANG_MODEL_COST_H_
