// The values of the kv and kb columns, as runs (runner_inline.cc) and the
// seeds of `aoscheck test` (offline.cc) write them.
#ifndef AOS_RUNTIME_KV_KB_H_
#define AOS_RUNTIME_KV_KB_H_

#include <cstdint>
#include <string>

#include "lang/value.h"

namespace aos {

// Column::kKv: key -> {v, exp} (exp: unix nanos when it expires, 0 never).
inline Value KvRecord(const Value& v, int64_t expires) {
  return Value::MapOfUnique({{Value::String("v"), v}, {Value::String("exp"), Value::Int(expires)}});
}

// Column::kKb: collection \0 id -> {id, text, meta, vector}.
inline std::string KbKey(const std::string& collection, const std::string& id) {
  return collection + std::string(1, '\0') + id;
}
inline Value KbEntry(const std::string& id, const Value& text, const Value& meta, const Value& vector) {
  return Value::MapOfUnique({{Value::String("id"), Value::String(id)},
                             {Value::String("text"), text},
                             {Value::String("meta"), meta},
                             {Value::String("vector"), vector}});
}

}  // namespace aos

#endif  // AOS_RUNTIME_KV_KB_H_
