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

namespace aos {
namespace {

namespace fs = std::filesystem;

fs::path TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("aos-store-test-" + std::to_string(getpid()) + "-" + name);
  fs::remove_all(p);
  return p;
}

void Exercise(Store& s) {
  WriteBatch b;
  for (uint64_t seq : {0, 1, 2, 255, 256}) b.Put(Column::kEvents, EventKey("ab", seq), "ab" + std::to_string(seq));
  b.Put(Column::kEvents, EventKey("abc", 0), "abc0");
  b.Put(Column::kRuns, "ab", "index");
  s.Write(b, true);
  std::vector<std::string> seen;
  s.Scan(Column::kEvents, EventPrefix("ab"), EventPrefix("ab"), [&](std::string_view, std::string_view v) {
    seen.emplace_back(v);
    return true;
  });
  CHECK(seen == std::vector<std::string>{"ab0", "ab1", "ab2", "ab255", "ab256"});
  CHECK(*s.LastKey(Column::kEvents, EventPrefix("ab")) == EventKey("ab", 256));
  CHECK(*s.LastKey(Column::kEvents, EventPrefix("abc")) == EventKey("abc", 0));
  CHECK_FALSE(s.LastKey(Column::kEvents, EventPrefix("zz")));
  CHECK(*s.Get(Column::kRuns, "ab") == "index");
  CHECK_FALSE(s.Get(Column::kIdempotency, "ab"));
  WriteBatch d;
  d.Delete(Column::kRuns, "ab");
  s.Write(d, false);
  CHECK_FALSE(s.Get(Column::kRuns, "ab"));
}

TEST_CASE("MemoryStore: ordered scans, prefixes, deletes", "[store]") {
  MemoryStore s;
  Exercise(s);
}

TEST_CASE("RocksStore: the same, and it survives reopening", "[store]") {
  const fs::path dir = TempDir("rocks");
  {
    auto s = RocksStore::Open(dir.string(), true);
    Exercise(*s);
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
