// HttpEngine tests against a real HTTP server on loopback: many transfers run
// at once on the engine's one thread (the server sees them overlap), results
// and errors reach each callback once, and a request that cannot be made is
// answered at once.
#include "stdlib/http_engine.h"

#include <catch2/catch.hpp>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace {

class SlowServer {
 public:
  SlowServer() {
    server_.new_task_queue = [] { return new httplib::ThreadPool(64); };
    server_.Get("/slow", [this](const httplib::Request& req, httplib::Response& res) {
      const int now = ++in_flight_;
      int seen = max_in_flight_.load();
      while (now > seen && !max_in_flight_.compare_exchange_weak(seen, now)) {
      }
      {
        // Held until kBarrier requests are open at once (or 20 s pass): a
        // client that sends one request at a time never gets there.
        std::unique_lock<std::mutex> lock(mu_);
        cv_.notify_all();
        cv_.wait_for(lock, std::chrono::seconds(20), [this] { return max_in_flight_.load() >= kBarrier; });
      }
      --in_flight_;
      res.set_content("n=" + req.get_param_value("n"), "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~SlowServer() {
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int max_in_flight() const { return max_in_flight_.load(); }
  static constexpr int kBarrier = 10;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
};

struct Collector {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  std::vector<std::string> bodies;
  std::vector<std::string> errors;
  void Add(bool ok, const aos::HttpResponse& r, const aos::HttpError& e) {
    std::lock_guard<std::mutex> lock(mu);
    ++done;
    if (ok) bodies.push_back(r.body);
    else errors.push_back(e.kind + ": " + e.message);
    cv.notify_all();
  }
  // Bounded: a hung transfer fails the test instead of hanging the suite.
  void Wait(int n) {
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return done >= n; }));
  }
};

TEST_CASE("HttpEngine runs many transfers at once on one thread", "[http_engine]") {
  SlowServer server;
  aos::HttpEngine engine;
  Collector got;
  constexpr int kN = 40;
  for (int i = 0; i < kN; ++i) {
    aos::HttpRequest req;
    req.method = "GET";
    req.url = server.Url("/slow");
    req.query = {{"n", std::to_string(i)}};
    engine.Submit(req, [&](bool ok, aos::HttpResponse r, aos::HttpError e) { got.Add(ok, r, e); });
  }
  got.Wait(kN);
  CHECK(got.errors.empty());
  CHECK(got.bodies.size() == kN);
  // Requests were open at the same time: the server holds each one until
  // kBarrier are open, which a client running them one after another never
  // reaches. No timing is asserted.
  INFO("most requests open at once at the server: " << server.max_in_flight());
  CHECK(server.max_in_flight() >= SlowServer::kBarrier);
}

TEST_CASE("HttpEngine reports transport errors and refused requests", "[http_engine]") {
  aos::HttpEngine engine;
  Collector got;
  aos::HttpRequest refused;
  refused.method = "GET";
  refused.url = "http://127.0.0.1:1/nothing";  // nothing listens on port 1
  engine.Submit(refused, [&](bool ok, aos::HttpResponse r, aos::HttpError e) { got.Add(ok, r, e); });
  aos::HttpRequest bad;
  bad.method = "get me";  // not a method: refused before any transfer
  bad.url = "http://127.0.0.1:1/";
  engine.Submit(bad, [&](bool ok, aos::HttpResponse r, aos::HttpError e) { got.Add(ok, r, e); });
  got.Wait(2);
  REQUIRE(got.errors.size() == 2);
  CHECK(got.bodies.empty());
  bool net = false, invalid = false;
  for (const auto& e : got.errors) {
    net = net || e.rfind("net:", 0) == 0;
    invalid = invalid || e.find("invalid HTTP method") != std::string::npos;
  }
  CHECK(net);
  CHECK(invalid);
}

}  // namespace
