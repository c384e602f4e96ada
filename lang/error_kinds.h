// The error kinds (language.md §3.3, plus llm.empty, effect.key_conflict and
// compensation.failed: docs/language.md): one table that the checker (retry
// `on [...]` names, did-you-mean) and the runtime (what a retry catches,
// what is retried without a `retry on`) both read.
#ifndef AOS_LANG_ERROR_KINDS_H_
#define AOS_LANG_ERROR_KINDS_H_

#include <array>
#include <string_view>

namespace aos {

struct ErrorKind {
  std::string_view name;
  bool retried_by_default;  // caught by a `retry` that names no kinds
};

inline constexpr std::array<ErrorKind, 20> kErrorKinds = {{
    {"net", true},
    {"timeout", true},
    {"http.4xx", false},  // a class: every 4xx status but 429
    {"http.5xx", true},   // a class: every 5xx status
    {"http.429", true},
    {"llm.rate_limit", true},
    {"llm.schema", true},
    {"llm.refusal", false},
    {"llm.empty", false},
    {"budget.exceeded", false},
    {"approval.rejected", false},
    {"approval.timeout", false},
    {"expr.error", false},
    {"effect.unknown", false},
    {"effect.key_conflict", false},
    {"compensation.failed", false},
    {"signal.timeout", false},
    {"entity.ref", false},  // a ref<T> field names no stored T record
    {"entity.schema", false},  // the entity was migrated to another shape since the run started
    {"schema.drift", false},  // a payload that does not fit its transform's parameter
}};

// A name a `retry on [...]` may use: a kind of the table, or an exact
// status http.NNN.
bool IsKnownErrorKind(std::string_view name);

// Whether `rule` (a name in `retry on [...]`) catches error `kind`: the same
// name, or a class (http.4xx: every 4xx but 429, named apart; http.5xx).
bool ErrorKindMatches(std::string_view rule, std::string_view kind);

// Whether `kind` is retried without a `retry on` list.
bool RetriedByDefault(std::string_view kind);

}  // namespace aos

#endif  // AOS_LANG_ERROR_KINDS_H_
