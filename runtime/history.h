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
  std::string note;     // kind "note": the text E.note attached
  std::string entry_key;  // where the entry is stored (for "what is new since")
};

struct HistoryQuery {
  std::string after;            // only entries stored after this entry_key
  bool decisions = true;        // read each run's decisions (a scan of its events)
  std::string* into = nullptr;  // set to the survivor when the key was merged
};

// The changes and notes of record KEY of entity TYPE, oldest first. A key
// merged into another ends with its merge.
std::vector<HistoryEntry> RecordHistory(Store& store, const std::string& type, const std::string& key,
                                        const HistoryQuery& q = {});

// One entry as a line of text for a model (E.summary): the time, what
// happened, the fields that changed or the note.
std::string HistoryLine(const HistoryEntry& e);

// The record as it was at `at` (nanoseconds): the state its last change at
// or before then left; null when it did not exist then.
Value RecordAt(Store& store, const std::string& type, const std::string& key, int64_t at);

// {field: [old, new]} for the fields whose values differ (absent: null).
Value FieldChanges(const Value& before, const Value& after);

}  // namespace aos

#endif  // AOS_RUNTIME_HISTORY_H_
