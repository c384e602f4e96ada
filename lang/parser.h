// The parser: the one place that runs the PEGTL grammar (grammar/), and the
// conversion of its flat syntax tree into the AST (ast.h). Syntax errors
// become diagnostics (codes E001-E005); several independent errors are
// reported from one parse.
#ifndef AOS_LANG_PARSER_H_
#define AOS_LANG_PARSER_H_

#include <memory>
#include <string>
#include <string_view>

#include "lang/ast.h"
#include "lang/diagnostic.h"
#include "lang/source.h"

namespace aos {

// Parses a whole file. Returns the module when there were no syntax errors;
// otherwise null, with the errors in `diags`.
std::unique_ptr<Module> ParseModule(const SourceFile& src, Diagnostics& diags);

// An expression parsed on its own, kept with the pool its nodes live in
// and, when parsed from a string, the text its names view (Expr::name).
struct OwnedExpr {
  std::unique_ptr<SourceFile> source;  // null when the caller has the text
  std::unique_ptr<ExprPool> pool;
  const Expr* expr = nullptr;          // null on an error
  explicit operator bool() const { return expr != nullptr; }
  const Expr& operator*() const { return *expr; }
  const Expr* operator->() const { return expr; }
  const Expr* get() const { return expr; }
};

// Parses one expression (all of `text`), as tests and the fuzzer do. Empty
// on a syntax error, with *error set to "line:col: message".
OwnedExpr ParseExpression(std::string_view text, std::string* error);

// As above, reporting to `diags` against `src` (whose whole text is the
// expression).
OwnedExpr ParseExpression(const SourceFile& src, Diagnostics& diags);

}  // namespace aos

#endif  // AOS_LANG_PARSER_H_
