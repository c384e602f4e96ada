// The built-in functions of expressions (size, the string functions,
// conversions, time and duration, json, aggregates, now/uuid/env/secret),
// as one table: each function's name, how many arguments it takes, the rule
// for its result type, its usage line and its implementation. The evaluator
// calls through the table, the checker reads its arity and result rule, and
// docs/stdlib.md is checked against it (tools/aoscheck `builtins`). The
// special forms the evaluator handles itself (has, default, coalesce, the
// macros) are rows without an implementation.
#ifndef AOS_LANG_EVAL_FUNCTIONS_H_
#define AOS_LANG_EVAL_FUNCTIONS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lang/eval.h"

namespace aos {

// What a call may use of the evaluation it is part of.
struct FunctionContext {
  Env& env;
  uint64_t& cost;  // charged for the sizes of the values it makes
  const EvalLimits& limits;
  // The evaluator's `+` (at the expression given), for sum().
  std::function<EvalResult(const Expr&, const Value&, const Value&)> add;
};

// The result type of a function, as a rule over its argument types (the
// checker turns the rule into a type).
enum class ResultRule : uint8_t {
  kBool, kInt, kUint, kDouble, kString, kBytes, kType, kTime, kDuration,
  kAny,           // json_decode, dyn
  kStringList,    // split
  kElemOfFirst,   // sum, min, max: the list's element (or the first argument)
  kFirst,         // sort
  kKeysOfFirst,   // keys: a list of the map's key type
  kValuesOfFirst, // values
  kSpecial,       // has, default, coalesce, macros: the checker's own rule
};

struct FunctionCall;  // one call being evaluated (eval_functions.cc)
using FunctionImpl = EvalResult (*)(FunctionCall&);

struct FunctionSpec {
  std::string_view name;
  size_t min, max;          // arguments, a method's receiver counted first; max SIZE_MAX: any number
  ResultRule result;
  std::string_view usage;   // "s.contains(t) -> bool": docs and hints
  std::string_view doc;     // one sentence
  FunctionImpl impl;        // null: a special form the evaluator handles itself
};

// Every function and special form, in the order docs/stdlib.md lists them.
const std::vector<FunctionSpec>& FunctionTable();
// The row for `name`, or null.
const FunctionSpec* FindFunction(std::string_view name);
// Whether `name` is a macro: a method whose first argument names a
// variable (all, exists, exists_one, map, filter).
bool IsMacro(std::string_view name);

// Calls built-in function `name` on evaluated `args`; an EvalError at `e`
// for no such overload or a failure.
EvalResult CallFunction(const Expr& e, const std::string& name, const std::vector<Value>& args,
                        FunctionContext& ctx);

// Numbers as CEL compares them: int, uint and double are all numbers.
bool IsNum(ValueKind k);
// The order sort() puts values in (numbers by value, strings bytewise,
// times, durations, money, false before true); false between kinds it does
// not order.
bool SortsBefore(const Value& a, const Value& b);
// union(a, b) of two lists: a, then the items of b that a does not have.
Value ListUnion(const Value& a, const Value& b);
double AsDouble(const Value& v);
// (CompareNumbers is in lang/value.h.)

}  // namespace aos

#endif  // AOS_LANG_EVAL_FUNCTIONS_H_
