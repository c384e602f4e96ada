// The built-in functions of expressions (size, the string functions,
// conversions, time and duration, json, aggregates, now/uuid/env/secret):
// the library Evaluate calls once a call's arguments are evaluated, with
// the evaluator's environment and cost budget. Their names are listed once,
// in BuiltinFunctionNames (lang/eval.h).
#ifndef AOS_LANG_EVAL_FUNCTIONS_H_
#define AOS_LANG_EVAL_FUNCTIONS_H_

#include <cstdint>
#include <functional>
#include <string>
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

// Calls built-in function `name` on evaluated `args`; an EvalError at `e`
// for no such overload or a failure.
EvalResult CallFunction(const Expr& e, const std::string& name, const std::vector<Value>& args,
                        FunctionContext& ctx);

// How many arguments (a method's receiver counted first) an expression
// function of the library takes; the checker reports a call outside the
// range (E106) instead of the evaluator at run time. Null for the names
// handled elsewhere (has, default, coalesce, the macros).
struct FunctionArity {
  std::string_view name;
  size_t min, max;  // max: SIZE_MAX for "any number"
};
const FunctionArity* ArityOf(std::string_view name);

// Numbers as CEL compares them: int, uint and double are all numbers.
bool IsNum(ValueKind k);
double AsDouble(const Value& v);
// (CompareNumbers is in lang/value.h.)

}  // namespace aos

#endif  // AOS_LANG_EVAL_FUNCTIONS_H_
