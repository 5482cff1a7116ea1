#pragma once
// Progress of a populator as Forklift's controller reads it: a counter holding the percentage done
// (0–100) with label `ownerUID` (`openstack_populator_progress`, `ovirt_progress`), which only goes
// up. hoist measures it against the image size (Forklift used the PVC size, which includes overhead,
// so it sat below 100 until the end), holds it at 99 until the data is verified and synced, and logs
// a line with the rate every `log_every`.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace hoist::prom {
class Counter;
class Gauge;
}  // namespace hoist::prom

namespace hoist::populators {

class ProgressReporter {
 public:
  // `done_bytes` is polled every `period`; `bytes_gauge` (optional) gets the bytes done; `on_tick`
  // (optional) runs on the same schedule.
  ProgressReporter(prom::Counter& percent, prom::Gauge* bytes_gauge, std::function<uint64_t()> done_bytes,
                   uint64_t total_bytes, std::string what,
                   std::chrono::milliseconds period = std::chrono::seconds(1),
                   std::chrono::milliseconds log_every = std::chrono::seconds(15),
                   std::function<void()> on_tick = nullptr);
  ~ProgressReporter();  // stops the thread
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  void Update();    // polls now
  void Complete();  // 100: the data is on the volume, verified and synced

 private:
  void Loop();

  prom::Counter& percent_;
  prom::Gauge* bytes_gauge_;
  std::function<uint64_t()> done_bytes_;
  uint64_t total_;
  std::string what_;
  std::chrono::milliseconds period_;
  std::chrono::milliseconds log_every_;
  std::function<void()> on_tick_;  // called every period (the sink's timed checkpoint)
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_log_;
  std::mutex update_mu_;  // Update() runs on the thread and from callers
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hoist::populators
