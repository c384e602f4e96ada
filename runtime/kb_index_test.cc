// KbIndex tests: its ranking against a brute-force cosine over the stored
// entries while entries are added, replaced and deleted between searches
// (the index follows the store's batches), entries of another dimension and
// zero vectors, ties by id, entries stored as lists by older versions, and
// a crashed memory store dropping what the index had seen.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "runtime/codec.h"
#include "runtime/kb_index.h"
#include "runtime/kv_kb.h"

namespace aos {
namespace {

Value Numbers(const std::vector<float>& v) {
  ValueList l;
  for (float x : v) l.push_back(Value::Double(x));
  return Value::List(std::move(l));
}

void Add(Store& s, const std::string& collection, const std::string& id, const std::vector<float>& v, bool sync = false) {
  WriteBatch b;
  b.Put(Column::kKb, KbKey(collection, id), EncodeValue(KbEntry(id, Value::String("t " + id), Value(), Numbers(v))));
  s.Write(b, sync);
}

void Delete(Store& s, const std::string& collection, const std::string& id) {
  WriteBatch b;
  b.Delete(Column::kKb, KbKey(collection, id));
  s.Write(b, false);
}

std::vector<std::pair<std::string, double>> Ranked(Store& s, const std::string& collection,
                                                   const std::vector<float>& q, size_t k) {
  std::vector<std::pair<std::string, double>> out;
  KbIndex::Of(s)->Rank(s, collection, std::vector<double>(q.begin(), q.end()), [&](const std::string& id, double score) {
    out.emplace_back(id, score);
    return out.size() < k;
  });
  return out;
}

// What the index must agree with: every stored entry scored in double, best
// first, ties by id.
std::vector<std::pair<std::string, double>> BruteForce(Store& s, const std::string& collection,
                                                       const std::vector<float>& q, size_t k) {
  std::vector<std::pair<std::string, double>> all;
  const std::string prefix = KbKey(collection, "");
  s.Scan(Column::kKb, prefix, prefix, [&](std::string_view key, std::string_view raw) {
    Value e;
    REQUIRE(DecodeValue(raw, &e));
    const std::vector<float> v = UnpackVector(e.Find("vector"));
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; v.size() == q.size() && i < v.size(); ++i) {
      dot += static_cast<double>(v[i]) * q[i];
      na += static_cast<double>(v[i]) * v[i];
      nb += static_cast<double>(q[i]) * q[i];
    }
    all.emplace_back(std::string(key.substr(prefix.size())), na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0);
    return true;
  });
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (all.size() > k) all.resize(k);
  return all;
}

void Same(const std::vector<std::pair<std::string, double>>& got,
          const std::vector<std::pair<std::string, double>>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("rank " << i);
    CHECK(got[i].first == want[i].first);
    CHECK(got[i].second == Approx(want[i].second).margin(1e-12));
  }
}

TEST_CASE("kb index: ranks as a brute-force cosine while entries change between searches") {
  MemoryStore s;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  auto vec = [&](size_t d) {
    std::vector<float> v(d);
    for (float& x : v) x = u(rng);
    return v;
  };
  for (int i = 0; i < 300; ++i) Add(s, "docs", "d" + std::to_string(i), vec(16));
  Add(s, "other", "o1", vec(16));
  for (int round = 0; round < 40; ++round) {
    const std::vector<float> q = vec(16);
    Same(Ranked(s, "docs", q, 10), BruteForce(s, "docs", q, 10));
    // Writes after the index loaded: new ids, replaced vectors, deletions.
    for (int j = 0; j < 10; ++j) {
      const std::string id = "d" + std::to_string(rng() % 400);
      if (rng() % 3 == 0) {
        Delete(s, "docs", id);
      } else {
        Add(s, "docs", id, vec(16));
      }
    }
  }
  const std::vector<float> q = vec(16);
  Same(Ranked(s, "docs", q, 1000), BruteForce(s, "docs", q, 1000));  // the whole collection
  CHECK(Ranked(s, "other", q, 10).size() == 1);
}

TEST_CASE("kb index: other dimensions and zero vectors score 0, ties go by id, lists still read") {
  MemoryStore s;
  Add(s, "c", "b", {1, 0, 0});
  Add(s, "c", "a", {1, 0, 0});
  Add(s, "c", "z", {0, 0, 0});
  Add(s, "c", "w", {1, 0});     // another dimension
  WriteBatch legacy;            // written before vectors were packed
  legacy.Put(Column::kKb, KbKey("c", "l"),
             EncodeValue(Value::MapOfUnique({{Value::String("id"), Value::String("l")},
                                             {Value::String("text"), Value::String("old")},
                                             {Value::String("meta"), Value()},
                                             {Value::String("vector"), Numbers({0, 1, 0})}})));
  s.Write(legacy, false);
  auto r = Ranked(s, "c", {2, 1, 0}, 10);
  REQUIRE(r.size() == 5);
  CHECK(r[0].first == "a");
  CHECK(r[1].first == "b");
  CHECK(r[0].second == Approx(2 / std::sqrt(5.0)));
  CHECK(r[2].first == "l");
  CHECK(r[2].second == Approx(1 / std::sqrt(5.0)));
  CHECK(r[3] == std::make_pair(std::string("w"), 0.0));
  CHECK(r[4] == std::make_pair(std::string("z"), 0.0));
  // A query of the other dimension scores that one only.
  r = Ranked(s, "c", {3, 0}, 1);
  CHECK(r[0].first == "w");
  CHECK(r[0].second == Approx(1));
  CHECK(Ranked(s, "none", {1, 0, 0}, 5).empty());
  // An entry replaced by a vector of another dimension moves to that one.
  Add(s, "c", "a", {0, 2});
  r = Ranked(s, "c", {0, 1}, 1);
  CHECK(r[0] == std::make_pair(std::string("a"), 1.0));
  r = Ranked(s, "c", {2, 1, 0}, 2);
  CHECK(r[0].first == "b");
  CHECK(r[1].first == "l");
}

TEST_CASE("kb index: stays loaded across writes, and a crashed store's index starts again") {
  MemoryStore s;
  Add(s, "c", "a", {1, 0}, true);
  CHECK(KbIndex::Of(s)->Loaded("c") == -1);
  CHECK(Ranked(s, "c", {1, 0}, 5).size() == 1);
  CHECK(KbIndex::Of(s)->Loaded("c") == 1);
  Add(s, "c", "b", {0, 1});  // not synced: a power cut forgets it
  CHECK(Ranked(s, "c", {0, 1}, 1)[0].first == "b");
  s.Crash();
  CHECK(KbIndex::Of(s)->Loaded("c") == -1);
  auto r = Ranked(s, "c", {0, 1}, 5);
  REQUIRE(r.size() == 1);
  CHECK(r[0].first == "a");
}

}  // namespace
}  // namespace aos
