// The checks of `transform` and `migration` declarations (state.md §2,
// docs/language.md): a transform takes one typed parameter, makes a
// declared type or entity, sets each of its fields with an expression of
// the field's type that uses only the parameter, sets every field that
// has neither `?` nor a default, and is pure (E180). A migration names an
// entity, goes to a higher version, sets fields of the entity's declaration
// (`it` is the stored record) and drops only fields the declaration no
// longer has (E182).
#ifndef AOS_LANG_TRANSFORM_CHECK_H_
#define AOS_LANG_TRANSFORM_CHECK_H_

#include "lang/ast.h"
#include "lang/checker.h"
#include "lang/diagnostic.h"
#include "lang/source.h"

namespace aos {

void CheckTransform(Program& program, const TransformDecl& t, const SourceFile* src, Diagnostics& diags);
void CheckMigration(Program& program, const MigrationDecl& m, const SourceFile* src, Diagnostics& diags);

// The text a transform's version stands for: its parameter, result and
// fields as parsed (spacing and comments do not count). Kept by version in
// the data directory; a change under the same version is E181.
std::string TransformBodyText(const TransformDecl& t);

}  // namespace aos

#endif  // AOS_LANG_TRANSFORM_CHECK_H_
