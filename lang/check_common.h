// What the checker's parts share (lang/checker.cc's WorkflowChecker,
// lang/decl_checker.cc): quoting names in messages, "did you mean" hints,
// line:col text, the scalar type names, and the check of a model name
// against the config's models (E131).
#ifndef AOS_LANG_CHECK_COMMON_H_
#define AOS_LANG_CHECK_COMMON_H_

#include <string>
#include <string_view>
#include <vector>

#include "lang/checker.h"
#include "lang/diagnostic.h"

namespace aos::checking {

std::string Quote(std::string_view s);
void AddDidYouMean(Diagnostic& d, std::string_view word, const std::vector<std::string>& candidates);
std::string Where(const SourceFile* src, Span s);
const std::vector<std::string>& ScalarTypeNames();
// E131 when `e` is a quoted model name the config does not know (only when
// the options carry the config's models).
void CheckModelName(const Expr& e, const CheckOptions& opts, const SourceFile* src, Diagnostics& diags);
// E107: entity or type `t` has no field `field`, with a "did you mean".
void NoSuchField(const TypeDecl& t, std::string_view field, const SourceFile* src, Span at, Diagnostics& diags);

}  // namespace aos::checking

#endif  // AOS_LANG_CHECK_COMMON_H_
