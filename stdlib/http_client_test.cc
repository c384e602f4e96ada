#include "stdlib/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <httplib.h>
#include <mutex>
#include <string>
#include <thread>

namespace {

// A real HTTP server on 127.0.0.1 and a port of the kernel's choosing,
// serving on its own thread for the life of the object.
class TestServer {
 public:
  TestServer() {
    Install();
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~TestServer() {
    // stop() is a no-op until the accept loop runs.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server_.stop();
    thread_.join();
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // The last request the /echo handlers saw.
  httplib::Request Last() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }

 private:
  void Install() {
    auto record = [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_ = req;
      }
      res.set_header("X-Custom-Header", "Value");
      res.set_content("echo:" + req.method, "text/plain");
    };
    server_.Get("/echo", record);
    server_.Post("/echo", record);
    server_.Put("/echo", record);
    server_.Delete("/echo", record);
    server_.Get("/status/404", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content("no such thing", "text/plain");
    });
    server_.Get("/status/429", [](const httplib::Request&, httplib::Response& res) {
      res.status = 429;
      res.set_header("Retry-After", "7");
      res.set_content("slow down", "text/plain");
    });
    server_.Get("/status/503", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_content("unavailable", "text/plain");
    });
    server_.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      res.set_content("late", "text/plain");
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(5000, 'x'), "text/plain");
    });
    server_.Get("/big-chunked", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain", [](size_t, httplib::DataSink& sink) {
        std::string chunk(1000, 'y');
        for (int i = 0; i < 5; ++i) sink.write(chunk.data(), chunk.size());
        sink.done();
        return true;
      });
    });
    server_.Get("/redirect", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("/echo", 302);
    });
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  httplib::Request last_;  // guarded by mu_
};

