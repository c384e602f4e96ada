#include "runtime/events.h"

namespace aos::events {

namespace {

void Add(ValueMap& m, const char* name, Value v) { m.emplace_back(Value::String(name), std::move(v)); }

}  // namespace

void Put(ValueMap& m, const char* name, const std::string& v) { Add(m, name, Value::String(v)); }
void Put(ValueMap& m, const char* name, int64_t v) { Add(m, name, Value::Int(v)); }
void Put(ValueMap& m, const char* name, bool v) { Add(m, name, Value::Bool(v)); }
void Put(ValueMap& m, const char* name, const Value& v) { Add(m, name, v); }
void Put(ValueMap& m, const char* name, Timestamp v) { Add(m, name, Value::Time(v)); }
void Put(ValueMap& m, const char* name, const std::vector<std::string>& v) {
  ValueList l;
  l.reserve(v.size());
  for (const auto& s : v) l.push_back(Value::String(s));
  Add(m, name, Value::List(std::move(l)));
}

void Get(const Value& data, const char* name, std::string* out) {
  const Value* v = data.Find(name);
  *out = v && v->kind() == ValueKind::kString ? v->as_string() : "";
}
void Get(const Value& data, const char* name, int64_t* out) {
  const Value* v = data.Find(name);
  *out = v && v->kind() == ValueKind::kInt ? v->as_int() : 0;
}
void Get(const Value& data, const char* name, bool* out) {
  const Value* v = data.Find(name);
  *out = v && v->kind() == ValueKind::kBool && v->as_bool();
}
void Get(const Value& data, const char* name, Value* out) {
  const Value* v = data.Find(name);
  *out = v ? *v : Value();
}
void Get(const Value& data, const char* name, Timestamp* out) {
  const Value* v = data.Find(name);
  *out = v && v->kind() == ValueKind::kTimestamp ? v->as_time() : Timestamp{};
}
void Get(const Value& data, const char* name, std::vector<std::string>* out) {
  out->clear();
  const Value* v = data.Find(name);
  if (!v || v->kind() != ValueKind::kList) return;
  for (const auto& s : v->as_list()) {
    if (s.kind() == ValueKind::kString) out->push_back(s.as_string());
  }
}

}  // namespace aos::events
