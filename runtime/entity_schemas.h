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

#include <string>

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

// Every stored schema: entity type -> its schema text, by name.
std::vector<std::pair<std::string, std::string>> StoredSchemas(Store& store);

// Keeps the schemas of `program`'s entities that the data directory does
// not hold yet (or holds for a type with no records), and the bodies of its
// transform versions it does not hold yet, in `batch`.
void RecordSchemas(Store& store, WriteBatch& batch, const Program& program);

}  // namespace aos

#endif  // AOS_RUNTIME_ENTITY_SCHEMAS_H_
