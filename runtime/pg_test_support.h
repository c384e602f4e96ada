// What the PostgreSQL tests share: the URL of the private server CTest
// starts (tests/pg/pg_cluster.py writes its state file; AOS_TEST_PG names
// it). Included by runtime/pg_*_test.cc only.
#ifndef AOS_RUNTIME_PG_TEST_SUPPORT_H_
#define AOS_RUNTIME_PG_TEST_SUPPORT_H_

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace aos {

// The server's default database, which the pg tests share: the tests of
// aos_tests run one after another, each emptying or dropping the tables.
inline std::string PgTestUrl() {
  const char* state = std::getenv("AOS_TEST_PG");
  REQUIRE(state != nullptr);
  std::ifstream in(state);
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  const size_t at = s.find("\"url\": \"");
  REQUIRE(at != std::string::npos);
  return s.substr(at + 8, s.find('"', at + 8) - at - 8);
}

}  // namespace aos

#endif  // AOS_RUNTIME_PG_TEST_SUPPORT_H_
