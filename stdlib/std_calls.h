// StdCalls: the standard CallHandler — the built-in calls that leave the
// process, over libcurl: http.* and connector calls (with Idempotency-Key on
// effects), OpenAI-compatible chat completions and embeddings for agents and
// llm.*, and email.send over SMTP with a Message-ID derived from the effect
// key. Models and the SMTP server come from the Config (aos.yaml). HTTP-based
// calls can run on one HttpEngine thread (Start) rather than a thread each.
#ifndef AOS_STDLIB_STD_CALLS_H_
#define AOS_STDLIB_STD_CALLS_H_

#include <functional>
#include <optional>

#include "runtime/calls.h"
#include "runtime/config.h"
#include "stdlib/http_engine.h"

namespace aos {

class StdCalls : public CallHandler {
 public:
  explicit StdCalls(const Config& config) : config_(config) {}
  CallResult Invoke(const CallRequest& req) override;
  // HTTP, model and embedding calls run on the HttpEngine's one thread;
  // email.send is left to the runner's workers.
  bool Start(const CallRequest& req, std::function<void(CallResult)> done) override;

 private:
  struct HttpPlan;
  std::optional<HttpPlan> Plan(const CallRequest& req, CallResult* refused);
  std::optional<HttpPlan> PlanHttp(const CallRequest& req);
  std::optional<HttpPlan> PlanChat(const CallRequest& req, CallResult* refused);
  std::optional<HttpPlan> PlanEmbed(const CallRequest& req, CallResult* refused);
  CallResult Email(const CallRequest& req);
  const Config& config_;
  HttpEngine engine_;
};

// The result value of an HTTP response: {status, headers, body, json}.
Value HttpResultValue(long status, const std::vector<std::pair<std::string, std::string>>& headers,
                      const std::string& body);

}  // namespace aos

#endif  // AOS_STDLIB_STD_CALLS_H_
