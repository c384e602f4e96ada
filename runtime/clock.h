// Clock: where the runtime gets the time and how it sleeps. Everything that
// reads the time (timers, retry delays, approval timeouts, now()) goes
// through one, so tests can move time: a run waiting 48 hours for an approval
// is resumed "days later" by a clock that says so.
#ifndef AOS_RUNTIME_CLOCK_H_
#define AOS_RUNTIME_CLOCK_H_

#include <chrono>
#include <cstdint>
#include <thread>

namespace aos {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowNanos() = 0;  // unix time
  virtual void SleepUntil(int64_t nanos) = 0;
};

// Real time, shifted by a fixed offset (0 normally; tests and the
// AOS_CLOCK_OFFSET variable of aosrun set another).
class SystemClock : public Clock {
 public:
  explicit SystemClock(int64_t offset_nanos = 0) : offset_(offset_nanos) {}
  int64_t NowNanos() override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count() +
           offset_;
  }
  void SleepUntil(int64_t nanos) override {
    const int64_t d = nanos - NowNanos();
    if (d > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(d));
  }

 private:
  int64_t offset_;
};

// A clock that only moves when told to; SleepUntil jumps.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t start) : now_(start) {}
  int64_t NowNanos() override { return now_; }
  void SleepUntil(int64_t nanos) override {
    if (nanos > now_) now_ = nanos;
  }
  void Advance(int64_t nanos) { now_ += nanos; }

 private:
  int64_t now_;
};

}  // namespace aos

#endif  // AOS_RUNTIME_CLOCK_H_
