// The runner on PgStore (the private server of tests/pg/pg_cluster.py,
// named by AOS_TEST_PG): every workflow of every example, its process
// killed after each event append in turn and resumed on the database,
// reaches the output of the run that was never killed, and no key reaches
// the receiver twice but for an effect in doubt. (A power cut is the
// server's to survive: synchronous_commit.) Hidden: `aos_tests [pg]`.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "runtime/pg_store.h"
#include "runtime/pg_test_support.h"
#include "runtime/runner_test_support.h"

namespace aos {
namespace {

using namespace runner_test;

TEST_CASE("PgStore: killed at every append, every example resumes to the uncrashed output", "[.pg][crash]") {
  SetSecrets();
  auto pg = PgStore::Open(PgTestUrl(), true);
  const auto runs = ExampleWorkflows();
  REQUIRE(runs.size() >= 8);
  for (const auto& [f, workflow] : runs) {
    Loaded w = LoadFile(f.string(), workflow);
    const Value inputs = Inputs(w.dag->workflow->name);
    MemoryStore base_store;
    ManualClock base_clock(kStart);
    FakeCalls base_calls;
    Driven base = Drive(base_store, base_clock, base_calls, w, inputs, 0);
    INFO(f.filename().string() << " " << workflow);
    REQUIRE(base.outcome.status != RunStatus::kWaiting);
    const uint64_t appends = base_store.appends();
    for (uint64_t k = 1; k <= appends; ++k) {
      pg->ClearForTests();
      CrashingStore store(*pg);
      ManualClock clock(kStart);
      FakeCalls calls;
      Driven d = Drive(store, clock, calls, w, inputs, k, Durability::kDefault, CrashKind::kProcess);
      INFO("killed after append " << k << " of " << appends);
      SameAsUncrashed(base, base_calls, d, calls);
    }
  }
}

}  // namespace
}  // namespace aos
