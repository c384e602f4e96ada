// aosrun verify's checks of a store (verify.h) where they meet a store that
// other workers write while it is checked.
#include "runtime/verify.h"

#include <catch2/catch.hpp>

#include "runtime/runner_test_support.h"

namespace aos {
namespace {

using namespace runner_test;  // FakeCalls, Load, Start, kStart

// A store whose run index listing misses run "late": it was started by
// another worker after the listing, before the events were listed.
class LateRunStore : public MemoryStore {
 public:
  void Scan(Column c, std::string_view prefix, std::string_view start,
            const std::function<bool(std::string_view, std::string_view)>& visit) override {
    MemoryStore::Scan(c, prefix, start, [&](std::string_view k, std::string_view v) {
      return c == Column::kRuns && k == "late" ? true : visit(k, v);
    });
  }
};

TEST_CASE("verify: a run started while the store is checked is not a log without an index", "[verify]") {
  Loaded w = Load("v.aos", "workflow v() {\n  step a = kv.get(\"k\")\n  output a\n}\n");
  LateRunStore store;
  ManualClock clock(kStart);
  FakeCalls calls;
  REQUIRE(Start(store, clock, calls, w, "early").status == RunStatus::kCompleted);
  REQUIRE(Start(store, clock, calls, w, "late").status == RunStatus::kCompleted);
  VerifyReport r = VerifyDataDir(store);
  CHECK(r.problems.empty());
  CHECK(r.runs == 2);
  // A log whose index is gone for good is still reported.
  REQUIRE(Start(store, clock, calls, w, "orphan").status == RunStatus::kCompleted);
  WriteBatch drop;
  drop.Delete(Column::kRuns, "orphan");
  store.Write(drop, true);
  r = VerifyDataDir(store);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].find("run orphan: has a log but no run index record") != std::string::npos);
}

}  // namespace
}  // namespace aos
