// Store tests: the same behaviour from MemoryStore and RocksStore (ordered
// scans, atomic batches, prefixes that do not leak into other runs), the
// memory store's crash model, and RocksStore's refusals: a foreign
// directory, a directory held by another open store.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/rocks_store.h"
#include "runtime/store.h"
#include "runtime/store_conformance.h"

namespace aos {
namespace {

namespace fs = std::filesystem;

fs::path TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("aos-store-test-" + std::to_string(getpid()) + "-" + name);
  fs::remove_all(p);
  return p;
}

TEST_CASE("MemoryStore: ordered scans, prefixes, deletes", "[store]") {
  MemoryStore s;
  Exercise(s);
  RaceClaims({&s});
}

TEST_CASE("RocksStore: the same, and it survives reopening", "[store]") {
  const fs::path dir = TempDir("rocks");
  {
    auto s = RocksStore::Open(dir.string(), true);
    Exercise(*s);
    RaceClaims({s.get()});
    CHECK((fs::status(dir).permissions() & fs::perms::others_all) == fs::perms::none);
  }
  auto s = RocksStore::Open(dir.string(), false);
  CHECK(*s->Get(Column::kEvents, EventKey("ab", 255)) == "ab255");
  CHECK(*s->Get(Column::kMeta, "format") == kDataDirFormat);
  s.reset();
  fs::remove_all(dir);
}

TEST_CASE("MemoryStore crash drops exactly the unsynced writes", "[store]") {
  MemoryStore s;
  WriteBatch a, b, c;
  a.Put(Column::kEvents, EventKey("r", 0), "0");
  b.Put(Column::kEvents, EventKey("r", 1), "1");
  c.Put(Column::kEvents, EventKey("r", 2), "2");
  s.Write(a, false);
  s.Write(b, true);  // makes a durable too
  s.CrashAfterAppends(1);
  CHECK_THROWS_AS(s.Write(c, false), SimulatedCrash);
  CHECK(s.Get(Column::kEvents, EventKey("r", 2)));  // visible until the power goes
  s.Crash();
  CHECK(s.Get(Column::kEvents, EventKey("r", 0)));
  CHECK(s.Get(Column::kEvents, EventKey("r", 1)));
  CHECK_FALSE(s.Get(Column::kEvents, EventKey("r", 2)));
}

TEST_CASE("RocksStore refuses foreign and busy directories", "[store]") {
  const fs::path foreign = TempDir("foreign");
  fs::create_directories(foreign);
  std::ofstream(foreign / "notes.txt") << "my files";
  CHECK_THROWS_WITH(RocksStore::Open(foreign.string(), true),
                    Catch::Contains("is not an AOS data directory"));
  CHECK(fs::exists(foreign / "notes.txt"));
  CHECK_FALSE(fs::exists(foreign / "CURRENT"));
  fs::remove_all(foreign);

  const fs::path missing = TempDir("missing");
  CHECK_THROWS_WITH(RocksStore::Open(missing.string(), false), Catch::Contains("does not exist"));

  const fs::path dir = TempDir("busy");
  auto first = RocksStore::Open(dir.string(), true);
  CHECK_THROWS_AS(RocksStore::Open(dir.string(), false), StoreBusy);
  first.reset();
  CHECK_NOTHROW(RocksStore::Open(dir.string(), false));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace aos
