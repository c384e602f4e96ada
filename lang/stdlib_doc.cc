#include "lang/stdlib_doc.h"

#include "lang/builtins.h"
#include "lang/eval_functions.h"

namespace aos {
namespace {

Value M(ValueMap m) { return Value::MapOfUnique(std::move(m)); }

std::string Escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string StdlibMarkdown() {
  std::string out = "### Calls\n\n"
                    "C is a declared connector, A an agent, E an entity. Arguments after the\n"
                    "positional ones are named (`name: value`); those marked required must be given.\n\n"
                    "| Call | Named arguments | Returns | Changes state | What it does |\n"
                    "|---|---|---|---|---|\n";
  for (const auto& m : CallTable()) {
    std::string named;
    for (size_t i = 0; i < m.named.size(); ++i) {
      const ArgSpec& a = m.named[i];
      named += (i ? ", " : "") + std::string("`") + std::string(a.name) + ":` " + std::string(ArgTypeName(a.type)) +
               (a.required ? " (required)" : "");
    }
    out += "| `" + CallText(m) + "` | " + (named.empty() ? "none" : Escape(named)) + " | `" +
           Escape(ReturnsText(m.returns)) + "` | " + (m.writes ? "yes" : "no") + " | " + Escape(m.doc) + " |\n";
  }
  out += "\n### Expression functions\n\n"
         "A method's receiver is its first argument: `s.contains(t)` is `contains(s, t)`.\n\n"
         "| Function | What it gives |\n"
         "|---|---|\n";
  for (const auto& f : FunctionTable()) {
    out += "| `" + Escape(f.usage) + "` | " + Escape(f.doc) + " |\n";
  }
  return out;
}

Value StdlibJson() {
  ValueList calls;
  for (const auto& m : CallTable()) {
    ValueList positional, named;
    for (const auto& a : m.positional) positional.push_back(S(std::string(a.name)));
    for (const auto& a : m.named) {
      named.push_back(M({{S("name"), S(std::string(a.name))},
                         {S("type"), S(std::string(ArgTypeName(a.type)))},
                         {S("required"), Value::Bool(a.required)}}));
    }
    const std::string_view request = RequestKindName(RequestOf(m.op));
    const std::string text = CallText(m);
    calls.push_back(M({{S("call"), S(text.substr(0, text.find('(')))},
                       {S("positional"), Value::List(std::move(positional))},
                       {S("named"), Value::List(std::move(named))},
                       {S("returns"), S(std::string(ReturnsText(m.returns)))},
                       {S("writes"), Value::Bool(m.writes)},
                       {S("request"), S(request.empty() ? "inline" : std::string(request))},
                       {S("doc"), S(std::string(m.doc))}}));
  }
  ValueList functions;
  for (const auto& f : FunctionTable()) {
    functions.push_back(M({{S("name"), S(std::string(f.name))},
                           {S("usage"), S(std::string(f.usage))},
                           {S("min_args"), Value::Int(static_cast<int64_t>(f.min))},
                           {S("max_args"), f.max == SIZE_MAX ? Value() : Value::Int(static_cast<int64_t>(f.max))},
                           {S("doc"), S(std::string(f.doc))}}));
  }
  return M({{S("calls"), Value::List(std::move(calls))}, {S("functions"), Value::List(std::move(functions))}});
}

}  // namespace aos
