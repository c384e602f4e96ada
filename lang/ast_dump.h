// A deterministic text form of the AST, for tests and `aoscheck --dump-ast`:
// expressions as S-expressions, e.g. `(+ 1 (* 2 3))`, `(. a b)`,
// `(call size (. a items))`, statements one per line.
#ifndef AOS_LANG_AST_DUMP_H_
#define AOS_LANG_AST_DUMP_H_

#include <string>

#include "lang/ast.h"

namespace aos {

// "step", "effect", ...; "retry", "timeout", ... as written in .aos.
const char* StmtKindName(StmtKind k);
const char* ModifierName(ModifierKind k);

std::string DumpExpr(const Expr& e);
std::string DumpType(const TypeRef& t);
// "key id: string", "identity email: string?", "score: double = 0.0".
std::string DumpField(const Field& f);
std::string DumpModule(const Module& m);

}  // namespace aos

#endif  // AOS_LANG_AST_DUMP_H_
