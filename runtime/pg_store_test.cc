// PgStore on a private PostgreSQL server (tests/pg/pg_cluster.py; CTest
// starts it and names its state file in AOS_TEST_PG): the store's
// conformance, reopening, unsynced writes made durable by Sync, an atomic
// batch that fails as a whole, and the refusals (no tables without
// `create`, a newer schema, a server that does not answer). Hidden from a
// plain `aos_tests` run: `aos_tests [pg]` with AOS_TEST_PG set.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "runtime/codec.h"
#include "runtime/pg_store.h"
#include "runtime/pg_test_support.h"
#include "runtime/pq_shim.h"
#include "runtime/store_conformance.h"

namespace aos {
namespace {

// A fresh set of tables on the test server.
std::unique_ptr<PgStore> Fresh() {
  auto s = PgStore::Open(PgTestUrl(), true);
  s->DropAllForTests();
  return PgStore::Open(PgTestUrl(), true);
}

void Sql(const std::string& sql) {
  PGconn* c = PQconnectdb(PgTestUrl().c_str());
  PGresult* r = PQexec(c, sql.c_str());
  INFO(PQerrorMessage(c));
  CHECK((PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK));
  PQclear(r);
  PQfinish(c);
}

TEST_CASE("libpq is loaded when first asked for, and then bound", "[pg_shim]") {
  // Not linked (see pq_shim.h; aosrun_cli_test checks aosrun's libraries):
  // asking loads it. Without it, the calls below would stop the process.
  REQUIRE(aos::LibpqProblem().empty());
  CHECK(dlopen("libpq.so.5", RTLD_NOW | RTLD_NOLOAD) != nullptr);
  // A forwarded call reaches the library: a malformed URL is its error.
  PGconn* c = PQconnectdb("postgresql://[bad");
  REQUIRE(c != nullptr);
  CHECK(PQstatus(c) == CONNECTION_BAD);
  CHECK(std::string(PQerrorMessage(c)).find("IPv6 host address") != std::string::npos);
  PQfinish(c);
}

// A server that takes the connection and never answers: the store gives up
// (the URL's connect_timeout, else $PGCONNECT_TIMEOUT, else 10 s) instead of
// holding its caller, a worker's start among them, for as long as TCP waits.
TEST_CASE("PgStore gives up on a server that never answers", "[pg_shim]") {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0);
  REQUIRE(listen(fd, 8) == 0);  // the kernel completes the handshake; nobody reads
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  // sslmode=disable: with the default "prefer" libpq tries twice, each with the timeout.
  const std::string url =
      "postgresql://aos@127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/aos?sslmode=disable";
  auto refused = [&](const std::string& u) {
    const auto t0 = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(PgStore::Open(u, false), Catch::Contains("cannot connect") && Catch::Contains("timeout"));
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0).count();
  };
  CHECK(refused(url + "&connect_timeout=2") < 9);  // the URL's own
  setenv("PGCONNECT_TIMEOUT", "2", 1);
  CHECK(refused(url) < 9);
  unsetenv("PGCONNECT_TIMEOUT");
  CHECK(refused(url) >= 9);  // the default, 10 s
  close(fd);
}

TEST_CASE("PgStore: the store's conformance, and it survives reopening", "[.pg]") {
  {
    auto s = Fresh();
    CHECK(s->schema_version() == kPgSchemaVersion);
    Exercise(*s);
  }
  auto s = PgStore::Open(PgTestUrl(), false);
  CHECK(*s->Get(Column::kEvents, EventKey("ab", 255)) == "ab255");
  CHECK_FALSE(s->SoleWriter());
}

TEST_CASE("PgStore: a claim is won by one worker of several", "[.pg]") {
  auto a = Fresh();
  auto b = PgStore::Open(PgTestUrl(), false);
  auto c = PgStore::Open(PgTestUrl(), false);
  RaceClaims({a.get(), b.get(), c.get()});
}

