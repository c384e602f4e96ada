// Spelling suggestions for "did you mean ...?" hints (after ninja's
// SpellcheckString): the candidate with the smallest edit distance, if it is
// close enough to be a plausible typo.
#ifndef AOS_LANG_SPELLING_H_
#define AOS_LANG_SPELLING_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aos {

// Levenshtein distance, with a transposition counting as one edit.
size_t EditDistance(std::string_view a, std::string_view b);

// The closest candidate within max(1, |word| / 3) edits, ties broken by
// the candidates' order; nullopt if none is that close.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);

}  // namespace aos

#endif  // AOS_LANG_SPELLING_H_
