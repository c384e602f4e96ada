#include "lang/types.h"

namespace aos {

TypePtr AnyType() {
  static const TypePtr any = std::make_shared<Type>();
  return any;
}

TypePtr ScalarType(Type::Kind k) {
  static const auto make = [](Type::Kind kind) {
    auto t = std::make_shared<Type>();
    t->kind = kind;
    return TypePtr(t);
  };
  static const TypePtr table[] = {
      make(Type::Kind::kAny),    make(Type::Kind::kNull),   make(Type::Kind::kBool),
      make(Type::Kind::kInt),    make(Type::Kind::kUint),   make(Type::Kind::kDouble),
      make(Type::Kind::kString), make(Type::Kind::kBytes),  make(Type::Kind::kTime),
      make(Type::Kind::kDuration), make(Type::Kind::kMoney), make(Type::Kind::kList),
      make(Type::Kind::kMap),    make(Type::Kind::kRecord), make(Type::Kind::kType),
  };
  return table[static_cast<int>(k)];
}

TypePtr ListOf(TypePtr elem) {
  auto t = std::make_shared<Type>();
  t->kind = Type::Kind::kList;
  t->elem = elem ? std::move(elem) : AnyType();
  return t;
}

TypePtr MapOf(TypePtr key, TypePtr value) {
  auto t = std::make_shared<Type>();
  t->kind = Type::Kind::kMap;
  t->key = key ? std::move(key) : AnyType();
  t->elem = value ? std::move(value) : AnyType();
  return t;
}

TypePtr OptionalOf(TypePtr t) {
  if (IsAny(t) || t->optional) return t;
  auto o = std::make_shared<Type>(*t);
  o->optional = true;
  return o;
}

TypePtr RecordType(std::string name, std::vector<std::pair<std::string, TypePtr>> fields) {
  auto t = std::make_shared<Type>();
  t->kind = Type::Kind::kRecord;
  t->name = std::move(name);
  t->fields = std::move(fields);
  return t;
}

std::string TypeToString(const Type& t) {
  std::string s;
  switch (t.kind) {
    case Type::Kind::kAny: s = "any"; break;
    case Type::Kind::kNull: s = "null"; break;
    case Type::Kind::kBool: s = "bool"; break;
    case Type::Kind::kInt: s = "int"; break;
    case Type::Kind::kUint: s = "uint"; break;
    case Type::Kind::kDouble: s = "double"; break;
    case Type::Kind::kString: s = "string"; break;
    case Type::Kind::kBytes: s = "bytes"; break;
    case Type::Kind::kTime: s = "time"; break;
    case Type::Kind::kDuration: s = "duration"; break;
    case Type::Kind::kMoney: s = "money"; break;
    case Type::Kind::kList:
      s = "list<" + (t.elem ? TypeToString(*t.elem) : "any") + ">";
      break;
    case Type::Kind::kMap:
      s = "map<" + (t.key ? TypeToString(*t.key) : "any") + ", " +
          (t.elem ? TypeToString(*t.elem) : "any") + ">";
      break;
    case Type::Kind::kRecord: s = t.name; break;
    case Type::Kind::kType: s = "type"; break;
  }
  return t.optional ? s + "?" : s;
}

TypePtr FieldOf(const Type& record, std::string_view field) {
  for (const auto& [name, type] : record.fields) {
    if (name == field) return type;
  }
  return nullptr;
}

bool Assignable(const Type& from, const Type& to) {
  if (from.kind == Type::Kind::kAny || to.kind == Type::Kind::kAny) return true;
  if (from.kind == Type::Kind::kNull) return to.optional || to.kind == Type::Kind::kNull;
  if (from.kind != to.kind) {
    // A map literal may stand for a record.
    return from.kind == Type::Kind::kMap && to.kind == Type::Kind::kRecord;
  }
  switch (from.kind) {
    case Type::Kind::kList:
      return Assignable(*from.elem, *to.elem);
    case Type::Kind::kMap:
      return Assignable(*from.key, *to.key) && Assignable(*from.elem, *to.elem);
    case Type::Kind::kRecord:
      return from.name == to.name;
    default:
      return true;
  }
}

}  // namespace aos
