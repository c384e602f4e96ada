// What every Store must do alike (store.h): ordered scans from a start
// key, prefixes that do not leak into other runs' keys, last keys, gets
// and deletes. store_test.cc runs it on MemoryStore and RocksStore,
// pg_store_test.cc on PgStore.
#ifndef AOS_RUNTIME_STORE_CONFORMANCE_H_
#define AOS_RUNTIME_STORE_CONFORMANCE_H_

#include <catch2/catch.hpp>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/store.h"

namespace aos {

inline void Exercise(Store& s) {
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

  // Keys with the bytes 0x00 and 0xff, in byte order; a scan from a key
  // inside the prefix; a visitor that stops; more keys than one read holds.
  const std::string hi(2, '\xff');
  WriteBatch e;
  for (int i = 0; i < 600; ++i) {
    std::string k = hi + std::string(1, '\0');
    k.push_back(static_cast<char>(i >> 8));
    k.push_back(static_cast<char>(i & 0xff));
    e.Put(Column::kKv, k, std::to_string(i));
  }
  e.Put(Column::kKv, hi, "bare");
  e.Put(Column::kKv, "a", "a");
  e.Put(Column::kKv, std::string("\0", 1), "nul");
  // In one batch the last op on a key wins.
  e.Put(Column::kKv, "twice", "1");
  e.Delete(Column::kKv, "twice");
  e.Put(Column::kKv, "put-after-delete", "x");
  e.Delete(Column::kKv, "put-after-delete");
  e.Put(Column::kKv, "put-after-delete", "y");
  s.Write(e, true);
  CHECK_FALSE(s.Get(Column::kKv, "twice"));
  CHECK(*s.Get(Column::kKv, "put-after-delete") == "y");
  CHECK(*s.Get(Column::kKv, std::string("\0", 1)) == "nul");
  std::vector<std::string> all;
  s.Scan(Column::kKv, hi, hi, [&](std::string_view, std::string_view v) {
    all.emplace_back(v);
    return true;
  });
  REQUIRE(all.size() == 601);
  CHECK(all[0] == "bare");
  CHECK(all[1] == "0");
  CHECK(all[600] == "599");
  std::vector<std::string> tail;
  std::string from = hi + std::string(1, '\0') + std::string(1, '\x01') + std::string(1, '\xf4');  // 500
  s.Scan(Column::kKv, hi, from, [&](std::string_view, std::string_view v) {
    tail.emplace_back(v);
    return tail.size() < 3;
  });
  CHECK(tail == std::vector<std::string>{"500", "501", "502"});
  CHECK(*s.LastKey(Column::kKv, hi) == hi + std::string(1, '\0') + std::string(1, '\x02') + std::string(1, '\x57'));
  int every = 0;
  s.Scan(Column::kKv, "", "", [&](std::string_view, std::string_view) { return ++every, true; });
  CHECK(every == 601 + 3);  // hi..., "a", NUL, put-after-delete
  std::string first_key;
  s.Scan(Column::kKv, "", "", [&](std::string_view k, std::string_view) {
    first_key = std::string(k);
    return false;
  });
  CHECK(first_key == std::string("\0", 1));

  // CompareAndSet: set when absent, refused with what is there, replaced
  // only from the value expected; binary values compare byte for byte.
  std::optional<std::string> cur;
  const std::string key("wf\0k", 4);  // a record key: workflow NUL key
  const std::string claim("\x80r\0i", 4);
  CHECK(s.CompareAndSet(Column::kIdempotency, key, std::nullopt, claim, &cur));
  CHECK(cur == claim);
  CHECK_FALSE(s.CompareAndSet(Column::kIdempotency, key, std::nullopt, "other", &cur));
  CHECK(cur == claim);
  CHECK_FALSE(s.CompareAndSet(Column::kIdempotency, key, std::string("\x80r\0j", 4), "other", &cur));
  CHECK(cur == claim);
  CHECK(*s.Get(Column::kIdempotency, key) == claim);
  CHECK(s.CompareAndSet(Column::kIdempotency, key, claim, "done", &cur));
  CHECK(*s.Get(Column::kIdempotency, key) == "done");
  CHECK_FALSE(s.CompareAndSet(Column::kIdempotency, "absent", std::string("x"), "y", &cur));
  CHECK_FALSE(cur);
  CHECK_FALSE(s.Get(Column::kIdempotency, "absent"));
}

// Threads (or workers: one store each) racing to claim the same keys: each
// key is won exactly once.
inline void RaceClaims(const std::vector<Store*>& stores) {
  constexpr int kKeys = 50;
  std::atomic<int> wins[kKeys] = {};
  std::vector<std::thread> threads;
  for (size_t t = 0; t < stores.size() * 2; ++t) {
    threads.emplace_back([&, t] {
      Store& s = *stores[t % stores.size()];
      for (int k = 0; k < kKeys; ++k) {
        std::optional<std::string> cur;
        if (s.CompareAndSet(Column::kIdempotency, "race\0" + std::to_string(k), std::nullopt,
                            "claim by " + std::to_string(t), &cur)) {
          ++wins[k];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int k = 0; k < kKeys; ++k) CHECK(wins[k] == 1);
}

}  // namespace aos

#endif  // AOS_RUNTIME_STORE_CONFORMANCE_H_
