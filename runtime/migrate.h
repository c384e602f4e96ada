// Migrations (state.md §2): rewriting the stored records of an entity from
// the version the data directory keeps to the file's declaration, with the
// file's `migration E vN -> vM`.
//
// Durable and resumable without a run: records are migrated in key order,
// a batch at a time, and each batch writes its records (with index entries,
// provenance and a history entry holding before and after) together with
// the migration's cursor (Column::kMeta "migrating\0E"). A kill loses at
// most an unwritten batch, which is done again; no record is migrated
// twice. While the cursor exists every run that declares E is refused
// (entity_schemas.h), so no run sees a mix of shapes; the last batch writes
// the new schema (version M) and removes the cursor.
//
// A record whose migration fails (an expression error, a value that does
// not fit the new declaration, a stored field the declaration neither has
// nor drops) stops the migration there, named; `migrate` again after a fix
// continues from it.
#ifndef AOS_RUNTIME_MIGRATE_H_
#define AOS_RUNTIME_MIGRATE_H_

#include <functional>
#include <string>
#include <vector>

#include "lang/checker.h"
#include "runtime/clock.h"
#include "runtime/store.h"

namespace aos {

// The migrations `program` needs before its runs may start: one per entity
// whose stored records have another shape (or are half migrated) and that
// the program migrates from the stored version.
std::vector<const MigrationDecl*> PendingMigrations(Store& store, const Program& program);

struct MigrateOutcome {
  bool ok = false;
  size_t migrated = 0;       // by this call
  size_t total = 0;          // records migrated so far, by every call
  std::string failed_key;    // the record it stopped at
  std::string error;
};

// Runs (or continues) `m` over the records of its entity; `progress` is
// told the count after each batch.
MigrateOutcome Migrate(Store& store, Clock& clock, const Program& program, const MigrationDecl& m,
                       const std::function<void(size_t total)>& progress = nullptr);

}  // namespace aos

#endif  // AOS_RUNTIME_MIGRATE_H_
