#include "runtime/copy_store.h"

namespace aos {

namespace {

constexpr size_t kBatchBytes = 4 << 20;  // a batch's keys and values, at most about

// Whether the store holds a record other than its format marker.
bool HoldsRecords(Store& s) {
  bool any = false;
  for (int i = 0; i < kColumnCount && !any; ++i) {
    const Column c = static_cast<Column>(i);
    s.Scan(c, "", "", [&](std::string_view k, std::string_view) {
      any = !(c == Column::kMeta && k == "format");
      return !any;
    });
  }
  return any;
}

}  // namespace

CopyReport CopyStore(Store& from, Store& to, const std::function<void(size_t)>& progress) {
  CopyReport r;
  if (HoldsRecords(to)) {
    r.refused = "the target already holds records: copy goes into an empty store";
    return r;
  }
  WriteBatch batch;
  size_t pending = 0;
  auto flush = [&] {
    if (batch.empty()) return;
    to.Write(batch, false);
    batch.clear();
    pending = 0;
    if (progress) progress(r.records);
  };
  for (int i = 0; i < kColumnCount; ++i) {
    const Column c = static_cast<Column>(i);
    from.Scan(c, "", "", [&](std::string_view k, std::string_view v) {
      if (c == Column::kMeta && k == "format") return true;  // the target keeps its own
      batch.Put(c, std::string(k), std::string(v));
      ++r.records;
      r.bytes += k.size() + v.size();
      pending += k.size() + v.size();
      if (pending >= kBatchBytes) flush();
      return true;
    });
  }
  flush();
  to.Sync();
  r.verified = VerifyDataDir(to);
  return r;
}

}  // namespace aos
