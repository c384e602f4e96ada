// CallHandler: the interface between the runtime and the outside world. The
// runtime resolves a statement's call (connector base URL and headers, the
// agent's model and instructions, evaluated arguments) into a CallRequest and
// hands it to the handler; stdlib/ implements it with libcurl (HTTP, models,
// SMTP), and tests may put a fake behind it. Entities and kv are not calls:
// the runtime writes them itself, atomically with the step's completion.
//
// Handlers are called from several threads at once: Invoke from the
// runner's workers, Start from the run's thread.
#ifndef AOS_RUNTIME_CALLS_H_
#define AOS_RUNTIME_CALLS_H_

#include <cstdint>
#include <functional>
#include <string>

#include "lang/builtins.h"
#include "lang/value.h"

namespace aos {

struct CallRequest {
  // kHttp: method, url, query (map), headers (map), json or body.
  // kLlm:  model (config name), system, prompt, schema (JSON Schema or null),
  //        temperature, max_tokens.
  // kEmbed: model, text.   kEmail: to, subject, body (and cc, bcc...).
  // (The kind comes from the call's row in lang/builtins.h.)
  RequestKind kind = RequestKind::kHttp;
  std::string callee;       // as written: "cms.post", "writer.ask"
  std::string instance;     // the statement instance: "publish", "mail[3]"
  Value args;               // map, fields as above
  std::string idempotency_key;  // effects only
  int64_t timeout_ms = 0;       // 0: the handler's default
};

struct CallResult {
  bool ok = false;
  Value value;              // the statement's result when ok
  std::string error_kind;   // "net", "timeout", "http.5xx", "llm.schema", ...
  std::string message;      // never holds secrets
  int64_t retry_after_ms = -1;  // a server's Retry-After, when it gave one
  // What a priced call used when its result does not say (embeddings:
  // {model, tokens_in, tokens_out, cost}); null otherwise.
  Value usage;
};

class CallHandler {
 public:
  virtual ~CallHandler() = default;
  // Makes the call and waits for it (from one of the runner's workers).
  virtual CallResult Invoke(const CallRequest& req) = 0;
  // Starts the call without a thread of its own and returns true, then
  // calls `done` once, from any thread; or returns false, and the runner
  // calls Invoke on a worker thread instead.
  virtual bool Start(const CallRequest& req, std::function<void(CallResult)> done) {
    (void)req;
    (void)done;
    return false;
  }
};

}  // namespace aos

#endif  // AOS_RUNTIME_CALLS_H_