TEST_CASE("PgStore: unsynced writes are visible at once; a batch that fails writes nothing", "[.pg]") {
  auto s = Fresh();
  WriteBatch a;
  a.Put(Column::kRuns, "r1", "one");
  s->Write(a, false);
  CHECK(*s->Get(Column::kRuns, "r1") == "one");
  s->Sync();
  // Past one pipeline chunk, then a key PostgreSQL's index cannot hold:
  // the transaction fails whole.
  WriteBatch big;
  for (int i = 0; i < 700; ++i) big.Put(Column::kEntities, "e" + std::to_string(i), std::string(100, 'v'));
  std::string long_key = "long-";  // 9,000 bytes that do not compress
  for (uint32_t x = 1; long_key.size() < 9000;) long_key.push_back(static_cast<char>((x = x * 1103515245 + 12345) >> 24));
  big.Put(Column::kEntities, long_key, std::string(2, 'x'));
  CHECK_THROWS_WITH(s->Write(big, true), Catch::Contains("write failed"));
  CHECK_FALSE(s->Get(Column::kEntities, "e0"));
  CHECK_FALSE(s->Get(Column::kEntities, "e699"));
  // The connection is usable after the failure.
  big.ops.pop_back();
  s->Write(big, true);
  CHECK(s->Get(Column::kEntities, "e699"));
}

TEST_CASE("PgStore refuses a database without its tables, a newer schema, a server that does not answer", "[.pg]") {
  {
    auto s = PgStore::Open(PgTestUrl(), true);
    s->DropAllForTests();
  }
  CHECK_THROWS_WITH(PgStore::Open(PgTestUrl(), false), Catch::Contains("holds no AOS tables"));
  PgStore::Open(PgTestUrl(), true);
  Sql("UPDATE aos_schema SET version = " + std::to_string(kPgSchemaVersion + 1));
  CHECK_THROWS_WITH(PgStore::Open(PgTestUrl(), true), Catch::Contains("newer than this aosrun"));
  Sql("UPDATE aos_schema SET version = " + std::to_string(kPgSchemaVersion));
  CHECK_THROWS_WITH(PgStore::Open("postgresql://aos:secret@127.0.0.1:1/none", false),
                    Catch::Contains("cannot connect") && Catch::Contains("aos:***@") &&
                        !Catch::Contains("secret"));
  // A database at v1 (before leases) is upgraded by an opening that may
  // create, refused by one that may not.
  Sql("DROP TABLE aos_leases; DROP FUNCTION aos_fence; DROP FUNCTION aos_claim; UPDATE aos_schema SET version = 1");
  CHECK_THROWS_WITH(PgStore::Open(PgTestUrl(), false), Catch::Contains("older than this aosrun") &&
                                                         Catch::Contains("migrate-store"));
  CHECK(PgStore::Open(PgTestUrl(), true)->schema_version() == kPgSchemaVersion);
  CHECK(RedactedUrl("postgresql://u:p@h:5/db") == "postgresql://u:***@h:5/db");
  CHECK(RedactedUrl("postgresql://u@h/db") == "postgresql://u@h/db");
  CHECK(RedactedUrl("postgresql://u@h/db?sslmode=require&password=p2&x=1") ==
        "postgresql://u@h/db?sslmode=require&password=***&x=1");
  CHECK(RedactedUrl("postgres://h/db?password=p3") == "postgres://h/db?password=***");
  CHECK(IsPgUrl("postgres://h/db"));
  CHECK_FALSE(IsPgUrl("/var/aos"));
}

WriteBatch Append(const std::string& run, uint64_t seq, const std::string& also) {
  WriteBatch b;
  b.Put(Column::kEvents, EventKey(run, seq), "event");
  b.Put(Column::kKv, also, "written");
  return b;
}

