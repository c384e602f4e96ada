// The text of a syntax error: the grammar's message, with the construct it
// failed to close ("to close workflow 'weekly_issue' opened at 3:1", "the
// string starts at 4:9"), a caret under the whole token found, the hint.
#ifndef AOS_LANG_SYNTAX_ERROR_H_
#define AOS_LANG_SYNTAX_ERROR_H_

#include <string>

#include "grammar/grammar.h"
#include "lang/diagnostic.h"
#include "lang/source.h"

namespace aos {

std::string ComposeSyntaxError(const grammar::SyntaxError& e, const SourceFile& src);
// Every error of a parse as a diagnostic.
void ReportSyntaxErrors(const grammar::ParseState& st, const SourceFile& src, Diagnostics& diags);

}  // namespace aos

#endif  // AOS_LANG_SYNTAX_ERROR_H_
