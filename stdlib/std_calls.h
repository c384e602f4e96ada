// StdCalls: the standard CallHandler — the built-in calls that leave the
// process, over libcurl: http.* and connector calls (with Idempotency-Key on
// effects), OpenAI-compatible chat completions and embeddings for agents and
// llm.*, and email.send over SMTP with a Message-ID derived from the effect
// key. Models and the SMTP server come from the Config (aos.yaml).
#ifndef AOS_STDLIB_STD_CALLS_H_
#define AOS_STDLIB_STD_CALLS_H_

#include "runtime/calls.h"
#include "runtime/config.h"

namespace aos {

class StdCalls : public CallHandler {
 public:
  explicit StdCalls(const Config& config) : config_(config) {}
  CallResult Invoke(const CallRequest& req) override;

 private:
  CallResult Http(const CallRequest& req);
  CallResult Chat(const CallRequest& req);
  CallResult Embed(const CallRequest& req);
  CallResult Email(const CallRequest& req);
  const Config& config_;
};

// The result value of an HTTP response: {status, headers, body, json}.
Value HttpResultValue(long status, const std::vector<std::pair<std::string, std::string>>& headers,
                      const std::string& body);

}  // namespace aos

#endif  // AOS_STDLIB_STD_CALLS_H_
