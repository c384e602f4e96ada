#include "runtime/transforms.h"

#include "runtime/schema.h"

namespace aos {

EvalResult ApplyTransform(const Program& program, const TransformDecl& t, const std::vector<Value>& args) {
  const std::string who = "transform " + t.Tag();
  if (args.size() != 1 || t.params.size() != 1 || !t.result) {
    return EvalError{"expr.error", who + " takes one argument", Span{}};
  }
  const Field& p = t.params[0];
  Value in;
  if (std::string why = CheckValue(program, p.type.get(), args[0], &in, false, p.name); !why.empty()) {
    return EvalError{"schema.drift", who + ": the payload does not fit " + p.name + ": " +
                                         (p.type ? p.type->name : std::string("?")) + " (" + why + ")",
                     Span{}};
  }
  MapEnv env;
  env.Set(p.name, in);
  ValueMap fields;
  for (const auto& f : t.fields) {
    if (!f.value) continue;
    EvalResult r = Evaluate(*f.value, env);
    if (!r.ok()) return EvalError{"expr.error", who + ": field " + f.key + ": " + r.error().message, Span{}};
    fields.emplace_back(Value::String(f.key), std::move(r.value()));
  }
  Value out;
  if (std::string why = CheckValue(program, t.result.get(), Value::Map(std::move(fields)), &out); !why.empty()) {
    return EvalError{"expr.error", who + " made a " + t.result->name + " that does not fit it: " + why, Span{}};
  }
  return out;
}

}  // namespace aos
