#include "lang/builtins.h"

namespace aos {

RequestKind RequestOf(CallOp op) {
  switch (op) {
    case CallOp::kHttp: return RequestKind::kHttp;
    case CallOp::kChat:
    case CallOp::kSummarize:
    case CallOp::kEntitySummary: return RequestKind::kLlm;
    case CallOp::kEmbed:
    case CallOp::kKbAdd:
    case CallOp::kKbSearch: return RequestKind::kEmbed;
    case CallOp::kEmail: return RequestKind::kEmail;
    default: return RequestKind::kInline;
  }
}

std::string_view RequestKindName(RequestKind k) {
  switch (k) {
    case RequestKind::kHttp: return "http";
    case RequestKind::kLlm: return "llm";
    case RequestKind::kEmbed: return "embed";
    case RequestKind::kEmail: return "email";
    case RequestKind::kInline: return "";
  }
  return "";
}

std::string_view ArgTypeName(ArgType t) {
  switch (t) {
    case ArgType::kAny: return "any";
    case ArgType::kString: return "string";
    case ArgType::kAddresses: return "string or list(string)";
    case ArgType::kInt: return "int";
    case ArgType::kNumber: return "number";
    case ArgType::kDuration: return "duration";
    case ArgType::kMap: return "map";
    case ArgType::kBool: return "bool";
  }
  return "any";
}

std::string_view ReturnsText(Returns r) {
  switch (r) {
    case Returns::kHttpResponse: return "{status, headers, body, json}";
    case Returns::kModelReply: return "{text, data, model, tokens_in, tokens_out, cost}";
    case Returns::kVector: return "list(double)";
    case Returns::kEmailReceipt: return "{message_id}";
    case Returns::kAny: return "the value";
    case Returns::kKbAdded: return "{id, collection}";
    case Returns::kKbHits: return "list({id, text, meta, score})";
    case Returns::kRecord: return "E";
    case Returns::kRecordOrNull: return "E or null";
    case Returns::kRecords: return "list(E)";
    case Returns::kKeyOrNull: return "E's key or null";
    case Returns::kBool: return "bool";
  }
  return "";
}

namespace {

using A = ArgType;

std::vector<ArgSpec> HttpNamed() {
  return {{"json", A::kAny}, {"body", A::kAny}, {"headers", A::kMap}, {"query", A::kMap}, {"timeout", A::kDuration}};
}

std::vector<MethodSpec> MakeTable() {
  std::vector<MethodSpec> t;
  for (CallNs ns : {CallNs::kHttp, CallNs::kConnector}) {
    const bool conn = ns == CallNs::kConnector;
    for (std::string_view m : {"get", "post", "put", "patch", "delete"}) {
      t.push_back({ns, m, CallOp::kHttp, {{conn ? "path" : "url", A::kString}}, HttpNamed(), Returns::kHttpResponse,
                   m != "get",
                   conn ? "an HTTP request to the connector's base_url + path, with its headers and auth, "
                          "if its allow list lets it"
                        : "an HTTP request; json: sends a JSON body, body: text"});
    }
  }
  t.push_back({CallNs::kLlm, "chat", CallOp::kChat, {},
               {{"model", A::kString, true}, {"prompt", A::kString, true}, {"system", A::kString},
                {"schema", A::kAny}, {"temperature", A::kNumber}, {"max_tokens", A::kInt}},
               Returns::kModelReply, false,
               "a model call to a model of the config; with schema:, data is the parsed JSON answer"});
  t.push_back({CallNs::kLlm, "summarize", CallOp::kSummarize, {{"texts"}},
               {{"model", A::kString, true}, {"max_tokens", A::kInt}, {"previous", A::kString}},
               Returns::kModelReply, false,
               "a summary of texts (a list of strings) by a model of the config; with previous:, the model is sent "
               "that summary and the texts as what is new since, so a summary grows without resending everything"});
  t.push_back({CallNs::kLlm, "embed", CallOp::kEmbed, {}, {{"model", A::kString, true}, {"text", A::kString, true}},
               Returns::kVector, false, "the embedding of text"});
  t.push_back({CallNs::kAgent, "ask", CallOp::kChat, {{"prompt"}}, {{"context", A::kAny}}, Returns::kModelReply,
               false,
               "a model call with the agent's model and instructions; context is sent as JSON; "
               "data has the agent's output type"});
  t.push_back({CallNs::kEmail, "send", CallOp::kEmail, {},
               {{"to", A::kAddresses, true}, {"subject", A::kString, true}, {"body", A::kString, true},
                {"cc", A::kAddresses}, {"bcc", A::kAddresses}, {"reply_to", A::kAddresses}, {"html", A::kString}},
               Returns::kEmailReceipt, true, "an email over the config's SMTP server; only as an effect with a key"});
  t.push_back({CallNs::kKv, "put", CallOp::kKvPut, {{"key"}, {"value"}}, {{"ttl", A::kDuration}}, Returns::kAny, true,
               "stores value under key, for all runs of the data directory (until ttl)"});
  t.push_back({CallNs::kKv, "get", CallOp::kKvGet, {{"key"}}, {}, Returns::kAny, false,
               "the value stored under key, or null"});
  t.push_back({CallNs::kKb, "add", CallOp::kKbAdd, {{"collection"}, {"id"}, {"text"}}, {{"meta", A::kAny}},
               Returns::kKbAdded, true, "embeds text with the config's kb model and stores it with meta"});
  t.push_back({CallNs::kKb, "search", CallOp::kKbSearch, {{"collection"}, {"query"}},
               {{"k", A::kInt}, {"where", A::kBool, false, true}}, Returns::kKbHits, false,
               "the k entries (5 by default) nearest to query, best first; where: keeps only entries for which it "
               "holds (it: {id, text, meta, score})"});
  t.push_back({CallNs::kKb, "delete", CallOp::kKbDelete, {{"collection"}, {"id"}}, {}, Returns::kBool, true,
               "removes the entry; whether there was one"});
  t.push_back({CallNs::kEntity, "upsert", CallOp::kEntityUpsert, {{"record"}}, {}, Returns::kRecord, true,
               "creates or replaces the record with its key, declared defaults filled in; with identity fields, "
               "the record they lead to (merging the records that share them into the oldest); without a key, "
               "by its identities only"});
  t.push_back({CallNs::kEntity, "get", CallOp::kEntityGet, {{"key"}}, {}, Returns::kRecordOrNull, false,
               "the record with that key, or null"});
  t.push_back({CallNs::kEntity, "delete", CallOp::kEntityDelete, {{"key"}}, {}, Returns::kBool, true,
               "deletes the record; whether there was one"});
  t.push_back({CallNs::kEntity, "patch", CallOp::kEntityPatch, {{"key"}, {"changes", A::kMap, false, true}}, {},
               Returns::kRecord, true,
               "changes some fields of the record (made from the defaults if absent); the changes may use `it`, "
               "the record as stored when the step runs, and are written with the step, so parallel patches of "
               "one record all count"});
  t.push_back({CallNs::kEntity, "find", CallOp::kEntityFind, {}, {}, Returns::kRecords, false,
               "E.find(F: value): the records whose field F (declared `index F`) equals value, in key order",
               true});
  t.push_back({CallNs::kEntity, "resolve", CallOp::kEntityResolve, {{"identities", A::kMap}}, {},
               Returns::kKeyOrNull, false,
               "E.resolve({F: value, ...}) over identity fields: the key of the record they lead to (merged "
               "records lead to the survivor), or null"});
  t.push_back({CallNs::kEntity, "note", CallOp::kEntityNote, {{"key"}, {"text", A::kString}}, {}, Returns::kBool,
               true, "attaches text to the record's history (aosrun history shows it, E.summary reads it); whether "
                     "the record exists"});
  t.push_back({CallNs::kEntity, "summary", CallOp::kEntitySummary, {{"key"}},
               {{"model", A::kString, true}, {"max_tokens", A::kInt}}, Returns::kModelReply, false,
               "a plain-language summary of the record's history (changes and notes), kept in the store: the next "
               "call sends the model only the kept summary and what happened since, and with nothing new answers "
               "from the store at no cost (tokens 0)"});
  t.push_back({CallNs::kEntity, "list", CallOp::kEntityList, {},
               {{"where", A::kBool, false, true}, {"order_by", A::kString}, {"desc", A::kBool}, {"limit", A::kInt}},
               Returns::kRecords, false,
               "the records where `where` holds (it sees `it`, each record), in key order or by the field "
               "order_by (desc: largest first; nulls last), the first limit"});
  return t;
}

}  // namespace

const std::vector<MethodSpec>& CallTable() {
  static const std::vector<MethodSpec> table = MakeTable();
  return table;
}

std::vector<std::string_view> MethodsOf(CallNs ns) {
  std::vector<std::string_view> out;
  for (const auto& m : CallTable()) {
    if (m.ns == ns) out.push_back(m.method);
  }
  return out;
}

const MethodSpec* FindMethod(CallNs ns, std::string_view method) {
  for (const auto& m : CallTable()) {
    if (m.ns == ns && m.method == method) return &m;
  }
  return nullptr;
}

std::string_view NsName(CallNs ns) {
  switch (ns) {
    case CallNs::kHttp: return "http";
    case CallNs::kConnector: return "connector";
    case CallNs::kLlm: return "llm";
    case CallNs::kAgent: return "agent";
    case CallNs::kEmail: return "email";
    case CallNs::kKv: return "kv";
    case CallNs::kKb: return "kb";
    case CallNs::kEntity: return "entity";
    case CallNs::kUnknown: return "";
  }
  return "";
}

std::string CallText(const MethodSpec& m) {
  const std::string ns = m.ns == CallNs::kConnector ? "C"
                         : m.ns == CallNs::kAgent   ? "A"
                         : m.ns == CallNs::kEntity  ? "E"
                                                    : std::string(NsName(m.ns));
  std::string s = ns + "." + std::string(m.method) + "(";
  for (size_t i = 0; i < m.positional.size(); ++i) s += (i ? ", " : "") + std::string(m.positional[i].name);
  return s + ")";
}

bool ArgSeesIt(const CallTarget& k, const Call& call, size_t i) {
  if (!k.known() || i >= call.args.size()) return false;
  if (!call.arg_names[i].empty()) {
    for (const auto& a : k.spec->named) {
      if (a.name == call.arg_names[i]) return a.sees_it;
    }
    return false;
  }
  size_t p = 0;
  for (size_t j = 0; j < i; ++j) p += call.arg_names[j].empty() ? 1 : 0;
  return p < k.spec->positional.size() && k.spec->positional[p].sees_it;
}

CallTarget ResolveCall(const CallScope& scope, const std::string& callee) {
  CallTarget r;
  const size_t dot = callee.find('.');
  const std::string ns = callee.substr(0, dot);
  const std::string_view method =
      dot == std::string::npos ? std::string_view() : std::string_view(callee).substr(dot + 1);
  for (CallNs b : {CallNs::kHttp, CallNs::kLlm, CallNs::kEmail, CallNs::kKv, CallNs::kKb}) {
    if (NsName(b) == ns) r.ns = b;
  }
  if (r.ns != CallNs::kUnknown) {
    // a built-in namespace
  } else if (auto c = scope.connectors.find(ns); c != scope.connectors.end()) {
    r.ns = CallNs::kConnector;
    r.decl = c->second;
  } else if (auto a = scope.agents.find(ns); a != scope.agents.end()) {
    r.ns = CallNs::kAgent;
    r.decl = a->second;
  } else if (auto e = scope.types.find(ns); e != scope.types.end() && e->second->is_entity) {
    r.ns = CallNs::kEntity;
    r.decl = e->second;
  } else {
    return r;
  }
  r.spec = FindMethod(r.ns, method);
  return r;
}

}  // namespace aos
