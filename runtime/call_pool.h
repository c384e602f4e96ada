// CallPool: the worker threads that every run in the process shares for
// calls that block (SMTP; any CallHandler without an event loop of its own —
// HTTP calls go to the engine instead, through CallHandler::Start). Each
// run still bounds its own calls in flight (RunOptions::concurrency); the
// pool bounds the process: serve's many runs no longer start and join
// threads of their own.
#ifndef AOS_RUNTIME_CALL_POOL_H_
#define AOS_RUNTIME_CALL_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

namespace aos {

class CallPool {
 public:
  // The process's pool: threads start as jobs need them, up to `kMaxThreads`,
  // and live as long as the process (never joined: exit does not wait).
  static CallPool& Shared();

  // Runs `job` on a pool thread. A job must not throw.
  void Submit(std::function<void()> job);

  static constexpr size_t kMaxThreads = 64;

 private:
  CallPool() = default;
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  size_t threads_ = 0;
  size_t idle_ = 0;
};

}  // namespace aos

#endif  // AOS_RUNTIME_CALL_POOL_H_
