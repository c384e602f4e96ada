// The entities column (Column::kEntities): where records, their index
// entries, merged keys, provenance and history live, and the writes every
// path that changes a record shares (runner_entities.cc for runs,
// migrate.cc for migrations, history.cc to read them back).
//
// Per entity type E (no type name holds a byte below 0x07):
//   E \0 key                  the record
//   E \x01 field \0 enc key   an index entry: the record's value of field
//                             (enc: its self-delimiting encoding)
//   E \x02 field              the index of field is built over every record
//   E \x03 key                a merged key: the key it now leads to
//   E \x04 field \0 enc       an identity value a merged record held that its
//                             survivor does not: the survivor's key
//   E \x07 key                the record's summary (E.summary)
//   E \x06 key \0 at run \0 seq   one change (or note) of the record (at: big-endian
//                             nanoseconds): {kind, run, step, seq, transform?,
//                             into?, from?, before?, after?}; a run's change
//                             points at its event (run, seq), a migration's
//                             holds before and after
#ifndef AOS_RUNTIME_ENTITY_STORE_H_
#define AOS_RUNTIME_ENTITY_STORE_H_

#include <functional>
#include <optional>
#include <string>

#include "lang/ast.h"
#include "lang/value.h"
#include "runtime/store.h"

namespace aos::entities {

std::string RecordPrefix(const std::string& type);
std::string IndexHead(const std::string& type, std::string_view field);
std::string IndexMarks(const std::string& type);
std::string AliasKey(const std::string& type, const std::string& id);
std::string HeldIdentity(const std::string& type, std::string_view field, const std::string& enc);
std::string HistoryPrefix(const std::string& type, const std::string& id);
std::string HistoryKey(const std::string& type, const std::string& id, int64_t at, const std::string& run,
                       uint64_t seq);

// The encoding of record r's field, none when absent or null.
std::optional<std::string> FieldEncoding(const Value& r, std::string_view field);

// The stored record of `type` with key `id`; null when absent or damaged.
Value Load(Store& store, const std::string& type, const std::string& id);
// The key `id` leads to: itself when stored, else the record it was merged
// into (itself again when that record is gone). With `found`, the record
// there (null when none).
std::string Follow(Store& store, const std::string& type, const std::string& id, Value* found = nullptr);
// The record's provenance, from its history (notes aside): {created (the
// first change since it was last deleted or merged away), updated, run,
// step, transform (the last change's)}; null when it has no history.
Value Provenance(Store& store, const std::string& type, const std::string& id);
// When the record was made (its first change), 0 when it has no history.
int64_t Created(Store& store, const std::string& type, const std::string& id);

// Keeps the index entries of et's indexed fields (declared, identities, and
// those built by any program) in `batch` as a record changes from `before`
// to `after` (null: absent).
void Reindex(Store& store, WriteBatch& batch, const TypeDecl& et, const std::string& id, const Value& before,
             const Value& after);

// What a write records about itself: the provenance's run, step and
// transform, and the history entry's fields.
struct Change {
  int64_t at = 0;
  std::string kind = "changed";  // changed, deleted, merged, migrated
  std::string run, step, transform;
  uint64_t seq = 0;   // the run's event that holds before and after; 0: held here
  Value extra;        // a map of more fields for the history entry (into, from, before, after)
};

// The time of a new history entry of record `id`: `now`, or just after the
// record's last entry when that is not earlier (a clock set back, or two
// writes in one nanosecond): entries of a record are in the order they were
// committed, which the writers' lock makes their order of writing.
int64_t NextAt(Store& store, const std::string& type, const std::string& id, int64_t now);

// Keeps a history entry of record `id` (kind, run, step, seq, transform and
// `extra`'s fields), in `batch`; Write does it for every write, E.note for
// a note.
void AddHistory(WriteBatch& batch, const std::string& type, const std::string& id, const Change& change);

// Column::kEntities key of the record's summary (E.summary):
// {text, covers: the last history key it covers, model}.
std::string SummaryKey(const std::string& type, const std::string& id);

// Writes record `id` (null `after`: deletes it) with its index entries and
// history entry (which is its provenance), in `batch`.
void Write(Store& store, WriteBatch& batch, const TypeDecl& et, const std::string& id, const Value& before,
           const Value& after, const Change& change);

}  // namespace aos::entities

#endif  // AOS_RUNTIME_ENTITY_STORE_H_
