// Static types for the checker: what aoscheck knows about an expression's
// value before running. `any` means "not known here" and switches checks off,
// so the checker never reports an error it cannot prove (CEL's dyn).
#ifndef AOS_LANG_TYPES_H_
#define AOS_LANG_TYPES_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lang/ast.h"

namespace aos {

struct Type;
using TypePtr = std::shared_ptr<const Type>;

struct Type {
  enum class Kind {
    kAny,
    kNull,
    kBool,
    kInt,
    kUint,
    kDouble,
    kString,
    kBytes,
    kTime,
    kDuration,
    kMoney,
    kList,
    kMap,
    kRecord,  // a declared type or entity, or a built-in result shape
    kType,    // the value of a type name such as `int`
  };
  Kind kind = Kind::kAny;
  TypePtr elem;  // kList: element; kMap: value
  TypePtr key;   // kMap: key
  std::string name;  // kRecord: "Outline", "http response"
  std::vector<std::pair<std::string, TypePtr>> fields;  // kRecord
  bool optional = false;  // T?: may be null
};

TypePtr AnyType();
TypePtr ScalarType(Type::Kind k);
TypePtr ListOf(TypePtr elem);
TypePtr MapOf(TypePtr key, TypePtr value);
TypePtr OptionalOf(TypePtr t);
TypePtr RecordType(std::string name, std::vector<std::pair<std::string, TypePtr>> fields);

// "int", "list<string>", "map<string, any>", "Outline", "Campaign?".
std::string TypeToString(const Type& t);

inline bool IsAny(const TypePtr& t) { return !t || t->kind == Type::Kind::kAny; }
inline bool IsNumeric(const Type& t) {
  return t.kind == Type::Kind::kInt || t.kind == Type::Kind::kUint ||
         t.kind == Type::Kind::kDouble;
}
// The field's type, or null if a record has no such field.
TypePtr FieldOf(const Type& record, std::string_view field);
// Whether a value of type `from` may be used where `to` is expected
// (any on either side, null into an optional, numeric kinds are distinct).
bool Assignable(const Type& from, const Type& to);

}  // namespace aos

#endif  // AOS_LANG_TYPES_H_