// A port on 127.0.0.1 that nothing listens on: bound, then released.
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string Header(const aos::HttpResponse& resp, const std::string& name) {
  for (const auto& [n, v] : resp.headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

aos::HttpRequest Get(const std::string& url) {
  aos::HttpRequest req;
  req.method = "GET";
  req.url = url;
  return req;
}

TEST_CASE("a GET encodes its query parameters") {
  TestServer server;
  aos::HttpRequest req = Get(server.Url("/echo"));
  req.query = {{"q", "a b&c=d"}, {"word", "caf\xC3\xA9 \xE2\x98\x95"}, {"empty", ""}};
  aos::HttpResponse resp;
  aos::HttpError err;
  REQUIRE(aos::PerformHttp(req, &resp, &err));
  CHECK(resp.status == 200);
  CHECK(resp.body == "echo:GET");
  httplib::Request seen = server.Last();
  CHECK(seen.target ==
        "/echo?q=a%20b%26c%3Dd&word=caf%C3%A9%20%E2%98%95&empty=");
  CHECK(seen.get_param_value("q") == "a b&c=d");
  CHECK(seen.get_param_value("word") == "caf\xC3\xA9 \xE2\x98\x95");
}

TEST_CASE("query parameters join a query already in the URL") {
  TestServer server;
  aos::HttpRequest req = Get(server.Url("/echo?week=3#fragment"));
  req.query = {{"limit", "10"}};
  aos::HttpResponse resp;
  aos::HttpError err;
  REQUIRE(aos::PerformHttp(req, &resp, &err));
  CHECK(server.Last().target == "/echo?week=3&limit=10");
}

TEST_CASE("a POST delivers its body, content type and idempotency key") {
  TestServer server;
  aos::HttpRequest req;
  req.method = "POST";
  req.url = server.Url("/echo");
  req.body = R"({"title":"hello"})";
  req.content_type = "application/json";
  req.idempotency_key = "run-1/publish/0";
  req.headers = {{"Authorization", "Bearer secret"}};
  aos::HttpResponse resp;
  aos::HttpError err;
  REQUIRE(aos::PerformHttp(req, &resp, &err));
  CHECK(resp.status == 200);
  CHECK(resp.body == "echo:POST");
  httplib::Request seen = server.Last();
  CHECK(seen.method == "POST");
  CHECK(seen.body == R"({"title":"hello"})");
  CHECK(seen.get_header_value("Content-Type") == "application/json");
  CHECK(seen.get_header_value("Idempotency-Key") == "run-1/publish/0");
  CHECK(seen.get_header_value("Authorization") == "Bearer secret");
  CHECK_FALSE(seen.has_header("Expect"));
}

TEST_CASE("a large PUT body is sent without a 100-continue round trip") {
  TestServer server;
  aos::HttpRequest req;
  req.method = "PUT";
  req.url = server.Url("/echo");
  req.body = std::string(100000, 'z');
  aos::HttpResponse resp;
  aos::HttpError err;
  REQUIRE(aos::PerformHttp(req, &resp, &err));
  CHECK(resp.body == "echo:PUT");
  httplib::Request seen = server.Last();
  CHECK(seen.body.size() == 100000);
  CHECK_FALSE(seen.has_header("Expect"));
  CHECK_FALSE(seen.has_header("Content-Type"));  // none asked for, none sent
}

TEST_CASE("a DELETE without a body sends none") {
  TestServer server;
  aos::HttpRequest req;
  req.method = "DELETE";
  req.url = server.Url("/echo");
  aos::HttpResponse resp;
  aos::HttpError err;
  REQUIRE(aos::PerformHttp(req, &resp, &err));
  CHECK(resp.body == "echo:DELETE");
  CHECK(server.Last().body.empty());
}

TEST_CASE("response header names are lower-cased") {
  TestServer server;
  aos::HttpResponse resp;
  aos::HttpError err;
  REQUIRE(aos::PerformHttp(Get(server.Url("/echo")), &resp, &err));
  CHECK(Header(resp, "x-custom-header") == "Value");
  CHECK(Header(resp, "content-type") == "text/plain");
  CHECK(Header(resp, "content-length") == "8");
  for (const auto& [name, value] : resp.headers) {
    CHECK(name.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos);
  }
}

TEST_CASE("error statuses are responses, mapped to kinds by the caller") {
  TestServer server;
  aos::HttpResponse resp;
  aos::HttpError err;

  REQUIRE(aos::PerformHttp(Get(server.Url("/status/404")), &resp, &err));
  CHECK(resp.status == 404);
  CHECK(resp.body == "no such thing");
  CHECK(aos::HttpErrorKind(resp.status) == "http.4xx");

  REQUIRE(aos::PerformHttp(Get(server.Url("/status/429")), &resp, &err));
  CHECK(resp.status == 429);
  CHECK(aos::HttpErrorKind(resp.status) == "http.429");
  CHECK(aos::ParseRetryAfterMs(Header(resp, "retry-after"), 0) == 7000);

  REQUIRE(aos::PerformHttp(Get(server.Url("/status/503")), &resp, &err));
  CHECK(resp.status == 503);
  CHECK(aos::HttpErrorKind(resp.status) == "http.5xx");
}

TEST_CASE("a response slower than the deadline is a timeout") {
  TestServer server;
  aos::HttpRequest req = Get(server.Url("/slow"));
  req.query = {{"token", "hush"}};
  req.timeout_ms = 100;
  aos::HttpResponse resp;
  aos::HttpError err;
  // The server answers after 500 ms: only the 100 ms deadline makes this a
  // failure, and its kind says so (no wall-clock bound: the machine may be busy).
  CHECK_FALSE(aos::PerformHttp(req, &resp, &err));
  CHECK(err.kind == "timeout");
  CHECK(err.message.find(server.Url("/slow")) != std::string::npos);
  CHECK(err.message.find("hush") == std::string::npos);
}

TEST_CASE("a refused connection is a net error naming the URL without secrets") {
  aos::HttpRequest req =
      Get("http://user:pw@127.0.0.1:" + std::to_string(ClosedPort()) + "/x?key=k1");
  req.headers = {{"Authorization", "Bearer s3cr3t"}};
  aos::HttpResponse resp;
  aos::HttpError err;
  CHECK_FALSE(aos::PerformHttp(req, &resp, &err));
  CHECK(err.kind == "net");
  CHECK(err.message.find("GET http://127.0.0.1:") == 0);
  CHECK(err.message.find("/x") != std::string::npos);
  CHECK(err.message.find("key=") == std::string::npos);
  CHECK(err.message.find("pw") == std::string::npos);
  CHECK(err.message.find("s3cr3t") == std::string::npos);
}

TEST_CASE("a body over the limit is a net error naming the limit") {
  TestServer server;
  for (const char* path : {"/big", "/big-chunked"}) {
    aos::HttpRequest req = Get(server.Url(path));
    req.max_response_bytes = 1000;
    aos::HttpResponse resp;
    aos::HttpError err;
    CHECK_FALSE(aos::PerformHttp(req, &resp, &err));
    CHECK(err.kind == "net");
    CHECK(err.message.find("1000 bytes") != std::string::npos);
    CHECK(resp.body.empty());
  }
  aos::HttpRequest req = Get(server.Url("/big"));
  req.max_response_bytes = 5000;  // exactly the size fits
  aos::HttpResponse resp;
  aos::HttpError err;
  REQUIRE(aos::PerformHttp(req, &resp, &err));
  CHECK(resp.body.size() == 5000);
}

TEST_CASE("redirects are returned, not followed, unless asked") {
  TestServer server;
  aos::HttpRequest req = Get(server.Url("/redirect"));
  aos::HttpResponse resp;
  aos::HttpError err;
  REQUIRE(aos::PerformHttp(req, &resp, &err));
  CHECK(resp.status == 302);
  CHECK(Header(resp, "location") == "/echo");
  CHECK(aos::HttpErrorKind(resp.status) == "");

  req.follow_redirects = true;
  REQUIRE(aos::PerformHttp(req, &resp, &err));
  CHECK(resp.status == 200);
  CHECK(resp.body == "echo:GET");
  CHECK(Header(resp, "location") == "<absent>");  // only the last response's headers
}

TEST_CASE("malformed requests fail before anything is sent") {
  aos::HttpResponse resp;
  aos::HttpError err;
  aos::HttpRequest req = Get("http://127.0.0.1:1/");
  req.headers = {{"X-Evil", "a\r\nInjected: yes"}};
  CHECK_FALSE(aos::PerformHttp(req, &resp, &err));
  CHECK(err.kind == "net");
  CHECK(err.message.find("Injected") == std::string::npos);

  req = Get("file:///etc/passwd");
  CHECK_FALSE(aos::PerformHttp(req, &resp, &err));
  CHECK(err.kind == "net");
}

TEST_CASE("statuses map to error kinds") {
  CHECK(aos::HttpErrorKind(200) == "");
  CHECK(aos::HttpErrorKind(201) == "");
  CHECK(aos::HttpErrorKind(304) == "");
  CHECK(aos::HttpErrorKind(400) == "http.4xx");
  CHECK(aos::HttpErrorKind(429) == "http.429");
  CHECK(aos::HttpErrorKind(499) == "http.4xx");
  CHECK(aos::HttpErrorKind(500) == "http.5xx");
  CHECK(aos::HttpErrorKind(599) == "http.5xx");
  CHECK(aos::HttpErrorKind(0) == "http.5xx");
}

TEST_CASE("Retry-After in delta-seconds") {
  CHECK(aos::ParseRetryAfterMs("0", 1000) == 0);
  CHECK(aos::ParseRetryAfterMs("1", 1000) == 1000);
  CHECK(aos::ParseRetryAfterMs(" 120 ", 1000) == 120000);
  CHECK(aos::ParseRetryAfterMs("99999999999999999999999", 0) == 10'000'000'000LL * 1000);
}

TEST_CASE("Retry-After as an HTTP-date in all three forms") {
  // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
  const long long then = 784111777;
  CHECK(aos::ParseRetryAfterMs("Sun, 06 Nov 1994 08:49:37 GMT", then - 30) == 30000);
  CHECK(aos::ParseRetryAfterMs("Sunday, 06-Nov-94 08:49:37 GMT", then - 30) == 30000);
  CHECK(aos::ParseRetryAfterMs("Sun Nov  6 08:49:37 1994", then - 30) == 30000);
  CHECK(aos::ParseRetryAfterMs("Thu, 01 Jan 1970 00:00:00 GMT", -5) == 5000);
  CHECK(aos::ParseRetryAfterMs("Wed, 29 Feb 2040 12:00:00 GMT", 2214129600 - 1) == 1000);
}

TEST_CASE("a Retry-After date in the past means no wait") {
  CHECK(aos::ParseRetryAfterMs("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 3600) == 0);
}

TEST_CASE("an absent or malformed Retry-After is -1") {
  CHECK(aos::ParseRetryAfterMs("", 0) == -1);
  CHECK(aos::ParseRetryAfterMs("   ", 0) == -1);
  CHECK(aos::ParseRetryAfterMs("-5", 0) == -1);
  CHECK(aos::ParseRetryAfterMs("1.5", 0) == -1);
  CHECK(aos::ParseRetryAfterMs("soon", 0) == -1);
  CHECK(aos::ParseRetryAfterMs("Sun, 06 Foo 1994 08:49:37 GMT", 0) == -1);
  CHECK(aos::ParseRetryAfterMs("Sun, 31 Feb 1994 08:49:37 GMT", 0) == -1);
  CHECK(aos::ParseRetryAfterMs("Sun, 06 Nov 1994 25:49:37 GMT", 0) == -1);
  CHECK(aos::ParseRetryAfterMs("Sun, 06 Nov 1994 08:49:37 PST", 0) == -1);
  CHECK(aos::ParseRetryAfterMs("Sun, 06 Nov 1994 08:49:37 GMT trailing", 0) == -1);
}

}  // namespace
