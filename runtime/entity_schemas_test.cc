// Entity schemas kept in the data directory: recorded by the first run,
// a different shape refused while records exist, identities, defaults,
// field order and indexes free to change.
#include "runtime/entity_schemas.h"

#include <catch2/catch.hpp>

#include "runtime/codec.h"
#include "runtime/store.h"

namespace aos {
namespace {

std::unique_ptr<Program> Prog(const std::string& decls) {
  Diagnostics d;
  auto p = LoadProgram("s.aos", decls + "workflow w() {\n  output 1\n}\n", CheckOptions{}, d);
  REQUIRE_FALSE(d.has_errors());
  return p;
}

void Record(MemoryStore& store, const Program& p) {
  WriteBatch b;
  RecordSchemas(store, b, p);
  store.Write(b, true);
}

void AddRecord(MemoryStore& store, const std::string& type) {
  WriteBatch b;
  b.Put(Column::kEntities, type + std::string(1, '\0') + "k", EncodeValue(Value::Map({})));
  store.Write(b, true);
}

const char* kLead =
    "type Address { city: string }\n"
    "entity Lead { key email: string  name: string?  score: double = 0.0  home: Address? }\n";

TEST_CASE("the first program's schemas are kept; the same shape is accepted", "[schemas]") {
  MemoryStore store;
  auto p = Prog(kLead);
  CHECK(SchemaConflicts(store, *p) == "");
  Record(store, *p);
  auto stored = StoredSchemas(store);
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].first == "Lead");
  CHECK(stored[0].second.text ==
        "key email: string\nname: string?\nscore: double = 0.0\nhome: Address?\ntype Address { city: string; }\n");
  CHECK(stored[0].second.version == 1);
  AddRecord(store, "Lead");
  // Other order, another default, an identity, an index: the same shape.
  auto same = Prog(
      "type Address { city: string }\n"
      "entity Lead { key email: string  home: Address?  score: double = 1.0  identity name: string?\n"
      "  index score }\n");
  CHECK(SchemaConflicts(store, *same) == "");
  Record(store, *same);
  CHECK(StoredSchemas(store)[0].second.text.find("identity name: string?") != std::string::npos);
}

TEST_CASE("another shape is refused while records exist, with the difference", "[schemas]") {
  MemoryStore store;
  Record(store, *Prog(kLead));
  auto typed = Prog(
      "type Address { city: string }\n"
      "entity Lead { key email: string  name: string?  score: int = 0  home: Address? }\n");
  // No records yet: the new declaration takes the old one's place.
  CHECK(SchemaConflicts(store, *typed) == "");
  AddRecord(store, "Lead");
  const std::string c = SchemaConflicts(store, *typed);
  CHECK(c.find("entity Lead (stored as v1) differs") != std::string::npos);
  CHECK(c.find("- score: double   (stored)") != std::string::npos);
  CHECK(c.find("+ score: int   (this file)") != std::string::npos);
  // Refused shapes are not recorded.
  Record(store, *typed);
  CHECK(StoredSchemas(store)[0].second.text.find("score: double") != std::string::npos);
  // A record type the entity uses is part of its shape.
  auto nested = Prog(
      "type Address { city: string  zip: string }\n"
      "entity Lead { key email: string  name: string?  score: double = 0.0  home: Address? }\n");
  CHECK(SchemaConflicts(store, *nested).find("type Address") != std::string::npos);
  // A new field is another shape too (a migration says how records get it).
  auto added = Prog(
      "type Address { city: string }\n"
      "entity Lead { key email: string  name: string?  score: double = 0.0  home: Address?  tier: string? }\n");
  CHECK(SchemaConflicts(store, *added).find("+ tier: string?") != std::string::npos);
}

TEST_CASE("a migration from the stored version covers another shape; the version follows it", "[schemas]") {
  MemoryStore store;
  Record(store, *Prog(kLead));
  AddRecord(store, "Lead");
  auto v2 = Prog(
      "type Address { city: string }\n"
      "entity Lead { key email: string  name: string?  score: double = 0.0  home: Address?  tier: string? }\n"
      "migration Lead v1 -> v2 { tier: \"free\" }\n");
  const std::string c = SchemaConflicts(store, *v2);
  CHECK(c.find("migration v1 -> v2 must run first") != std::string::npos);
  // A new data directory keeps the declaration at the version its migrations reach.
  MemoryStore fresh;
  Record(fresh, *v2);
  CHECK(LoadSchema(fresh, "Lead").version == 2);
}

}  // namespace
}  // namespace aos
