// Entity schemas shared through the data directory (state.md §1): the
// first run that writes a data directory with entity E keeps E's
// declaration there; a later program declaring E differently is refused
// before its run starts, with the difference, while records of E exist
// (with none stored, the new declaration replaces the old one).
//
// A schema is the entity's fields as written (key and identity marks,
// types, defaults) with the record types they use. Two schemas conflict
// when their shapes differ: the fields' names and types and the key, in any
// order. Identities, defaults and `index` declarations may change freely
// (an identity or index is built over the stored records when first used),
// and the last declaration is kept.
#ifndef AOS_RUNTIME_ENTITY_SCHEMAS_H_
#define AOS_RUNTIME_ENTITY_SCHEMAS_H_

#include <set>
#include <string>
#include <vector>

#include "lang/checker.h"
#include "lang/diagnostic.h"
#include "runtime/store.h"

namespace aos {

// The schema text of entity `et`: one line per field, then the record
// types its fields use ("type Address { city: string }").
std::string EntitySchemaText(const Program& program, const TypeDecl& et);

// "" when every entity `program` declares agrees with the data directory;
// else, per disagreeing type, its name and the lines only stored and only
// declared, with what to do.
std::string SchemaConflicts(Store& store, const Program& program);

// E181 per transform of `program` whose body differs from the one the data
// directory keeps for its version (lang/transform_check.h TransformBodyText).
void TransformConflicts(Store& store, const Program& program, Diagnostics& diags);

// Both checks, as text for a refused start ("" when none): SchemaConflicts,
// then the E181 diagnostics rendered.
std::string StoredConflicts(Store& store, const Program& program);

// A schema the data directory keeps, and its version (state.md §2: the
// first declaration is v1, or the highest version the file's migrations
// name; a migration vN -> vM makes it vM). Version 0: none kept.
struct StoredSchema {
  std::string text;
  int version = 0;
};
StoredSchema LoadSchema(Store& store, const std::string& type);
void PutSchema(WriteBatch& batch, const std::string& type, const std::string& text, int version);
// Every stored schema, by entity name.
std::vector<std::pair<std::string, StoredSchema>> StoredSchemas(Store& store);

// Column::kMeta key of an unfinished migration of `type` (migrate.h).
std::string MigratingKey(const std::string& type);
// The program's migration of `type` from `version`, or null.
const MigrationDecl* MigrationFrom(const Program& program, const std::string& type, int version);
// What records of a schema text look like (field names, types, the key).
std::set<std::string> Shape(const std::string& text);
bool HasRecords(Store& store, const std::string& type);

// Keeps the schemas of `program`'s entities that the data directory does
// not hold yet (or holds for a type with no records), and the bodies of its
// transform versions it does not hold yet, in `batch`.
void RecordSchemas(Store& store, WriteBatch& batch, const Program& program);

}  // namespace aos

#endif  // AOS_RUNTIME_ENTITY_SCHEMAS_H_
