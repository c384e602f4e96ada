// HttpClient: one blocking HTTP(S) attempt on libcurl, for the effects and
// model calls of the standard library. It does not retry, back off or map
// statuses to failures: the runtime owns retries (it has the deadlines and the
// event log), so a call here is exactly one attempt and any HTTP status,
// 4xx and 5xx included, is a successful exchange. Safe to call from many
// threads at once: every call uses its own curl handle, and the global curl
// setup runs once.
#ifndef AOS_STDLIB_HTTP_CLIENT_H_
#define AOS_STDLIB_HTTP_CLIENT_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aos {

struct HttpRequest {
  std::string method;  // "GET", "POST", "PUT", "PATCH", "DELETE"
  // Absolute http:// or https:// URL, without the query parameters of
  // `query` (it may carry a query of its own; `query` is appended after it).
  std::string url;
  // Appended to `url` after '?' (or '&' when `url` already has a query),
  // names and values URL-encoded here: pass them raw.
  std::vector<std::pair<std::string, std::string>> query;
  // Sent as given, in order. A header here replaces curl's own header of the
  // same name (e.g. User-Agent, Accept). Values may carry secrets: they never
  // appear in an HttpError. A name or value holding CR or LF is refused.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;          // sent for POST/PUT/PATCH, and DELETE if non-empty
  std::string content_type;  // e.g. "application/json"; empty: no Content-Type
  std::string idempotency_key;  // non-empty: sent as "Idempotency-Key: <key>"
  long timeout_ms = 30000;      // deadline of the whole attempt; 0: none
  long connect_timeout_ms = 10000;
  bool follow_redirects = false;  // at most 10 hops, http and https only
  // A longer response body aborts the attempt with kind "net".
  size_t max_response_bytes = 16u << 20;
};

struct HttpResponse {
  long status = 0;
  // Names lower-cased, values trimmed, in the order received. With redirects
  // followed, only the last response's headers.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpError {
  // "net": connection refused, DNS failure, reset, TLS failure, body over
  // max_response_bytes, a malformed request. "timeout": a deadline passed.
  std::string kind;
  // Human readable; names the method and the URL without its query string or
  // user info. Never holds header values.
  std::string message;
};

// Performs one attempt. Returns true and fills *resp for any HTTP status (the
// caller maps 4xx/5xx to error kinds with HttpErrorKind); returns false and
// fills *err on a transport failure.
bool PerformHttp(const HttpRequest& req, HttpResponse* resp, HttpError* err);

// One attempt prepared for a transfer engine (http_engine.h): Prepare
// checks and sets up the request (null with *err when it cannot be made);
// the engine runs handle() and hands curl's result code to Finish, which
// then behaves as PerformHttp's return.
class HttpTransfer {
 public:
  static std::unique_ptr<HttpTransfer> Prepare(HttpRequest req, HttpError* err);
  ~HttpTransfer();
  void* handle() const;  // the CURL easy handle
  bool Finish(int curl_code, HttpResponse* resp, HttpError* err);

 private:
  HttpTransfer();
  struct State;
  std::unique_ptr<State> s_;
};

// Maps an HTTP status to the .aos error kind: 2xx/3xx -> "" (success),
// 429 -> "http.429", other 4xx -> "http.4xx", 5xx -> "http.5xx". A status
// outside 200..599 (a server speaking nonsense) maps to "http.5xx".
std::string HttpErrorKind(long status);

// The URL for messages: without its query, fragment and user info (which
// may carry secrets).
std::string RedactUrl(std::string_view url);

// Parses a Retry-After header value, delta-seconds ("120") or an HTTP-date
// (IMF-fixdate, RFC 850 or asctime form), relative to now_unix_seconds.
// Returns the delay in milliseconds (0 for a date in the past), or -1 when the
// value is empty or unparseable.
long long ParseRetryAfterMs(const std::string& value,
                            long long now_unix_seconds);

}  // namespace aos

#endif  // AOS_STDLIB_HTTP_CLIENT_H_
