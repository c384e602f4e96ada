// The values of the kv and kb columns, as runs (runner_inline.cc) and the
// seeds of `aoscheck test` (offline.cc) write them.
#ifndef AOS_RUNTIME_KV_KB_H_
#define AOS_RUNTIME_KV_KB_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "lang/value.h"

namespace aos {

// Column::kKv: key -> {v, exp} (exp: unix nanos when it expires, 0 never).
inline Value KvRecord(const Value& v, int64_t expires) {
  return Value::MapOfUnique({{Value::String("v"), v}, {Value::String("exp"), Value::Int(expires)}});
}

// Column::kKb: collection \0 id -> {id, text, meta, vector}. The vector is
// bytes: its numbers as float32 in the machine's byte order (little-endian
// everywhere we build), a quarter of a list's size and read without decoding
// each number. Entries written before hold a list of numbers; both read.
inline std::string KbKey(const std::string& collection, const std::string& id) {
  return collection + std::string(1, '\0') + id;
}
inline double VectorNumber(const Value& x) {
  switch (x.kind()) {
    case ValueKind::kDouble: return x.as_double();
    case ValueKind::kInt: return static_cast<double>(x.as_int());
    case ValueKind::kUint: return static_cast<double>(x.as_uint());
    default: return 0;
  }
}
inline Value PackedVector(const Value& numbers) {
  std::string bytes;
  if (numbers.kind() == ValueKind::kList) {
    bytes.resize(numbers.as_list().size() * sizeof(float));
    for (size_t i = 0; i < numbers.as_list().size(); ++i) {
      const float f = static_cast<float>(VectorNumber(numbers.as_list()[i]));
      std::memcpy(&bytes[i * sizeof(float)], &f, sizeof(float));
    }
  }
  return Value::BytesOf(std::move(bytes));
}
// An entry's vector (packed or a list); empty when it has none.
inline std::vector<float> UnpackVector(const Value* v) {
  std::vector<float> out;
  if (v && v->kind() == ValueKind::kBytes) {
    out.resize(v->as_bytes().size() / sizeof(float));
    if (!out.empty()) std::memcpy(out.data(), v->as_bytes().data(), out.size() * sizeof(float));
  } else if (v && v->kind() == ValueKind::kList) {
    for (const Value& x : v->as_list()) out.push_back(static_cast<float>(VectorNumber(x)));
  }
  return out;
}
inline Value KbEntry(const std::string& id, const Value& text, const Value& meta, const Value& vector) {
  return Value::MapOfUnique({{Value::String("id"), Value::String(id)},
                             {Value::String("text"), text},
                             {Value::String("meta"), meta},
                             {Value::String("vector"), PackedVector(vector)}});
}

}  // namespace aos

#endif  // AOS_RUNTIME_KV_KB_H_
