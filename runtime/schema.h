// Schema: what a typed model answer must look like. An agent with
// `output: T` asks its model for one JSON object matching T: JsonSchemaOf
// writes T as JSON Schema (the subset models are trained on: type,
// properties, required, items, additionalProperties, enum-free), and
// CheckValue validates the parsed answer against T, naming the first
// mismatch by its path ("sections[2]: expected a string, got 3") so that the
// retry can tell the model what to fix.
#ifndef AOS_RUNTIME_SCHEMA_H_
#define AOS_RUNTIME_SCHEMA_H_

#include <string>

#include "lang/ast.h"
#include "lang/checker.h"
#include "lang/value.h"

namespace aos {

Value JsonSchemaOf(const Program& program, const TypeRef* type);

// "" when `v` fits `type`, else the first mismatch. On success *out is `v`
// with JSON's numbers made what the type says (an int where a double is
// declared becomes a double), declared defaults filled in, and fields the
// type does not declare dropped (refused when `strict`, as for inputs).
// Mismatches are named from `root` ("ev.email: expected a string").
std::string CheckValue(const Program& program, const TypeRef* type, const Value& v, Value* out,
                       bool strict = false, const std::string& root = "");

}  // namespace aos

#endif  // AOS_RUNTIME_SCHEMA_H_
