// ai8xsim: the engine's threads. A fixed set of workers that split one sample's large layers
// (created once per run and thread, not per layer), handed to the kernels as their
// kernels::ParallelFor; and the signal mask every thread the engine starts runs under.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/parallel.h"

namespace ai8xsim {

// While alive, the calling thread blocks SIGINT, SIGTERM and SIGHUP; threads it starts inherit
// that mask, so those signals always reach the thread that writes the outputs (the command
// line's handler removes its temporaries and ends the process; run on a worker, it raced with
// that thread creating the next temporary).
class WorkerSignalMask {
 public:
  WorkerSignalMask();
  ~WorkerSignalMask();
  WorkerSignalMask(const WorkerSignalMask&) = delete;
  WorkerSignalMask& operator=(const WorkerSignalMask&) = delete;

 private:
  unsigned char old_[128];  // the caller's sigset_t (at most 128 bytes on Linux)
};

// run(n, fn) calls fn(0) .. fn(n-1), spread over the workers and the calling thread, and
// returns when all are done.
class ThreadPool final : public kernels::ParallelFor {
 public:
  // threads in all, the calling thread included; std::system_error when one cannot start
  explicit ThreadPool(int threads);
  ~ThreadPool() override;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  int threads() const override { return static_cast<int>(workers_.size()) + 1; }
  void run(int n, const std::function<void(int)>& fn) override;

 private:
  void work();
  void stop();
  std::vector<std::thread> workers_;
  // A layer's hand-off: workers and the caller spin briefly on these before sleeping (a
  // condition variable wake-up alone can cost more than a small layer).
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* fn_ = nullptr;
  int n_ = 0;
  std::atomic<int> next_{0}, running_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace ai8xsim
