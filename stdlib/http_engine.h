// HttpEngine: many HTTP attempts at once on one thread. Transfers submitted
// from any thread join one curl multi handle, which a single background
// thread drives with curl_multi_poll; each finished transfer's callback runs
// on that thread. A run's parallel calls therefore cost one thread and a
// socket each, not a thread each, and share curl's connection cache.
//
// The engine does not bound how many transfers run: the runner's
// `concurrency` and `for ... max N` do.
#ifndef AOS_STDLIB_HTTP_ENGINE_H_
#define AOS_STDLIB_HTTP_ENGINE_H_

#include <functional>
#include <memory>

#include "stdlib/http_client.h"

namespace aos {

class HttpEngine {
 public:
  // ok: the response (any status); otherwise the transport error.
  using Done = std::function<void(bool ok, HttpResponse resp, HttpError err)>;

  HttpEngine();
  ~HttpEngine();  // fails the transfers still running (kind "net")
  HttpEngine(const HttpEngine&) = delete;
  HttpEngine& operator=(const HttpEngine&) = delete;

  // Starts the attempt; `done` runs once, on the engine's thread (or on the
  // caller's, at once, when the request cannot be made).
  void Submit(const HttpRequest& req, Done done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aos

#endif  // AOS_STDLIB_HTTP_ENGINE_H_
