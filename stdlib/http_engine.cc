#include "stdlib/http_engine.h"

#include <curl/curl.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace aos {

struct HttpEngine::Impl {
  struct Pending {
    std::unique_ptr<HttpTransfer> transfer;
    Done done;
  };

  std::mutex mu;
  std::deque<Pending> incoming;  // submitted, not yet on the multi handle
  bool stopping = false;
  CURLM* multi = nullptr;
  std::thread thread;
  std::map<CURL*, Pending> running;  // only touched by the engine's thread

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stopping = true;
    }
    if (multi) curl_multi_wakeup(multi);
    if (thread.joinable()) thread.join();
    if (multi) curl_multi_cleanup(multi);
  }

  static void Abandon(Pending& p) {
    HttpError err{"net", "the HTTP engine stopped before the call finished"};
    p.done(false, HttpResponse(), std::move(err));
  }

  void Loop() {
    for (;;) {
      std::deque<Pending> add;
      bool stop;
      {
        std::lock_guard<std::mutex> lock(mu);
        add.swap(incoming);
        stop = stopping;
      }
      if (stop) {
        for (auto& p : add) Abandon(p);
        for (auto& [h, p] : running) {
          curl_multi_remove_handle(multi, h);
          Abandon(p);
        }
        running.clear();
        return;
      }
      for (auto& p : add) {
        CURL* h = static_cast<CURL*>(p.transfer->handle());
        if (curl_multi_add_handle(multi, h) != CURLM_OK) {
          HttpResponse resp;
          HttpError err;
          p.transfer->Finish(CURLE_FAILED_INIT, &resp, &err);
          p.done(false, std::move(resp), std::move(err));
          continue;
        }
        running.emplace(h, std::move(p));
      }
      int still = 0;
      curl_multi_perform(multi, &still);
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL* h = msg->easy_handle;
        const CURLcode code = msg->data.result;
        curl_multi_remove_handle(multi, h);
        auto it = running.find(h);
        if (it == running.end()) continue;
        Pending p = std::move(it->second);
        running.erase(it);
        HttpResponse resp;
        HttpError err;
        const bool ok = p.transfer->Finish(code, &resp, &err);
        p.transfer.reset();
        p.done(ok, std::move(resp), std::move(err));
      }
      // Sleeps until a socket is ready, a timeout is due, or Submit wakes it.
      curl_multi_poll(multi, nullptr, 0, running.empty() ? 1000 : 100, nullptr);
    }
  }
};

HttpEngine::HttpEngine() : impl_(std::make_unique<Impl>()) {}
HttpEngine::~HttpEngine() = default;

void HttpEngine::Submit(const HttpRequest& req, Done done) {
  HttpError err;
  auto t = HttpTransfer::Prepare(req, &err);
  if (!t) {
    done(false, HttpResponse(), std::move(err));
    return;
  }
  Impl& m = *impl_;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (!m.multi) {
      m.multi = curl_multi_init();
      if (!m.multi) {
        HttpError e{"net", "cannot start the HTTP engine (curl_multi_init failed)"};
        done(false, HttpResponse(), std::move(e));
        return;
      }
      m.thread = std::thread([&m] { m.Loop(); });
    }
    m.incoming.push_back(Impl::Pending{std::move(t), std::move(done)});
  }
  curl_multi_wakeup(m.multi);
}

}  // namespace aos
