// Running a transform (state.md §2): its argument checked against the
// parameter's type (a payload that does not fit fails with the error kind
// schema.drift, naming the transform, its version and the first field that
// differs), its body evaluated with only the parameter bound, and the
// result typed as its declared record (defaults filled in).
#ifndef AOS_RUNTIME_TRANSFORMS_H_
#define AOS_RUNTIME_TRANSFORMS_H_

#include "lang/checker.h"
#include "lang/eval.h"

namespace aos {

EvalResult ApplyTransform(const Program& program, const TransformDecl& t, const std::vector<Value>& args);

// A flat environment (MapEnv) in which the program's transforms can be
// called: migrations' and triggers' expressions.
class TransformEnv : public MapEnv {
 public:
  explicit TransformEnv(const Program& program) : program_(program) {}
  std::optional<EvalResult> Declared(std::string_view name, const std::vector<Value>& args) override {
    auto t = program_.transforms.find(std::string(name));
    if (t == program_.transforms.end()) return std::nullopt;
    return ApplyTransform(program_, *t->second, args);
  }

 private:
  const Program& program_;
};

}  // namespace aos

#endif  // AOS_RUNTIME_TRANSFORMS_H_
