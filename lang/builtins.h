// The calls a statement can make — http.*, a connector's methods, llm.*, an
// agent's ask, email.send, kv.*, kb.*, an entity's methods — as one table:
// per method its arguments (names, types, which are required), what it
// returns, whether it changes anything, and the operation the runtime
// carries out. The checker types calls by it, `aoscheck plan` counts by it,
// the runner switches on a call's CallOp instead of its "ns.method" text,
// and docs/stdlib.md is checked against it (lang/builtins_test.cc).
//
// A program's calls are resolved once, by the checker, into the CallTarget
// each Call node carries (lang/ast.h; Program::Target).
#ifndef AOS_LANG_BUILTINS_H_
#define AOS_LANG_BUILTINS_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lang/ast.h"

namespace aos {

// What the runtime does for a call.
enum class CallOp : uint8_t {
  kHttp,   // http.* and connectors: one HTTP request, the method upper-cased
  kChat,   // llm.chat and an agent's ask: one model call
  kEmbed,  // llm.embed
  kEmail,  // email.send over SMTP
  kKvPut, kKvGet,
  kKbAdd, kKbSearch,  // embed the text, then store it or search by it
  kKbDelete,          // in the run's store
  kEntityUpsert, kEntityGet, kEntityDelete, kEntityList,
  kEntityPatch,  // its changes are evaluated with `it`, the stored record, when the step runs
  kEntityFind,   // by an indexed field
  kEntityResolve,  // the key that identity values lead to
  kEntityNote,     // a note in the record's history
  kSummarize,      // llm.summarize: a model call over texts (and a previous summary)
  kEntitySummary,  // E.summary: a model call over what is new in a record's history, or the stored summary
};

// How a call is carried out: in the run's own store, or as a request to the
// world (runtime/calls.h CallRequest::kind).
enum class RequestKind : uint8_t { kInline, kHttp, kLlm, kEmbed, kEmail };
RequestKind RequestOf(CallOp op);
// "http", "llm", "embed", "email"; "" for kInline.
std::string_view RequestKindName(RequestKind k);

// What an argument must be. kAddresses: a string or a list of strings.
enum class ArgType : uint8_t { kAny, kString, kAddresses, kInt, kNumber, kDuration, kMap, kBool };
std::string_view ArgTypeName(ArgType t);  // "string", "an address or a list", ...

struct ArgSpec {
  std::string_view name;
  ArgType type = ArgType::kAny;
  bool required = false;  // named arguments only: positional ones always are
  // Evaluated with `it` bound to the entity's stored record, when the step
  // runs (a patch's changes), not with the other arguments.
  bool sees_it = false;
};

// What a call returns (the checker's types, docs/stdlib.md's words).
enum class Returns : uint8_t {
  kHttpResponse,  // {status, headers, body, json}
  kModelReply,    // {text, data, model, tokens_in, tokens_out, cost}
  kVector,        // list<double>
  kEmailReceipt,  // {message_id}
  kAny,           // kv.put/get: the value
  kKbAdded,       // {id, collection}
  kKbHits,        // list of {id, text, meta, score}
  kRecord,        // the entity's record
  kRecordOrNull,
  kRecords,
  kKeyOrNull,  // the entity's key type, or null
  kBool,
};
std::string_view ReturnsText(Returns r);

struct MethodSpec {
  CallNs ns;
  std::string_view method;
  CallOp op;
  std::vector<ArgSpec> positional;
  std::vector<ArgSpec> named;
  Returns returns;
  bool writes;  // changes the world or the stored state (not a read)
  std::string_view doc;
  // Instead of `named`: one named argument, an indexed field of the entity
  // (E.find(F: value)).
  bool named_is_index = false;
};

// Whether argument `i` (in the order written) of `call`, which goes to `k`,
// sees `it` (ArgSpec::sees_it).
bool ArgSeesIt(const CallTarget& k, const Call& call, size_t i);

// Every method, in the order docs/stdlib.md lists them.
const std::vector<MethodSpec>& CallTable();
// The methods of a namespace, in table order.
std::vector<std::string_view> MethodsOf(CallNs ns);
const MethodSpec* FindMethod(CallNs ns, std::string_view method);
// "http", "llm", "email", "kv", "kb" for the built-in namespaces; "connector",
// "agent", "entity" for the declared ones.
std::string_view NsName(CallNs ns);
// How the reference writes a method: "http.get(url)", "C.post(path)" (C a
// connector, A an agent, E an entity).
std::string CallText(const MethodSpec& m);

// The declarations a call can go through.
struct CallScope {
  const std::map<std::string, const TypeDecl*>& types;
  const std::map<std::string, const ConnectorDecl*>& connectors;
  const std::map<std::string, const AgentDecl*>& agents;
};

// Resolves `callee` ("http.get", "cms.post", "writer.ask", "Lead.list") into
// a CallTarget (lang/ast.h). The namespace is found (ns != kUnknown) even
// when the method is not.
CallTarget ResolveCall(const CallScope& scope, const std::string& callee);

}  // namespace aos

#endif  // AOS_LANG_BUILTINS_H_
