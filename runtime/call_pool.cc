#include "runtime/call_pool.h"

#include <thread>

namespace aos {

CallPool& CallPool::Shared() {
  static CallPool* pool = new CallPool();  // outlives every run, never destroyed
  return *pool;
}

void CallPool::Submit(std::function<void()> job) {
  std::lock_guard<std::mutex> lock(mu_);
  jobs_.push_back(std::move(job));
  if (idle_ < jobs_.size() && threads_ < kMaxThreads) {
    ++threads_;
    std::thread([this] { Loop(); }).detach();
  }
  cv_.notify_one();
}

void CallPool::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ++idle_;
    cv_.wait(lock, [&] { return !jobs_.empty(); });
    --idle_;
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

}  // namespace aos
