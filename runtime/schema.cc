#include "runtime/schema.h"

#include "lang/eval.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace aos {

namespace {

constexpr int kMaxDepth = 32;


const TypeDecl* Declared(const Program& p, const std::string& name) {
  auto it = p.types.find(name);
  return it == p.types.end() ? nullptr : it->second;
}

Value Schema(const Program& p, const TypeRef* t, int depth) {
  if (!t || depth > kMaxDepth) return Value::Map({});
  const std::string& n = t->name;
  Value base;
  if (n == "string" || n == "duration" || n == "bytes") {
    base = Value::Map({{S("type"), S("string")}});
  } else if (n == "money") {
    base = Value::Map({{S("type"), S("object")},
                       {S("properties"), Value::Map({{S("amount"), Value::Map({{S("type"), S("string")}})},
                                                     {S("currency"), Value::Map({{S("type"), S("string")}})}})},
                       {S("required"), Value::List({S("amount"), S("currency")})}});
  } else if (n == "time" || n == "timestamp") {
    base = Value::Map({{S("type"), S("string")}, {S("format"), S("date-time")}});
  } else if (n == "int" || n == "uint") {
    base = Value::Map({{S("type"), S("integer")}});
  } else if (n == "double") {
    base = Value::Map({{S("type"), S("number")}});
  } else if (n == "bool") {
    base = Value::Map({{S("type"), S("boolean")}});
  } else if (n == "list") {
    base = Value::Map({{S("type"), S("array")},
                       {S("items"), Schema(p, t->params.empty() ? nullptr : t->params[0].get(), depth + 1)}});
  } else if (n == "map") {
    base = Value::Map({{S("type"), S("object")},
                       {S("additionalProperties"),
                        Schema(p, t->params.size() > 1 ? t->params[1].get() : nullptr, depth + 1)}});
  } else if (const TypeDecl* d = Declared(p, n)) {
    ValueMap props;
    ValueList required;
    for (const auto& f : d->fields) {
      props.emplace_back(S(f.name), Schema(p, f.type.get(), depth + 1));
      if (!f.default_value && !(f.type && f.type->optional)) required.push_back(S(f.name));
    }
    base = Value::Map({{S("type"), S("object")},
                       {S("properties"), Value::Map(std::move(props))},
                       {S("required"), Value::List(std::move(required))},
                       {S("additionalProperties"), Value::Bool(false)}});
  } else {
    base = Value::Map({});  // any
  }
  if (t->optional) return Value::Map({{S("anyOf"), Value::List({base, Value::Map({{S("type"), S("null")}})})}});
  return base;
}

std::string Got(const Value& v) {
  std::string j = v.ToJson();
  if (j.size() > 40) j = j.substr(0, 37) + "...";
  return j;
}

std::string Check(const Program& p, const TypeRef* t, const Value& v, const std::string& path, int depth,
                  Value* out, bool strict) {
  const std::string at = path.empty() ? "the answer" : path;
  if (!t || depth > kMaxDepth) {
    *out = v;
    return "";
  }
  if (v.is_null()) {
    if (t->optional || t->name == "any") {
      *out = v;
      return "";
    }
    return at + ": a value is required, got null";
  }
  const std::string& n = t->name;
  const ValueKind k = v.kind();
  auto want = [&](const char* what) { return at + ": expected " + what + ", got " + Got(v); };
  if (n == "any") {
    *out = v;
    return "";
  }
  if (n == "string") {
    if (k != ValueKind::kString) return want("a string");
    *out = v;
    return "";
  }
  if (n == "int") {
    if (k == ValueKind::kInt) {
      *out = v;
      return "";
    }
    if (k == ValueKind::kDouble && v.as_double() >= -9.2e18 && v.as_double() <= 9.2e18 &&
        v.as_double() == static_cast<double>(static_cast<int64_t>(v.as_double()))) {
      *out = Value::Int(static_cast<int64_t>(v.as_double()));
      return "";
    }
    return want("an integer");
  }
  if (n == "uint") {
    if (k == ValueKind::kUint || (k == ValueKind::kInt && v.as_int() >= 0)) {
      *out = k == ValueKind::kUint ? v : Value::Uint(static_cast<uint64_t>(v.as_int()));
      return "";
    }
    return want("a non-negative integer");
  }
  if (n == "double") {
    if (k == ValueKind::kDouble) {
      *out = v;
      return "";
    }
    if (k == ValueKind::kInt) {
      *out = Value::Double(static_cast<double>(v.as_int()));
      return "";
    }
    if (k == ValueKind::kUint) {
      *out = Value::Double(static_cast<double>(v.as_uint()));
      return "";
    }
    return want("a number");
  }
  if (n == "bool") {
    if (k != ValueKind::kBool) return want("true or false");
    *out = v;
    return "";
  }
  if (n == "time" || n == "timestamp") {
    if (k == ValueKind::kTimestamp) {
      *out = v;
      return "";
    }
    if (k == ValueKind::kString) {
      if (auto ts = ParseTimestampText(v.as_string())) {
        *out = Value::Time(*ts);
        return "";
      }
    }
    return want("an RFC 3339 time");
  }
  if (n == "duration") {
    if (k == ValueKind::kDuration) {
      *out = v;
      return "";
    }
    if (k == ValueKind::kString) {
      if (auto d = ParseDurationText(v.as_string())) {
        *out = Value::Dur(*d);
        return "";
      }
    }
    return want("a duration such as \"30s\"");
  }
  if (n == "bytes") {
    if (k == ValueKind::kBytes) {
      *out = v;
      return "";
    }
    if (k != ValueKind::kString) return want("a string");
    *out = Value::BytesOf(v.as_string());
    return "";
  }
  if (n == "money") {
    if (k == ValueKind::kMoney) {
      *out = v;
      return "";
    }
    if (k == ValueKind::kString) {
      if (auto m = ParseMoneyText(v.as_string())) {
        *out = Value::MoneyOf(*m);
        return "";
      }
    }
    // {"amount": "2.50" or 2.5, "currency": "usd"}
    const Value* amount = k == ValueKind::kMap ? v.Find("amount") : nullptr;
    const Value* currency = k == ValueKind::kMap ? v.Find("currency") : nullptr;
    double units = 0;
    bool ok = amount && currency && currency->kind() == ValueKind::kString && currency->as_string().size() == 3;
    if (ok && amount->kind() == ValueKind::kString) {
      char* end = nullptr;
      units = std::strtod(amount->as_string().c_str(), &end);
      ok = end && *end == '\0' && !amount->as_string().empty();
    } else if (ok && (amount->kind() == ValueKind::kDouble || amount->kind() == ValueKind::kInt)) {
      units = amount->kind() == ValueKind::kDouble ? amount->as_double() : static_cast<double>(amount->as_int());
    } else {
      ok = false;
    }
    if (!ok || !(units > -9e9 && units < 9e9)) return want("money as {\"amount\": \"2.50\", \"currency\": \"usd\"}");
    std::string cur = currency->as_string();
    for (auto& ch : cur) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    *out = Value::MoneyOf(Money{static_cast<int64_t>(std::llround(units * 1e9)), cur});
    return "";
  }
  if (n == "list") {
    if (k != ValueKind::kList) return want("an array");
    ValueList items;
    const TypeRef* et = t->params.empty() ? nullptr : t->params[0].get();
    for (size_t i = 0; i < v.as_list().size(); ++i) {
      Value e;
      std::string err = Check(p, et, v.as_list()[i], path + "[" + std::to_string(i) + "]", depth + 1, &e, strict);
      if (!err.empty()) return err;
      items.push_back(std::move(e));
    }
    *out = Value::List(std::move(items));
    return "";
  }
  if (n == "map") {
    if (k != ValueKind::kMap) return want("an object");
    ValueMap entries;
    const TypeRef* vt = t->params.size() > 1 ? t->params[1].get() : nullptr;
    for (const auto& [key, e] : v.as_map()) {
      Value x;
      std::string err = Check(p, vt, e, path + "." + key.ToDisplayString(), depth + 1, &x, strict);
      if (!err.empty()) return err;
      entries.emplace_back(key, std::move(x));
    }
    *out = Value::MapOfUnique(std::move(entries));
    return "";
  }
  if (const TypeDecl* d = Declared(p, n)) {
    if (k != ValueKind::kMap) return want("an object");
    ValueMap fields;
    for (const auto& f : d->fields) {
      const std::string fp = path.empty() ? f.name : path + "." + f.name;
      const Value* fv = v.Find(f.name);
      if (!fv || fv->is_null()) {
        if (f.default_value) {
          MapEnv none;
          EvalResult r = Evaluate(*f.default_value, none);
          fields.emplace_back(S(f.name), r.ok() ? r.value() : Value());
          continue;
        }
        if (f.type && f.type->optional) {
          fields.emplace_back(S(f.name), Value());
          continue;
        }
        return fp + ": missing";
      }
      Value x;
      std::string err = Check(p, f.type.get(), *fv, fp, depth + 1, &x, strict);
      if (!err.empty()) return err;
      fields.emplace_back(S(f.name), std::move(x));
    }
    // Fields the type does not declare are dropped, not refused: models add
    // them, and a retry for that would cost more than it is worth. Inputs
    // (strict) refuse them: there an unknown field is a typo.
    if (strict) {
      for (const auto& [key, x] : v.as_map()) {
        bool declared = false;
        for (const auto& f : d->fields) declared = declared || (key.kind() == ValueKind::kString && key.as_string() == f.name);
        if (!declared) {
          const std::string name = key.ToDisplayString();
          return (path.empty() ? name : path + "." + name) + ": " + d->name + " has no field '" + name + "'";
        }
      }
    }
    *out = Value::MapOfUnique(std::move(fields));
    return "";
  }
  *out = v;  // a type this check does not know: accepted as it is
  return "";
}

}  // namespace

Value JsonSchemaOf(const Program& program, const TypeRef* type) { return Schema(program, type, 0); }

std::string CheckValue(const Program& program, const TypeRef* type, const Value& v, Value* out, bool strict,
                       const std::string& root) {
  return Check(program, type, v, root, 0, out, strict);
}

}  // namespace aos
