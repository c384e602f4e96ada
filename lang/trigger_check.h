// The checks of `trigger` declarations (serve.md §1, docs/language.md):
// what kind of trigger it is, its cron expression, time zone and period,
// a webhook's path and auth, the workflow it starts and the arguments it
// passes, and the names its expressions use (`fired_at` in a schedule's,
// `request` in a webhook's), and a webhook's `body: T` (the request.json
// fields used, and the types they pass). Codes E170-E176
// (docs/diagnostics.md).
#ifndef AOS_LANG_TRIGGER_CHECK_H_
#define AOS_LANG_TRIGGER_CHECK_H_

#include "lang/ast.h"
#include "lang/checker.h"
#include "lang/diagnostic.h"
#include "lang/source.h"

#include <vector>

namespace aos {

// Checks the triggers of the main module against its workflows (and the
// program's types, for `body: T`).
void CheckTriggers(Program& program, const Module& main, const SourceFile* src, Diagnostics& diags);

// Checks files served together (`aosrun serve A.aos B.aos`): a workflow
// name, trigger name or webhook path declared by two of them is E175 at
// the later one, since one would silently replace the other.
void CheckServedTogether(const std::vector<const Program*>& programs, Diagnostics& diags);

}  // namespace aos

#endif  // AOS_LANG_TRIGGER_CHECK_H_
