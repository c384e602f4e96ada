// The expression evaluator: a deterministic, side-effect-free interpreter of
// the CEL profile (language.md §2) over the AST of ast.h. `aoscheck plan` and
// `aoscheck eval` use it for constant folding and trying expressions; the
// runtime uses it for every statement's arguments.
//
// No I/O and no hidden state: names, env() values and the non-deterministic
// now()/uuid() all come from the Env, which the runtime backs with recorded
// values. Evaluation cost (nodes visited plus elements built) and depth are
// bounded; past the bound the result is an error, never a hang or a crash.
// Errors are values (EvalError, kind "expr.error"): CEL's && and || absorb an
// error when the other side decides the result.
#ifndef AOS_LANG_EVAL_H_
#define AOS_LANG_EVAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "lang/ast.h"
#include "lang/value.h"

namespace aos {

struct EvalError {
  // "expr.error" for ordinary failures; "expr.skipped" when the expression
  // refers to a skipped statement (default() and coalesce() absorb it);
  // "expr.unknown" when a name has no value yet (plan's symbolic keys).
  std::string kind = "expr.error";
  std::string message;
  Span span;  // the sub-expression that failed
};

class EvalResult {
 public:
  EvalResult(Value v) : r_(std::move(v)) {}       // NOLINT: implicit by design
  EvalResult(EvalError e) : r_(std::move(e)) {}   // NOLINT
  bool ok() const { return r_.index() == 0; }
  const Value& value() const { return std::get<0>(r_); }
  Value& value() { return std::get<0>(r_); }
  const EvalError& error() const { return std::get<1>(r_); }

 private:
  std::variant<Value, EvalError> r_;
};

// What names mean during one evaluation.
class Env {
 public:
  enum class Lookup { kFound, kUnbound, kSkipped, kUnknown };
  virtual ~Env() = default;
  // Binds *out for kFound. kSkipped: the name is a skipped statement.
  // kUnknown: the name is real but has no value yet (a dry run).
  virtual Lookup Find(std::string_view name, Value* out) const = 0;
  // now(), uuid(): the recorded value for this call site; nullopt when the
  // environment offers none (then the call is an error).
  virtual std::optional<Value> Nondeterministic(std::string_view fn, Span site) {
    (void)fn;
    (void)site;
    return std::nullopt;
  }
  // env("NAME") as recorded at run start; nullopt: unknown here.
  virtual std::optional<Value> EnvVar(std::string_view name) {
    (void)name;
    return std::nullopt;
  }
  // secret("NAME"); nullopt: not available (a dry run, or not set).
  virtual std::optional<Value> Secret(std::string_view name) {
    (void)name;
    return std::nullopt;
  }
  // NAME(args) of a function the program declares (a transform); nullopt
  // when NAME is not one here.
  virtual std::optional<EvalResult> Declared(std::string_view name, const std::vector<Value>& args) {
    (void)name;
    (void)args;
    return std::nullopt;
  }
};

// An Env with a flat table of bindings; handy for tests and `aoscheck eval`.
class MapEnv : public Env {
 public:
  void Set(std::string name, Value v);
  void SetSkipped(std::string name);
  void SetUnknown(std::string name);
  Lookup Find(std::string_view name, Value* out) const override;

 private:
  struct Entry {
    std::string name;
    Lookup how;
    Value value;
  };
  std::vector<Entry> entries_;
};

struct EvalLimits {
  uint64_t max_cost = 1'000'000;  // nodes visited + elements and bytes built / 64
  uint32_t max_depth = 256;       // recursion depth, macros included
};

EvalResult Evaluate(const Expr& expr, Env& env, const EvalLimits& limits = {});

// The names of functions and macros the evaluator knows, for the checker's
// "unknown function" diagnostics and spelling hints.
bool IsBuiltinFunction(std::string_view name);
const std::vector<std::string_view>& BuiltinFunctionNames();

}  // namespace aos

#endif  // AOS_LANG_EVAL_H_
