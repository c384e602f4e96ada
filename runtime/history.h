// A record's history (state.md §3): every change of one entity record,
// oldest first, from the history entries every write keeps
// (entity_store.h) and the run events they point at: when, which run and
// step, the transform@version, the decisions that gated the run (who, when,
// with what comment), merges, migrations, and the fields that changed.
// `aosrun history E KEY` prints it; `aosrun state E KEY --at TIME` is the
// record as its history left it at TIME.
#ifndef AOS_RUNTIME_HISTORY_H_
#define AOS_RUNTIME_HISTORY_H_

#include <string>
#include <vector>

#include "lang/value.h"
#include "runtime/store.h"

namespace aos {

struct HistoryEntry {
  int64_t at = 0;
  std::string kind;  // changed, deleted, merged, migrated
  std::string run, step, transform;
  Value before, after;  // the record around the change (null: absent)
  Value changes;        // {field: [old, new]} for the fields that differ
  Value detail;         // merged: {into} or {from: [...]}; migrated: {migration}
  Value decisions;      // the run's approvals: [{name, approved, by, at, comment}]
};

// The changes of record KEY of entity TYPE, oldest first. A key merged into
// another ends with its merge; `*into` (when given) is set to the survivor.
std::vector<HistoryEntry> RecordHistory(Store& store, const std::string& type, const std::string& key,
                                        std::string* into = nullptr);

// The record as it was at `at` (nanoseconds): the state its last change at
// or before then left; null when it did not exist then.
Value RecordAt(Store& store, const std::string& type, const std::string& key, int64_t at);

// {field: [old, new]} for the fields whose values differ (absent: null).
Value FieldChanges(const Value& before, const Value& after);

}  // namespace aos

#endif  // AOS_RUNTIME_HISTORY_H_
