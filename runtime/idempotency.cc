#include "runtime/idempotency.h"

#include "runtime/codec.h"
#include "runtime/run_log.h"

namespace aos {

namespace {

constexpr char kClaimTag = '\x80';

// Whether the claim's run can no longer send: ended, or gone from the index.
bool HolderEnded(Store& store, const std::string& run_id) {
  auto raw = store.Get(Column::kRuns, run_id);
  if (!raw) return true;
  RunIndexEntry e;
  if (!DecodeRunIndex(run_id, *raw, &e)) return false;  // unreadable: wait, verify names it
  return e.status == RunStatus::kCompleted || e.status == RunStatus::kFailed || e.status == RunStatus::kCancelled;
}

}  // namespace

std::string IdempotencyRecordKey(std::string_view workflow, std::string_view key) {
  std::string k(workflow);
  k.push_back('\0');
  k.append(key);
  return k;
}

std::string EncodeClaim(std::string_view run_id, std::string_view instance) {
  std::string out(1, kClaimTag);
  out.append(run_id);
  out.push_back('\0');
  out.append(instance);
  return out;
}

IdemRecord DecodeIdemRecord(const std::optional<std::string>& raw) {
  IdemRecord r;
  if (!raw) return r;
  if (!raw->empty() && (*raw)[0] == kClaimTag) {
    const size_t nul = raw->find('\0');
    if (nul == std::string::npos) {
      r.kind = IdemRecord::Kind::kUnreadable;
      return r;
    }
    r.kind = IdemRecord::Kind::kClaimed;
    r.run_id = raw->substr(1, nul - 1);
    r.instance = raw->substr(nul + 1);
    return r;
  }
  r.kind = DecodeValue(*raw, &r.result) ? IdemRecord::Kind::kDone : IdemRecord::Kind::kUnreadable;
  return r;
}

ClaimOutcome ClaimIdempotencyKey(Store& store, const std::string& record_key, const std::string& run_id,
                                 const std::string& instance) {
  const std::string mine = EncodeClaim(run_id, instance);
  std::optional<std::string> cur = store.Get(Column::kIdempotency, record_key);
  // Each turn either ends or finds the record changed by another writer
  // since it was read; a claim changes hands only when its run ends, so
  // turns are few.
  for (;;) {
    const IdemRecord r = DecodeIdemRecord(cur);
    if (r.kind == IdemRecord::Kind::kDone) return ClaimOutcome{ClaimOutcome::Kind::kDone, r.result, "", ""};
    if (cur == mine) return ClaimOutcome{};
    if (r.kind == IdemRecord::Kind::kClaimed && r.run_id != run_id && !HolderEnded(store, r.run_id)) {
      return ClaimOutcome{ClaimOutcome::Kind::kHeld, Value(), r.run_id, r.instance};
    }
    if (store.CompareAndSet(Column::kIdempotency, record_key, cur, mine, &cur)) return ClaimOutcome{};
  }
}

bool HoldsClaim(Store& store, const std::string& record_key, const std::string& run_id, const std::string& instance) {
  return store.Get(Column::kIdempotency, record_key) == EncodeClaim(run_id, instance);
}

}  // namespace aos
