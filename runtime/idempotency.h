// Cross-run idempotency records (docs/runtime.md "Idempotency"): per
// workflow and effect key, the column `idempotency` holds either the result
// of the effect that completed under the key (any later run reuses it), or
// a claim: the run and instance sending it now. An effect claims its key
// before its intent is written, with the store's CompareAndSet, so of two
// runs with one key (two threads of a serve, or two workers on one
// PostgreSQL) one sends and the other waits for its result: no read and
// later write for another worker to come between.
//
// A claim is given up when its effect fails for good, and is taken over
// when its run has ended without giving it up (a crash, a cancel) or is
// gone; a run that waits on a claim waits for another run that still may
// send (in doubt after a crash, retrying, asking for confirmation).
#ifndef AOS_RUNTIME_IDEMPOTENCY_H_
#define AOS_RUNTIME_IDEMPOTENCY_H_

#include <optional>
#include <string>
#include <string_view>

#include "lang/value.h"
#include "runtime/store.h"

namespace aos {

// The record's key: workflow \0 effect key.
std::string IdempotencyRecordKey(std::string_view workflow, std::string_view key);

struct IdemRecord {
  enum class Kind { kNone, kDone, kClaimed, kUnreadable };
  Kind kind = Kind::kNone;
  Value result;             // kDone
  std::string run_id;       // kClaimed: the run sending it
  std::string instance;     // kClaimed: its instance
};
// A claim's bytes: 0x80 (never a value's first byte), run id, 0x00, instance.
std::string EncodeClaim(std::string_view run_id, std::string_view instance);
IdemRecord DecodeIdemRecord(const std::optional<std::string>& raw);

struct ClaimOutcome {
  enum class Kind { kClaimed, kDone, kHeld };
  Kind kind = Kind::kClaimed;
  Value result;             // kDone: the recorded result
  std::string holder_run;   // kHeld: the run sending it
  std::string holder_instance;
};
// Claims record `record_key` for instance `instance` of run `run_id`:
// kClaimed when it is this instance's now (or was already), kDone with the
// result when an effect completed under it, kHeld when another run that
// has not ended holds it. A claim of an instance of the same run is taken
// over (the run itself keeps one sender per key, run_state.h
// effect_key_owner), as is a claim whose run ended or is gone, and an
// unreadable record.
ClaimOutcome ClaimIdempotencyKey(Store& store, const std::string& record_key, const std::string& run_id,
                                 const std::string& instance);

// Whether the record holds this instance's claim (to give it up).
bool HoldsClaim(Store& store, const std::string& record_key, const std::string& run_id, const std::string& instance);

}  // namespace aos

#endif  // AOS_RUNTIME_IDEMPOTENCY_H_