TEST_CASE("PgStore leases: one worker holds a run; a worker that lost its lease appends nothing", "[.pg]") {
  auto a = Fresh();
  auto b = PgStore::Open(PgTestUrl(), false);
  CHECK(a->owner() != b->owner());
  auto ea = a->ClaimRun("r", 60'000);
  REQUIRE(ea);
  CHECK_FALSE(b->ClaimRun("r", 60'000));  // held and not run out
  a->Write(Append("r", 0, "a0"), true);   // fenced, holding: written
  CHECK(a->Get(Column::kKv, "a0"));
  // A pauses past its lease (SIGSTOP, a partition): B takes the run over.
  Sql("UPDATE aos_leases SET lease_until = clock_timestamp() - interval '1 second'");
  auto eb = b->ClaimRun("r", 60'000);
  REQUIRE(eb);
  CHECK(*eb == *ea + 1);
  // A comes back and appends: refused, nothing of its batch written.
  CHECK_THROWS_AS(a->Write(Append("r", 1, "a1"), true), LeaseLost);
  CHECK_FALSE(b->Get(Column::kKv, "a1"));
  CHECK_FALSE(b->Get(Column::kEvents, EventKey("r", 1)));
  // A learns it when renewing; B appends.
  CHECK(a->RenewLeases(60'000) == std::vector<std::string>{"r"});
  CHECK_THROWS_AS(a->Write(Append("r", 5, "a5"), true), LeaseLost);  // still refused once known lost
  b->Write(Append("r", 1, "b1"), true);
  CHECK(*b->Get(Column::kEvents, EventKey("r", 1)) == "event");
  // An event is never overwritten: a second write of a sequence fails whole.
  CHECK_THROWS_WITH(b->Write(Append("r", 1, "dup"), true), Catch::Contains("write failed"));
  CHECK_FALSE(b->Get(Column::kKv, "dup"));
  CHECK(b->RenewLeases(60'000).empty());
  // Other runs' appends are not fenced by A's lost lease; B gives r up and
  // A can claim it again.
  a->Write(Append("other", 0, "a2"), true);
  CHECK_FALSE(a->ClaimRun("r", 60'000));
  b->ReleaseRun("r");
  auto again = a->ClaimRun("r", 60'000);
  REQUIRE(again);
  CHECK(*again == 1);  // a released run starts a new lease
  a->Write(Append("r", 2, "a3"), true);
  CHECK(a->Get(Column::kKv, "a3"));
}

TEST_CASE("PgStore: a run's last batch gives its lease up in its own transaction", "[.pg]") {
  auto a = Fresh();
  auto b = PgStore::Open(PgTestUrl(), false);
  REQUIRE(a->ClaimRun("r", 60'000));
  WriteBatch last = Append("r", 0, "end");
  last.release_run = "r";
  a->Write(last, true);
  CHECK(a->Get(Column::kKv, "end"));
  auto eb = b->ClaimRun("r", 60'000);  // at once: the row went with the commit
  REQUIRE(eb);
  CHECK(*eb == 1);
  a->ReleaseRun("r");  // a holds nothing of r now: b's lease stays
  b->Write(Append("r", 1, "b"), true);
  CHECK(b->Get(Column::kKv, "b"));
  // A batch that fails gives nothing up; a run this store does not hold is
  // left alone.
  WriteBatch dup = Append("r", 1, "dup");
  dup.release_run = "r";
  CHECK_THROWS(b->Write(dup, true));
  CHECK_FALSE(a->ClaimRun("r", 60'000));
  WriteBatch other = Append("r2", 0, "x");
  other.release_run = "r";
  a->Write(other, false);
  CHECK_FALSE(a->ClaimRun("r", 60'000));
}

TEST_CASE("PgStore: a new run is claimed by its first batch, which fails when another worker holds it", "[.pg]") {
  auto a = Fresh();
  auto b = PgStore::Open(PgTestUrl(), false);
  // Claimed with the first batch: held from its commit on, fenced after.
  REQUIRE(a->ClaimNewRun("m"));
  CHECK(b->ClaimRun("m", 60'000));  // nothing held until a writes
  b->ReleaseRun("m");
  a->Write(Append("m", 0, "m0"), true);
  CHECK_FALSE(b->ClaimRun("m", 60'000));
  a->Write(Append("m", 1, "m1"), true);  // fenced by the claimed epoch
  CHECK(a->RenewLeases(60'000).empty());
  a->ReleaseRun("m");
  CHECK(b->ClaimRun("m", 60'000));
  // Another worker claimed the new run first: the batch writes nothing.
  REQUIRE(a->ClaimNewRun("n"));
  REQUIRE(b->ClaimRun("n", 60'000));
  CHECK_THROWS_AS(a->Write(Append("n", 0, "n0"), true), LeaseLost);
  CHECK_FALSE(a->Get(Column::kKv, "n0"));
  CHECK_FALSE(a->Get(Column::kEvents, EventKey("n", 0)));
  a->ReleaseRun("n");  // given up unwritten: nothing to delete, b keeps it
  CHECK_FALSE(a->ClaimRun("n", 60'000));
  // Two workers start one new run: the first's only batch claims it and
  // gives it up (the run ended); the second's first batch is refused, not
  // failed on the event's key.
  REQUIRE(a->ClaimNewRun("z"));
  REQUIRE(b->ClaimNewRun("z"));
  WriteBatch bz = Append("z", 0, "bz");
  bz.Put(Column::kRuns, "z", "b's index");
  bz.release_run = "z";
  b->Write(bz, false);
  WriteBatch az = Append("z", 0, "az");
  az.Put(Column::kRuns, "z", "a's index");
  CHECK_THROWS_AS(a->Write(az, false), LeaseLost);
  CHECK(*a->Get(Column::kRuns, "z") == "b's index");
  a->ReleaseRun("z");
  // Claimed and given up in one batch (a run that ends in its first).
  REQUIRE(a->ClaimNewRun("k"));
  WriteBatch whole = Append("k", 0, "k0");
  whole.release_run = "k";
  a->Write(whole, false);
  auto eb = b->ClaimRun("k", 60'000);
  REQUIRE(eb);
  CHECK(*eb == 1);
}

std::string Due(int64_t at, const std::string& run) {
  std::string k;
  PutBigEndian64(k, static_cast<uint64_t>(at));
  return k + run;
}

TEST_CASE("PgStore: due runs are claimed by one worker each; a due time written wakes the others", "[.pg]") {
  auto a = Fresh();
  auto b = PgStore::Open(PgTestUrl(), false);
  const int64_t now = 1'800'000'000'000'000'000;
  WriteBatch w;
  w.Put(Column::kDue, Due(1, "running"), "");  // left running: always due
  w.Put(Column::kDue, Due(now - 5, "timer"), "");
  w.Put(Column::kDue, Due(now, "now"), "");
  w.Put(Column::kDue, Due(now - 1, "held"), "");
  w.Put(Column::kDue, Due(now + 7, "later"), "");
  a->Write(w, true);
  REQUIRE(b->ClaimRun("held", 60'000));
  int64_t next = 0;
  auto got = a->ClaimDueRuns(now, 10, &next);
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::string>{"now", "running", "timer"});
  CHECK(next == now + 7);
  // Held by a now: b finds nothing to claim, and a's leases are live ones.
  CHECK(b->ClaimDueRuns(now, 10, &next).empty());
  CHECK_FALSE(b->ClaimRun("timer", 60'000));
  a->Write(Append("timer", 0, "fenced"), true);  // a's claim fences its appends like any lease
  CHECK(a->ClaimDueRuns(now, 0, &next).empty());  // no room: nothing claimed
  a->ReleaseRun("timer");
  CHECK(b->ClaimDueRuns(now, 10, &next) == std::vector<std::string>{"timer"});

  // Two workers claiming 200 due runs ten at a time, at once: each run once.
  WriteBatch many;
  for (int i = 0; i < 200; ++i) many.Put(Column::kDue, Due(now - 1000 + i, "m" + std::to_string(i)), "");
  a->Write(many, false);
  std::vector<std::string> by[2];
  std::vector<std::thread> ts;
  PgStore* stores[2] = {a.get(), b.get()};
  for (int t = 0; t < 2; ++t) {
    ts.emplace_back([&, t] {
      int64_t n = 0;
      for (;;) {
        auto claimed = stores[t]->ClaimDueRuns(now, 10, &n);
        if (claimed.empty()) break;
        by[t].insert(by[t].end(), claimed.begin(), claimed.end());
      }
    });
  }
  for (auto& t : ts) t.join();
  std::set<std::string> all;
  for (const auto& v : by) all.insert(v.begin(), v.end());
  CHECK(all.size() == 200);  // "later" is not due, "timer" is b's
  CHECK(by[0].size() + by[1].size() == all.size());
  CHECK_FALSE(all.count("later"));

  // A waiting run's due time, written by one worker, wakes another's wait;
  // a running run's (1) does not.
  CHECK(b->WaitForDue(0) == 0);  // listening from here
  WriteBatch waits;
  waits.Put(Column::kDue, Due(now + 99, "w1"), "");
  waits.Put(Column::kDue, Due(now + 42, "w2"), "");
  a->Write(waits, false);
  CHECK(b->WaitForDue(5000) == now + 42);
  WriteBatch running;
  running.Put(Column::kDue, Due(1, "r1"), "");
  a->Write(running, false);
  CHECK(b->WaitForDue(300) == 0);
}

}  // namespace
}  // namespace aos
